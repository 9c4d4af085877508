// Hostile requests through real nginx and the worker pool: each is refused cleanly, no worker dies.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Hostile input through nginx", .serialized)
struct HostileInputTests {
    /// A running service with one account's access token. The limiter is off (each case sends
    /// more requests than the default limits allow) and hashing is cheap.
    struct Target {
        let service: LiveService
        let workers: [pid_t]
        let token: String

        static let environment = [
            "RATELIMIT_ENABLED": "false", "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1",
        ]

        init(workers: Int = 2) throws {
            service = try LiveService.start(.master(workers: workers, arguments: []), environment: Self.environment)
            do {
                token = try TasksTests.token(service, "mallory")
            } catch {
                service.stop()
                throw error
            }
            self.workers = service.workerPIDs()
        }

        /// A task creation with exactly these body bytes.
        func createTask(_ body: [UInt8], timeoutSeconds: Int = 15) throws -> HTTPResult {
            var client = service.client
            client.timeoutSeconds = timeoutSeconds
            return try client.send(
                "POST", "/api/tasks",
                headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")], body: body)
        }

        func get(_ target: String) throws -> HTTPResult {
            try service.client.get(target, headers: [("Authorization", "Bearer \(token)")])
        }

        /// What must hold after every case: the same workers (none died, none was replaced),
        /// and the pool still answers.
        func expectUnharmed(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(service.workerPIDs() == workers, "workers after \(what)", sourceLocation: sourceLocation)
            #expect(!service.log().contains("worker died"), "after \(what)", sourceLocation: sourceLocation)
            let hello = try? service.client.get("/api/hello")
            #expect(hello?.status == 200, "the pool still serves after \(what)", sourceLocation: sourceLocation)
        }

        func stop() { service.stop() }
    }

    /// The JSON error body of API.md section 2, with one of `statuses`.
    static func expectError(
        _ response: HTTPResult, _ statuses: Set<Int>, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            statuses.contains(response.status), "\(what): \(response.status) \(response.text.prefix(300))",
            sourceLocation: sourceLocation)
        #expect(response.header("Content-Type") == "application/json", "\(what)", sourceLocation: sourceLocation)
        #expect(response.header("X-Content-Type-Options") == "nosniff", "\(what)", sourceLocation: sourceLocation)
        #expect(response.json?["status"] as? Int == response.status, "\(what)", sourceLocation: sourceLocation)
        #expect(response.json?["error"] is String, "\(what)", sourceLocation: sourceLocation)
        #expect(response.json?["message"] is String, "\(what)", sourceLocation: sourceLocation)
    }

    /// The messages of a 400's `errors` under `field`.
    static func fieldErrors(_ response: HTTPResult, _ field: String) -> [String]? {
        (response.json?["errors"] as? [String: Any])?[field] as? [String]
    }

