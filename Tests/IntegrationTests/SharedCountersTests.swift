// Rate-limit counters in the host's shared memory: exact across workers, kept across recycling and reload.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Shared-memory rate-limit counters", .serialized)
struct SharedCountersTests {
    /// A day window on /api/hello: no minute boundary can fall between a test's requests.
    static let environment = [
        "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "RATELIMIT_ENABLED": "true",
        "RATELIMIT_DEFAULT": "5 per day",
    ]

    /// Expects `remaining` hits left after each of the next requests from `client`, then a 429.
    static func expectCounts(_ client: HTTPClient, remaining: [Int], log: () -> String) throws {
        for left in remaining {
            let response = try client.get("/api/hello")
            #expect(response.status == 200)
            #expect(response.header("X-RateLimit-Remaining") == String(left), "log:\n\(log())")
        }
    }

    @Test("workers recycled after every request (--max-requests 1) keep counting where the others stopped")
    func survivesRecycling() throws {
        let service = try LiveService.start(
            .master(workers: 4, arguments: ["--max-requests", "1"]), environment: Self.environment)
        defer { service.stop() }
        var client = service.client
        client.sourceAddress = "127.0.0.5"
        try Self.expectCounts(client, remaining: [4, 3, 2, 1, 0], log: service.log)
        #expect(try client.get("/api/hello").status == 429)
        #expect(service.log().contains("worker recycled, starting a replacement"))
        // The workers used the master's memfd, not a file of their own.
        let file = service.directory.appendingPathComponent("instance/app.sqlite-host-region").path
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    @Test("SIGHUP replaces every worker; the new ones continue the count")
    func survivesReload() throws {
        let service = try LiveService.start(.master(workers: 3, arguments: []), environment: Self.environment)
        defer { service.stop() }
        var client = service.client
        client.sourceAddress = "127.0.0.6"
        try Self.expectCounts(client, remaining: [4, 3, 2], log: service.log)
        let before = Set(service.workerPIDs())
        service.signalMaster(SIGHUP)
        #expect(
            Processes.waitUntil(seconds: 10) {
                let now = Set(service.workerPIDs())
                return now.count == 3 && now.isDisjoint(with: before)
            })
        // The new workers map the master's memfd once they have started.
        for pid in service.workerPIDs() {
            let mapped = Processes.waitUntil(seconds: 20) {
                Processes.procText(pid, "maps")?.contains("memfd:tasks-api-host-region") ?? false
            }
            #expect(mapped, "worker \(pid)")
        }
        try Self.expectCounts(client, remaining: [1, 0], log: service.log)
        #expect(try client.get("/api/hello").status == 429)
    }

    @Test("spawn-fcgi workers, without a master, share the region file beside the database")
    func spawnFCGIWorkersShareTheFile() throws {
        let service = try LiveService.start(.spawnFCGI(workers: 3), environment: Self.environment)
        defer { service.stop() }
        var client = service.client
        client.sourceAddress = "127.0.0.7"
        try Self.expectCounts(client, remaining: [4, 3, 2, 1, 0], log: service.log)
        #expect(try client.get("/api/hello").status == 429)
        var status = stat()
        #expect(stat(service.directory.appendingPathComponent("instance/app.sqlite-host-region").path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
    }
}
