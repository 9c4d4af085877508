// Errors that become the JSON error body of the API contract (section 2).

/// An error that knows its own HTTP answer, as Hummingbird's `HTTPResponseError`: domain
/// errors (a task store's `notFound`, say) conform instead of being translated by each route.
///
/// ``ErrorMiddleware``, and the stages that decorate error responses too, answer any
/// conforming error with ``response``; every other error becomes a `500` that reveals nothing.
public protocol HTTPResponseError: Error, Sendable {
    var status: HTTPStatus { get }
    /// Extra header fields, such as `WWW-Authenticate`.
    var headers: HTTPHeaders { get }
    /// The JSON error body, `{"error", "message", "status"}` and whatever the error adds.
    var body: JSONValue { get }
}

extension HTTPResponseError {
    /// The complete error response: the body with its status and every extra header field.
    public var response: Response {
        var response = Response.json(body, status: status)
        for field in headers { response.headers.replaceOrAdd(name: field.name, value: field.value) }
        return response
    }
}

/// An error a handler or middleware throws to answer with a given status.
///
/// ``ErrorMiddleware`` turns it into
/// `{"error": <reason phrase>, "message": <message>, "status": <code>}`, plus `errors`
/// for validation failures. Any other error thrown becomes a `500` that reveals nothing.
public struct HTTPError: HTTPResponseError {
    public var status: HTTPStatus
    public var message: String
    /// Field name to messages, for validation failures.
    public var fieldErrors: [String: [String]]?
    /// Extra header fields, such as `Allow` or `WWW-Authenticate`.
    public var headers: HTTPHeaders

    public init(
        _ status: HTTPStatus, message: String? = nil, fieldErrors: [String: [String]]? = nil,
        headers: HTTPHeaders = [:]
    ) {
        self.status = status
        self.message = message ?? HTTPError.defaultMessage(for: status)
        self.fieldErrors = fieldErrors
        self.headers = headers
    }

    /// The Werkzeug-style sentence for a status, used when no message is given.
    public static func defaultMessage(for status: HTTPStatus) -> String {
        switch status.code {
        case 400: return "The browser (or proxy) sent a request that this server could not understand."
        case 401: return "The server could not verify that you are authorized to access the URL requested."
        case 403: return "You don't have the permission to access the requested resource."
        case 404: return "The requested URL was not found on the server."
        case 405: return "The method is not allowed for the requested URL."
        case 409: return "The request conflicts with the current state of the resource."
        case 412: return "The precondition on the request for the URL failed positive evaluation."
        case 413: return "The data value transmitted exceeds the capacity limit."
        case 415: return "The server does not support the media type transmitted in the request."
        case 429: return "Too many requests."
        case 500:
            return
                "The server encountered an internal error and was unable to complete your request."
        case 503: return "The server is temporarily unable to service your request."
        default: return status.reasonPhrase
        }
    }

    public static let notFound = HTTPError(.notFound)

    public static func methodNotAllowed(allow: [HTTPMethod]) -> HTTPError {
        HTTPError(
            .methodNotAllowed, headers: ["Allow": allow.map(\.rawValue).joined(separator: ", ")])
    }

    /// `400` with per-field messages (marshmallow's shape).
    public static func validation(_ fieldErrors: [String: [String]]) -> HTTPError {
        HTTPError(.badRequest, message: "Validation failed.", fieldErrors: fieldErrors)
    }

    /// The JSON error body of this error.
    public var body: JSONValue {
        var object = JSONObject([
            ("error", .string(status.reasonPhrase)),
            ("message", .string(message)),
            ("status", .integer(Int64(status.code))),
        ])
        if let fieldErrors {
            let sorted = fieldErrors.keys.sorted().map { key in
                (key, JSONValue.array(fieldErrors[key, default: []].map { .string($0) }))
            }
            object["errors"] = .object(JSONObject(sorted))
        }
        return .object(object)
    }
}
