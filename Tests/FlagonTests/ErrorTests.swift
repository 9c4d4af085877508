// Error responses: the JSON error body, opaque 500s, the 413 limit and the headers every response carries.

import Flagon
import Testing

/// An error whose text must never reach a client.
private struct LeakyError: Error, CustomStringConvertible {
    var description: String { "SELECT password FROM users WHERE name='root' -- /srv/tasks/app.sqlite" }
}

/// A domain error that renders itself, as a store's `notFound` would.
private enum ShelfError: HTTPResponseError {
    case gone

    var status: HTTPStatus { HTTPStatus(code: 410) }
    var headers: HTTPHeaders { ["X-Shelf": "empty"] }
    var body: JSONValue { ["error": "Gone", "message": "The shelf was emptied.", "status": 410, "shelf": "top"] }
}

@Suite("Errors")
struct ErrorTests {
    /// Routes that throw each error status, plus an upload endpoint for the size limit.
    static func errorApp(maxContentLength: Int = 1 << 20) -> App {
        let errors = Blueprint("errors")
        errors.get("/status/{code:int}") { request in
            throw HTTPError(HTTPStatus(code: Int(request.parameters.int("code") ?? 500)))
        }
        errors.get("/custom") { _ in
            throw HTTPError(.conflict, message: "That name is taken.", headers: ["X-Extra": "1"])
        }
        errors.get("/crash") { _ in throw LeakyError() }
        errors.get("/domain") { _ in throw ShelfError.gone }
        errors.get("/validation") { _ in
            throw HTTPError.validation(["title": ["Missing data for required field."], "priority": ["Bad."]])
        }
        errors.post("/upload") { request in .json(["received": .integer(Int64(request.body.count))]) }
        var app = makeApp(errors)
        app.maxContentLength = maxContentLength
        return app
    }

    @Test(
        "every error status has exactly the error, message and status members",
        arguments: [400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 429, 500, 502, 503, 504])
    func errorBodyShape(code: Int) async throws {
        let response = await TestClient(app: Self.errorApp()).get("/status/\(code)")
        let status = HTTPStatus(code: code)
        #expect(response.status == code)
        #expect(response.headers["Content-Type"] == "application/json")
        let object = try #require(response.json?.objectValue)
        #expect(object.keys == ["error", "message", "status"])
        #expect(object["error"] == .string(status.reasonPhrase))
        #expect(object["message"] == .string(HTTPError.defaultMessage(for: status)))
        #expect(object["status"] == .integer(Int64(code)))
    }

    @Test("reason phrases are RFC 9110's")
    func reasonPhrases() {
        #expect(HTTPStatus(code: 413).reasonPhrase == "Content Too Large")
        #expect(HTTPStatus(code: 422).reasonPhrase == "Unprocessable Content")
        #expect(HTTPStatus(code: 429).reasonPhrase == "Too Many Requests")
        #expect(HTTPStatus(code: 503).reasonPhrase == "Service Unavailable")
        #expect(HTTPStatus(code: 599).reasonPhrase == "Unknown")
    }

    @Test("the 404 body is exactly the contract's")
    func notFoundExact() async {
        let response = await TestClient(app: Self.errorApp()).get("/missing")
        #expect(response.status == 404)
        #expect(
            response.text
                == #"{"error": "Not Found", "message": "The requested URL was not found on the server.", "#
                + #""status": 404}"#)
    }

    @Test("the 405 body is exactly the contract's and keeps its Allow header")
    func methodNotAllowedExact() async {
        let response = await TestClient(app: Self.errorApp()).delete("/custom")
        #expect(response.status == 405)
        #expect(response.headers["Allow"] == "GET, HEAD, OPTIONS")
        #expect(
            response.text
                == #"{"error": "Method Not Allowed", "message": "The method is not allowed for the requested URL.", "#
                + #""status": 405}"#)
    }

    @Test("a custom message and extra headers are kept")
    func customMessage() async {
        let response = await TestClient(app: Self.errorApp()).get("/custom")
        #expect(response.status == 409)
        #expect(response.text == #"{"error": "Conflict", "message": "That name is taken.", "status": 409}"#)
        #expect(response.headers["X-Extra"] == "1")
    }

    @Test("validation errors add the errors map, keys sorted")
    func validationBody() async {
        let response = await TestClient(app: Self.errorApp()).get("/validation")
        #expect(response.status == 400)
        #expect(
            response.text
                == #"{"error": "Bad Request", "message": "Validation failed.", "status": 400, "errors": "#
                + #"{"priority": ["Bad."], "title": ["Missing data for required field."]}}"#)
    }

