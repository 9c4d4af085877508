// The HTTP contract's basics through real nginx and a real worker pool.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Through nginx", .serialized)
struct ThroughNginxTests {
    @Test("GET /api/hello answers as the contract says")
    func hello() throws {
        let service = try LiveService.start()
        defer { service.stop() }
        let response = try service.client.get("/api/hello")
        #expect(response.status == 200)
        #expect(response.text == #"{"message": "Hello, World!"}"#)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.header("X-Content-Type-Options") == "nosniff")
        #expect(response.header("Content-Length") == "28")
        let id = try #require(response.header("X-Request-Id"))
        #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
    }

    @Test("unknown path is a JSON 404, wrong method a JSON 405 with Allow")
    func notFoundAndMethodNotAllowed() throws {
        let service = try LiveService.start()
        defer { service.stop() }
        let missing = try service.client.get("/api/nope")
        #expect(missing.status == 404)
        #expect(missing.json?["error"] as? String == "Not Found")
        #expect(missing.json?["status"] as? Int == 404)
        #expect(missing.json?["message"] as? String == "The requested URL was not found on the server.")
        #expect(missing.header("Content-Type") == "application/json")
        #expect(missing.header("X-Content-Type-Options") == "nosniff")

        let wrong = try service.client.send("DELETE", "/api/hello")
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow") == "GET, HEAD, OPTIONS")
        #expect(wrong.json?["error"] as? String == "Method Not Allowed")
        #expect(wrong.json?["status"] as? Int == 405)
    }

    @Test("HEAD has GET's headers and no body")
    func head() throws {
        let service = try LiveService.start()
        defer { service.stop() }
        let head = try service.client.send("HEAD", "/api/hello")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.header("Content-Type") == "application/json")
        #expect(head.header("Content-Length") == "28")
        #expect(head.header("X-Request-Id") != nil)
    }

    @Test("a valid X-Request-Id is echoed and logged; an invalid one is replaced")
    func requestID() throws {
        let service = try LiveService.start()
        defer { service.stop() }
        let given = "trace-42.abc_DEF"
        let echoed = try service.client.get("/api/hello", headers: [("X-Request-Id", given)])
        #expect(echoed.header("X-Request-Id") == given)
        let logged = Processes.waitUntil(seconds: 5) {
            service.log().split(separator: "\n").contains {
                $0.contains("request_id=\(given)") && $0.contains("path=/api/hello") && $0.contains("status=200")
                    && $0.contains("method=GET") && $0.contains("duration_ms=")
            }
        }
        #expect(logged, "access log line with the request id; log:\n\(service.log())")

        let invalid = String(repeating: "x", count: 129)
        let replaced = try service.client.get("/api/hello", headers: [("X-Request-Id", invalid)])
        let fresh = try #require(replaced.header("X-Request-Id"))
        #expect(fresh != invalid && fresh.count == 32)
        let spaced = try service.client.get("/api/hello", headers: [("X-Request-Id", "a b")])
        #expect(spaced.header("X-Request-Id") != "a b")
    }

    @Test("a body of exactly MAX_CONTENT_LENGTH passes nginx; one byte more is nginx's JSON 413")
    func bodyLimit() throws {
        let limit = 4096
        let service = try LiveService.start(maxContentLength: limit)
        defer { service.stop() }
        let exact = try service.client.send(
            "POST", "/api/hello", headers: [("Content-Type", "application/json")],
            body: [UInt8](repeating: UInt8(ascii: " "), count: limit))
        // It reached the application, which has no POST here.
        #expect(exact.status == 405)
        #expect(exact.header("Allow") == "GET, HEAD, OPTIONS")

        let over = try service.client.send(
            "POST", "/api/hello", headers: [("Content-Type", "application/json")],
            body: [UInt8](repeating: UInt8(ascii: " "), count: limit + 1))
        #expect(over.status == 413)
        #expect(over.header("Content-Type") == "application/json")
        #expect(over.json?["error"] as? String == "Content Too Large")
        #expect(over.json?["status"] as? Int == 413)
        #expect(over.json?["message"] is String)
    }

    @Test("with the pool down, nginx's 502 is the JSON error body")
    func badGateway() throws {
        let service = try LiveService.start(.none)
        defer { service.stop() }
        let response = try service.client.get("/api/hello")
        #expect(response.status == 502)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.json?["error"] as? String == "Bad Gateway")
        #expect(response.json?["status"] as? Int == 502)
    }

    @Test("the shipped nginx.conf never passes Proxy (httpoxy) to the application")
    func proxyHeaderStripped() throws {
        // /_testing/headers echoes what the worker received; Proxy must not be among them.
        let service = try LiveService.start(environment: ["TESTING": "true"])
        defer { service.stop() }
        let response = try service.client.get(
            "/_testing/headers",
            headers: [("Proxy", "http://evil.example:1"), ("X-Replit-User-Id", "42"), ("X-Kept", "yes")])
        #expect(response.status == 200)
        let headers = try #require(response.json?["headers"] as? [String: String])
        #expect(headers["X-Kept"] == "yes")
        #expect(headers["Proxy"] == nil)
        #expect(headers["X-Replit-User-Id"] == nil)
    }
}
