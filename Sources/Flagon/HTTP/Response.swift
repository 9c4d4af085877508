// The framework's HTTP response value.

/// A complete response: status, header fields and body bytes.
public struct Response: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response from an already built JSON value.
    public static func json(
        _ value: JSONValue, status: HTTPStatus = .ok, headers: HTTPHeaders = [:]
    )
        -> Response
    {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        return Response(status: status, headers: headers, body: value.serialized())
    }

    /// An HTML response.
    public static func html(_ text: String, status: HTTPStatus = .ok) -> Response {
        Response(
            status: status, headers: ["Content-Type": "text/html; charset=utf-8"], body: Array(text.utf8))
    }

    /// An empty response, `204 No Content` by default.
    public static func empty(status: HTTPStatus = .noContent, headers: HTTPHeaders = [:]) -> Response {
        Response(status: status, headers: headers)
    }

    /// The body read as UTF-8, for tests and logs.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
