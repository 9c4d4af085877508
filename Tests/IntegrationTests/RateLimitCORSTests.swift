// Rate limits shared by four workers, and CORS, through real nginx.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Rate limits and CORS through nginx", .serialized)
struct RateLimitCORSTests {
    static let origin = "https://app.example"
    static let environment = [
        "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "RATELIMIT_ENABLED": "true",
        "CORS_ORIGINS": "\(origin), https://other.example",
    ]

    @Test(
        "/api/limited-endpoint: exactly 5 per minute across 4 workers per client address, then 429",
        arguments: Backend.allCases)
    func limitedEndpointAcrossWorkers(backend: Backend) throws {
        // On PostgreSQL the default counters are the database's; on SQLite the host's shared memory.
        let service = try LiveService.start(
            .master(workers: 4, arguments: []), environment: try backend.environment(Self.environment))
        defer { service.stop() }
        var first = service.client
        first.sourceAddress = "127.0.0.2"
        var second = service.client
        second.sourceAddress = "127.0.0.3"

        // A window boundary in the middle would reset the count: start early in a minute.
        let second0 = Int(Date().timeIntervalSince1970) % 60
        if second0 > 50 { Thread.sleep(forTimeInterval: Double(61 - second0)) }

        var resets: Set<String> = []
        for remaining in (0...4).reversed() {
            let response = try first.get("/api/limited-endpoint")
            #expect(response.status == 200)
            #expect(response.json?["message"] as? String == "This endpoint is rate limited")
            #expect(response.header("X-RateLimit-Limit") == "5")
            #expect(response.header("X-RateLimit-Remaining") == String(remaining))
            #expect(response.header("Retry-After") == nil)
            resets.insert(response.header("X-RateLimit-Reset") ?? "")
        }
        #expect(resets.count == 1)
        let resetText = try #require(resets.first)
        let reset = try #require(Int(resetText))
        let now = Int(Date().timeIntervalSince1970)
        #expect(reset % 60 == 0)
        #expect(reset > now && reset <= now + 60)

        for _ in 0..<3 {
            let refused = try first.get("/api/limited-endpoint")
            #expect(refused.status == 429)
            #expect(refused.json?["error"] as? String == "Too Many Requests")
            #expect(refused.json?["message"] as? String == "5 per 1 minute")
            #expect(refused.json?["status"] as? Int == 429)
            #expect(refused.header("X-RateLimit-Limit") == "5")
            #expect(refused.header("X-RateLimit-Remaining") == "0")
            #expect(refused.header("X-RateLimit-Reset") == String(reset))
            let retryAfter = try #require(Int(refused.header("Retry-After") ?? ""))
            #expect(retryAfter >= 1 && retryAfter <= 60)
            #expect(refused.header("X-Request-Id") != nil)
        }

        // Another client address is counted apart.
        let other = try second.get("/api/limited-endpoint")
        #expect(other.status == 200)
        #expect(other.header("X-RateLimit-Remaining") == "4")
        // The health check is exempt and carries no limit headers.
        let health = try first.get("/healthz")
        #expect(health.status == 200)
        #expect(health.header("X-RateLimit-Limit") == nil)
        // All four workers served: the count held across processes.
        #expect(service.workerPIDs().count == 4)
    }

    @Test("CORS through nginx: preflight and actual request for an allowed and a refused origin")
    func cors() throws {
        let service = try LiveService.start(.master(workers: 4, arguments: []), environment: Self.environment)
        defer { service.stop() }
        var client = service.client
        client.sourceAddress = "127.0.0.4"

        let preflight = try client.send(
            "OPTIONS", "/api/tasks",
            headers: [
                ("Origin", Self.origin), ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type, authorization"),
            ])
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Origin") == Self.origin)
        #expect(preflight.header("Access-Control-Allow-Methods") == "GET, POST, PUT, PATCH, DELETE")
        #expect(preflight.header("Access-Control-Allow-Headers") == "Content-Type, Authorization")
        #expect(preflight.header("Access-Control-Max-Age") == "600")
        #expect(preflight.header("Vary") == "Origin")
        #expect(preflight.header("X-RateLimit-Limit") == nil)
        #expect(preflight.header("WWW-Authenticate") == nil)

        // The actual request: a 401 (no token) still carries the CORS and rate-limit headers.
        let actual = try client.get("/api/tasks", headers: [("Origin", Self.origin)])
        #expect(actual.status == 401)
        #expect(actual.header("Access-Control-Allow-Origin") == Self.origin)
        #expect(
            actual.header("Access-Control-Expose-Headers")
                == "Location, X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
                + "Retry-After, ETag")
        #expect(actual.header("Vary") == "Origin")
        #expect(actual.header("X-RateLimit-Limit") == "50")

        let refusedPreflight = try client.send(
            "OPTIONS", "/api/tasks",
            headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")])
        #expect(!refusedPreflight.headers.contains { $0.name.lowercased().hasPrefix("access-control-") })
        let refused = try client.get("/api/hello", headers: [("Origin", "https://evil.example")])
        #expect(refused.status == 200)
        #expect(!refused.headers.contains { $0.name.lowercased().hasPrefix("access-control-") })
        #expect(refused.header("Vary") == "Origin")

        // A 404 for an allowed origin carries the headers too.
        let missing = try client.get("/api/no-such-thing", headers: [("Origin", "https://other.example")])
        #expect(missing.status == 404)
        #expect(missing.header("Access-Control-Allow-Origin") == "https://other.example")
    }
}