    @Test("an object with 100,000 members is a 400 or 413, answered promptly")
    func manyMembers() throws {
        let target = try Target()
        defer { target.stop() }
        // Three-character keys keep the body (800 kB) under the 1 MiB limit, so it reaches
        // the worker's parser. A quadratic member insertion holds the worker for half a minute;
        // the short client timeout turns that into a failure here.
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        var body = Array(#"{"title": "x""#.utf8)
        for index in 0..<100_000 {
            let key = [index / (62 * 62), (index / 62) % 62, index % 62].map { alphabet[$0] }
            body += Array(",\"".utf8) + key + Array("\":0".utf8)
        }
        body.append(UInt8(ascii: "}"))
        #expect(body.count < 1 << 20)
        let response = try? target.createTask(body, timeoutSeconds: 5)
        #expect(response != nil, "no answer within 5 s: the worker is still parsing the members")
        if let response { Self.expectError(response, [400, 413], "100,000 members") }
        target.expectUnharmed("100,000 members")
    }

    @Test("nesting 100,000 deep is a 400")
    func deepNesting() throws {
        let target = try Target()
        defer { target.stop() }
        for (open, close) in [("[", "]"), (#"{"a":"#, "}")] {
            let body = Array(
                (#"{"title": "# + String(repeating: open, count: 100_000) + "0"
                    + String(repeating: close, count: 100_000) + "}").utf8)
            let response = try target.createTask(body)
            Self.expectError(response, [400], "nesting \(open)")
            target.expectUnharmed("nesting \(open)")
        }
    }

    @Test("a 1 MiB string in title is a 413, or a 400 under title")
    func hugeTitle() throws {
        let target = try Target()
        defer { target.stop() }
        let body = Array((#"{"title": ""# + String(repeating: "a", count: 1 << 20) + #""}"#).utf8)
        let response = try target.createTask(body)
        Self.expectError(response, [400, 413], "1 MiB title")
        if response.status == 400 { #expect(Self.fieldErrors(response, "title") != nil) }
        target.expectUnharmed("1 MiB title")
    }

    @Test("invalid UTF-8, overlong UTF-8 and lone surrogates are a 400")
    func badUnicode() throws {
        let target = try Target()
        defer { target.stop() }
        let cases: [(String, [UInt8])] = [
            ("invalid byte FF", [0x61, 0xFF, 0x62]),
            ("truncated sequence", [0x61, 0xE2, 0x82]),
            ("overlong slash C0 AF", [0xC0, 0xAF]),
            ("overlong slash E0 80 AF", [0xE0, 0x80, 0xAF]),
            ("overlong NUL C0 80", [0xC0, 0x80]),
            ("surrogate encoded ED A0 80", [0xED, 0xA0, 0x80]),
            ("escaped lone high surrogate", Array(#"\ud800"#.utf8)),
            ("escaped lone low surrogate", Array(#"\udc00x"#.utf8)),
            ("escaped reversed pair", Array(#"\udc00\ud800"#.utf8)),
        ]
        for (name, bytes) in cases {
            let body = Array(#"{"title": ""#.utf8) + bytes + Array(#""}"#.utf8)
            let response = try target.createTask(body)
            Self.expectError(response, [400], name)
            target.expectUnharmed(name)
        }
        // Nothing was stored.
        let list = try target.get("/api/tasks")
        #expect(list.json?["total"] as? Int == 0)
    }

    @Test("a NUL character in a string is a 400 under its field, never stored truncated")
    func nulInString() throws {
        let target = try Target()
        defer { target.stop() }
        for (field, body) in [
            ("title", #"{"title": "a\u0000b"}"#), ("description", #"{"title": "ok", "description": "x\u0000"}"#),
        ] {
            let response = try target.createTask(Array(body.utf8))
            Self.expectError(response, [400], "NUL in \(field)")
            #expect(Self.fieldErrors(response, field) == ["Must not contain the NUL character."], "\(response.text)")
            target.expectUnharmed("NUL in \(field)")
        }
        let list = try target.get("/api/tasks")
        #expect(list.json?["total"] as? Int == 0)
    }

    @Test("%00 in the path or the query is a 404 or 400")
    func nulInTarget() throws {
        let target = try Target()
        defer { target.stop() }
        for path in [
            "/api/hello%00", "/api/tasks/1%00", "/api/tasks%00/1", "/api/tasks?sort=%00", "/api/tasks?priority=1%00",
            "/api/tasks?page=%00", "/static/%00",
        ] {
            let response = try target.get(path)
            Self.expectError(response, [400, 404], path)
            target.expectUnharmed(path)
        }
    }

    @Test("100 header fields are fine")
    func hundredHeaders() throws {
        let target = try Target()
        defer { target.stop() }
        let headers = (0..<100).map { ("X-Filler-\($0)", "value \($0) " + String(repeating: "v", count: 40)) }
        let response = try target.service.client.get("/api/hello", headers: headers)
        #expect(response.status == 200)
        #expect(response.text == #"{"message": "Hello, World!"}"#)
        target.expectUnharmed("100 headers")
    }

    @Test("an 8 KiB header or a duplicate Content-Length is nginx's own 400, as the JSON error body")
    func refusedByNginx() throws {
        let target = try Target()
        defer { target.stop() }
        let client = target.service.client
        let oversized = try client.get(
            "/api/hello", headers: [("X-Request-Id", "oversized-1"), ("X-Big", String(repeating: "a", count: 8192))])
        let duplicate = try client.exchange(
            Array(
                ("POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: duplicate-1\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n"
                    + "Connection: close\r\n\r\n{}").utf8))
        for (name, response) in [("8 KiB header", oversized), ("duplicate Content-Length", duplicate)] {
            Self.expectError(response, [400], name)
            #expect(response.json?["error"] as? String == "Bad Request")
            #expect(response.json?["message"] as? String == "The server could not understand the request.")
            target.expectUnharmed(name)
        }
        // nginx answered them: no worker logged either request.
        #expect(!target.service.log().contains("oversized-1"))
        #expect(!target.service.log().contains("duplicate-1"))
    }

    @Test("a malformed request line is a JSON 400; an unknown HTTP version a JSON 505")
    func malformedRequestLines() throws {
        let target = try Target()
        defer { target.stop() }
        let lines: [[UInt8]] = [
            Array("GET /api/hello HTTP/1.1 junk".utf8),
            Array("G@T /api/hello HTTP/1.1".utf8),
            Array("GET /api/he".utf8) + [0] + Array("llo HTTP/1.1".utf8),
            Array("GET /api/hello world HTTP/1.1".utf8),
            Array("GET api/hello HTTP/1.1".utf8),
            Array("GET /api/hello HTTP/1.x".utf8),
            Array(" GET /api/hello HTTP/1.1".utf8),
            [0xFF, 0xFE] + Array(" /api/hello HTTP/1.1".utf8),
        ]
        for line in lines {
            let name = String(decoding: line, as: UTF8.self).debugDescription
            let response = try target.service.client.exchange(
                line + Array("\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
            Self.expectError(response, [400], name)
            target.expectUnharmed(name)
        }
        let version = try target.service.client.exchange(
            Array("GET /api/hello HTTP/9.9\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
        Self.expectError(version, [505], "HTTP/9.9")
        target.expectUnharmed("HTTP/9.9")
    }

    @Test("a body that trickles in holds no worker: the only worker serves others meanwhile")
    func tricklingBody() throws {
        let target = try Target(workers: 1)
        defer { target.stop() }
        let body = Array(#"{"username": "mallory", "password": "a good password"}"#.utf8)
        let connection = try HTTPConnection(target.service.client)
        try connection.send(
            Array(
                ("POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n").utf8))
        // One piece at a time, with a whole request served by the single worker in between:
        // nginx buffers the body, the worker only sees the request once it is complete.
        var served: [Int] = []
        for start in stride(from: 0, to: body.count, by: 8) {
            try connection.send(Array(body[start..<min(start + 8, body.count)]))
            if start + 8 < body.count { served.append((try? target.service.client.get("/api/hello"))?.status ?? 0) }
        }
        #expect(served.count == (body.count - 1) / 8)
        #expect(served.allSatisfy { $0 == 200 }, "\(served)")
        let login = try connection.response()
        #expect(login.status == 200)
        #expect(login.json?["access_token"] is String)
        target.expectUnharmed("a trickling body")
    }
}
