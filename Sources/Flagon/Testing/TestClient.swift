// An in-memory client that runs requests through an App without any transport.

/// Sends requests straight to ``App/handle(_:)``, like Flask's `app.test_client()`.
///
/// For unit tests of routing, validation and errors. Integration tests go through real
/// nginx and real FastCGI workers instead.
public struct TestClient: Sendable {
    public let app: App
    /// Header fields sent with every request (an `Authorization` header, say).
    public var defaultHeaders: HTTPHeaders = [:]

    public init(app: App) { self.app = app }

    public func request(
        _ method: HTTPMethod, _ target: String, headers: HTTPHeaders = [:], body: [UInt8] = [],
        remoteAddress: String = "127.0.0.1"
    ) async -> TestResponse {
        var allHeaders = defaultHeaders
        for field in headers { allHeaders.replaceOrAdd(name: field.name, value: field.value) }
        if !body.isEmpty, !allHeaders.contains("Content-Length") {
            allHeaders.add(name: "Content-Length", value: String(body.count))
        }
        let request = Request(
            method: method, target: target, headers: allHeaders, body: body, remoteAddress: remoteAddress)
        return TestResponse(await app.handle(request))
    }

    public func get(_ target: String, headers: HTTPHeaders = [:]) async -> TestResponse {
        await request(.get, target, headers: headers)
    }

    public func head(_ target: String, headers: HTTPHeaders = [:]) async -> TestResponse {
        await request(.head, target, headers: headers)
    }

    public func delete(_ target: String, headers: HTTPHeaders = [:]) async -> TestResponse {
        await request(.delete, target, headers: headers)
    }

    /// Sends a JSON body (`Content-Type: application/json` unless given).
    public func send(
        _ method: HTTPMethod, _ target: String, json: JSONValue, headers: HTTPHeaders = [:]
    ) async -> TestResponse {
        await send(method, target, rawJSON: json.jsonText, headers: headers)
    }

    /// Sends raw text as a JSON body, for malformed-input tests.
    public func send(
        _ method: HTTPMethod, _ target: String, rawJSON: String, headers: HTTPHeaders = [:]
    ) async -> TestResponse {
        var headers = headers
        if !headers.contains("Content-Type") { headers.add(name: "Content-Type", value: "application/json") }
        return await request(method, target, headers: headers, body: Array(rawJSON.utf8))
    }
}

/// A response with conveniences for assertions.
public struct TestResponse: Sendable {
    public let response: Response

    init(_ response: Response) { self.response = response }

    public var status: Int { response.status.code }
    public var headers: HTTPHeaders { response.headers }
    public var text: String { response.bodyText }

    /// The body parsed as JSON, or nil if it is not JSON.
    public var json: JSONValue? { try? JSONParser.parse(response.body) }

    /// A top-level member of a JSON object body.
    public subscript(key: String) -> JSONValue? { json?.objectValue?[key] }
}
