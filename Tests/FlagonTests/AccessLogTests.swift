// The access log: one info line per request with method, path, status, duration and request id.

import Flagon
import Logging
import Testing

@Suite("Access log")
struct AccessLogTests {
    static func loggedApp(_ capture: LogCapture, level: Logger.Level = .info) -> App {
        let blueprint = Blueprint("logged")
        blueprint.get("/items/{id:int}") { _ in .json(["ok": true]) }
        blueprint.get("/boom") { _ in throw HTTPError(.forbidden) }
        return makeApp(blueprint, logger: capture.logger(level: level))
    }

    private func requestLines(_ capture: LogCapture) -> [CapturedEvent] {
        capture.captured.filter { $0.message == "request" }
    }

    @Test("one line per request with method, path, status, duration and request id")
    func oneLinePerRequest() async throws {
        let capture = LogCapture()
        let client = TestClient(app: Self.loggedApp(capture))
        let response = await client.get("/items/7?verbose=1", headers: ["X-Request-Id": "req-1"])
        #expect(response.status == 200)

        let lines = requestLines(capture)
        try #require(lines.count == 1)
        let line = lines[0]
        #expect(line.level == .info)
        #expect(line.metadata["method"] == "GET")
        #expect(line.metadata["path"] == "/items/7")
        #expect(line.metadata["status"] == "200")
        #expect(line.metadata["request_id"] == "req-1")
        #expect(line.metadata["remote_addr"] == "127.0.0.1")
        let duration = try #require(line.metadata["duration_ms"])
        #expect(duration.wholeMatch(of: /[0-9]+\.[0-9]{3}/) != nil)
    }

    @Test("error responses are logged with their status and the id sent back")
    func errorsLogged() async throws {
        let capture = LogCapture()
        let client = TestClient(app: Self.loggedApp(capture))
        let notFound = await client.get("/nothing")
        let forbidden = await client.request(.post, "/boom", remoteAddress: "10.0.0.9")
        let denied = await client.get("/boom")

        let lines = requestLines(capture)
        try #require(lines.count == 3)
        #expect(lines.map { $0.metadata["status"] } == ["404", "405", "403"])
        #expect(lines.map { $0.metadata["method"] } == ["GET", "POST", "GET"])
        #expect(lines[0].metadata["request_id"] == notFound.headers["X-Request-Id"])
        #expect(lines[1].metadata["request_id"] == forbidden.headers["X-Request-Id"])
        #expect(lines[1].metadata["remote_addr"] == "10.0.0.9")
        #expect(lines[2].metadata["request_id"] == denied.headers["X-Request-Id"])
        #expect(isGeneratedRequestID(lines[2].metadata["request_id"]))
    }

    @Test("each request gets its own line, in order")
    func manyRequests() async {
        let capture = LogCapture()
        let client = TestClient(app: Self.loggedApp(capture))
        for id in 1...5 { _ = await client.get("/items/\(id)") }
        #expect(requestLines(capture).map { $0.metadata["path"] } == (1...5).map { "/items/\($0)" })
    }

    @Test("nothing is logged for requests when the level is above info")
    func quietAboveInfo() async {
        let capture = LogCapture()
        let client = TestClient(app: Self.loggedApp(capture, level: .warning))
        _ = await client.get("/items/1")
        #expect(capture.captured.isEmpty)
    }
}