    @Test("an unexpected error is a 500 that reveals none of its text")
    func opaqueInternalError() async {
        let capture = LogCapture()
        let errors = Blueprint("errors")
        errors.get("/crash") { _ in throw LeakyError() }
        errors.get("/domain") { _ in throw ShelfError.gone }
        let app = makeApp(errors, logger: capture.logger())
        let response = await TestClient(app: app).get("/crash", headers: ["X-Request-Id": "crash-1"])
        #expect(response.status == 500)
        #expect(
            response.text
                == #"{"error": "Internal Server Error", "message": "The server encountered an internal error "#
                + #"and was unable to complete your request.", "status": 500}"#)
        for fragment in ["SELECT", "password", "root", "/srv", "sqlite", "LeakyError"] {
            #expect(!response.text.contains(fragment))
            #expect(!response.headers.contains { $0.value.contains(fragment) })
        }
        // The error itself goes to the log, with the request id.
        let logged = capture.captured.filter { $0.level == .error }
        #expect(logged.count == 1)
        #expect(logged.first?.metadata["request_id"] == "crash-1")
        #expect(logged.first?.metadata["error"]?.contains("SELECT password FROM users") == true)
        #expect(logged.first?.metadata["path"] == "/crash")
    }

    @Test("a body over the limit is 413, decided from Content-Length")
    func contentTooLarge() async {
        let client = TestClient(app: Self.errorApp(maxContentLength: 10))
        let response = await client.request(.post, "/upload", body: Array("01234567890".utf8))
        #expect(response.status == 413)
        #expect(response["error"] == "Content Too Large")
        #expect(response["status"] == 413)
        #expect(response.json?.objectValue?.keys == ["error", "message", "status"])

        // The declared length decides, before any body is read.
        let declared = await client.request(.post, "/upload", headers: ["Content-Length": "11"])
        #expect(declared.status == 413)
    }

    @Test("a body of exactly the limit is accepted")
    func contentAtLimit() async {
        let client = TestClient(app: Self.errorApp(maxContentLength: 10))
        let response = await client.request(.post, "/upload", body: Array("0123456789".utf8))
        #expect(response.status == 200)
        #expect(response.text == #"{"received": 10}"#)
    }

    @Test("the default limit is 1 MiB")
    func defaultLimit() async {
        let app = App(logger: quietLogger)
        #expect(app.maxContentLength == 1_048_576)
    }

    @Test(
        "every response carries nosniff and a request id, errors included",
        arguments: [
            (HTTPMethod.get, "/custom"), (.get, "/missing"), (.delete, "/custom"), (.get, "/crash"),
            (.get, "/status/401"), (.options, "/custom"), (.head, "/custom"), (.post, "/upload"),
        ])
    func standardHeaders(method: HTTPMethod, path: String) async {
        let response = await TestClient(app: Self.errorApp()).request(method, path)
        #expect(response.headers.values(for: "X-Content-Type-Options") == ["nosniff"])
        #expect(response.headers.values(for: "X-Request-Id").count == 1)
        #expect(isGeneratedRequestID(response.headers["X-Request-Id"]))
    }

    @Test("a 413 carries nosniff and the request id too")
    func contentTooLargeHeaders() async {
        let client = TestClient(app: Self.errorApp(maxContentLength: 1))
        let response = await client.request(
            .post, "/upload", headers: ["X-Request-Id": "big-upload"], body: Array("xx".utf8))
        #expect(response.status == 413)
        #expect(response.headers["X-Request-Id"] == "big-upload")
        #expect(response.headers["X-Content-Type-Options"] == "nosniff")
    }

    @Test("a transport error is answered with the error body and the usual headers")
    func transportError() async {
        var request = Request(method: .get, path: "/custom")
        request.transportError = HTTPError(.badRequest, message: "The Content-Length is not a number.")
        let response = await Self.errorApp().handle(request)
        #expect(response.status.code == 400)
        #expect(
            response.bodyText
                == #"{"error": "Bad Request", "message": "The Content-Length is not a number.", "status": 400}"#)
        #expect(response.headers["X-Content-Type-Options"] == "nosniff")
        #expect(isGeneratedRequestID(response.headers["X-Request-Id"]))
    }

    @Test("an error conforming to HTTPResponseError answers with its own status, headers and body")
    func domainError() async throws {
        let response = await TestClient(app: Self.errorApp()).get("/domain")
        #expect(response.status == 410)
        #expect(response.headers["X-Shelf"] == "empty")
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.json == ["error": "Gone", "message": "The shelf was emptied.", "status": 410, "shelf": "top"])
    }

    @Test("a domain error still gets the rate-limit headers, as an HTTPError does")
    func domainErrorRateLimited() async throws {
        var app = Self.errorApp()
        app.use(RateLimitMiddleware(defaultLimits: [RateLimit(5, per: .minute)], store: MemoryRateLimitStore()))
        let response = await TestClient(app: app).get("/domain")
        #expect(response.status == 410)
        #expect(response.headers["X-RateLimit-Remaining"] == "4")
    }
}
