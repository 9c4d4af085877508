// The request body read as JSON, with the media type and syntax checks of the API contract.

extension Request {
    /// The body parsed as JSON, or nil if the body is empty.
    ///
    /// ```swift
    /// let value = try request.jsonBody() ?? .object(JSONObject())
    /// ```
    /// - Throws: ``HTTPError`` `415` if a body is present and `Content-Type` is not
    ///   `application/json` (any case, parameters allowed); `400` if it is not valid UTF-8 JSON.
    public func jsonBody() throws(HTTPError) -> JSONValue? {
        guard !body.isEmpty else { return nil }
        guard Self.isJSON(contentType: headers["Content-Type"]) else {
            let message = "The request body must be JSON, sent as Content-Type: application/json."
            throw HTTPError(.unsupportedMediaType, message: message)
        }
        do {
            return try JSONParser.parse(body)
        } catch {
            throw HTTPError(.badRequest, message: "The request body is not valid JSON.")
        }
    }

    /// True if the media type, parameters aside, is `application/json`, compared
    /// case-insensitively. `application/*+json` types are not accepted.
    public static func isJSON(contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.prefix { $0 != ";" }
            .drop { $0 == " " || $0 == "\t" }
            .reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        return String(mediaType).lowercased() == "application/json"
    }
}
