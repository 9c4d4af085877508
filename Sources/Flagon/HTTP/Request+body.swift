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
        // ASCII, what clients send, is checked over its bytes; other text by Character.
        if let ascii = contentType.utf8.withContiguousStorageIfAvailable(isJSON(asciiContentType:)), let ascii {
            return ascii
        }
        let mediaType = contentType.prefix { $0 != ";" }
            .drop { $0 == " " || $0 == "\t" }
            .reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        return String(mediaType).lowercased() == "application/json"
    }

    /// ``isJSON(contentType:)`` of ASCII bytes; nil when they are not all ASCII.
    static func isJSON(asciiContentType bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        var end = 0
        while end < bytes.count, bytes[end] != UInt8(ascii: ";") {
            if bytes[end] >= 0x80 { return nil }
            end += 1
        }
        for byte in bytes[end...] where byte >= 0x80 { return nil }
        var start = 0
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        let expected = "application/json".utf8
        guard end - start == expected.count else { return false }
        for (byte, wanted) in zip(bytes[start..<end], expected) {
            let lower = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if lower != wanted { return false }
        }
        return true
    }
}
