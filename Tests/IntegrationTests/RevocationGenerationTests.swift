// The revocation generation through real workers: a worker's death makes every worker read revocations again.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Revocation generation through nginx", .serialized)
struct RevocationGenerationTests {
    static let environment = [
        "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "RATELIMIT_ENABLED": "false", "TESTING": "true",
    ]

    /// The `jti` claim of a JWT, decoded from its payload.
    static func tokenID(_ token: String) throws -> String {
        var payload = String(token.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        let data = try #require(Data(base64Encoded: payload))
        let claims = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(claims["jti"] as? String)
    }

    /// The pids of the workers that answered /api/protected with `status`, from the access log.
    static func workers(_ service: LiveService, answering status: Int) -> Set<pid_t> {
        Set(
            service.log().split(separator: "\n").filter {
                $0.contains("path=/api/protected") && $0.contains("status=\(status)")
            }.compactMap { line in
                line.split(separator: " ").first { $0.hasPrefix("pid=") }.flatMap { pid_t($0.dropFirst(4)) }
            })
    }

    @Test("a revocation committed by a worker that died before telling the others is seen once the master reaps it")
    func workerDeathBumpsTheGeneration() throws {
        let service = try LiveService.start(.master(workers: 2, arguments: []), environment: Self.environment)
        defer { service.stop() }
        let credentials = Array(
            try JSONSerialization.data(withJSONObject: ["username": "bob", "password": "correct horse"]))
        let json = [("Content-Type", "application/json")]
        #expect(try service.client.send("POST", "/api/auth/register", headers: json, body: credentials).status == 201)
        let login = try service.client.send("POST", "/api/auth/login", headers: json, body: credentials)
        let access = try #require(login.json?["access_token"] as? String)
        let bearer = [("Authorization", "Bearer \(access)")]

        // Both workers check the token once and remember that it is not revoked.
        let workers = Set(service.workerPIDs())
        #expect(workers.count == 2)
        let bothAnswered = Processes.waitUntil(seconds: 20) {
            _ = try? service.client.get("/api/protected", headers: bearer)
            return Self.workers(service, answering: 200).isSuperset(of: workers)
        }
        #expect(bothAnswered)

        // A worker commits the revocation and is killed before its bump: written here directly.
        let database = service.directory.appendingPathComponent("instance/app.sqlite").path
        let jti = try Self.tokenID(access)
        let inserted = try Processes.run(
            "/usr/bin/sqlite3",
            [database, "INSERT INTO revoked_tokens (jti, expires_at) VALUES ('\(jti)', 4000000000)"])
        #expect(inserted.status == 0, "\(inserted.output)")

        // One worker dies abnormally; the master bumps the generation when it reaps it.
        let slow = try service.startSlowRequest(seconds: 10)
        let victim = slow.workerPID
        kill(victim, SIGKILL)
        #expect(Processes.waitUntil(seconds: 10) { service.log().contains("worker died, starting a replacement") })
        let survivor = try #require(workers.subtracting([victim]).first)

        // The survivor, which remembered "not revoked", now refuses the token like the new worker.
        let refusedBySurvivor = Processes.waitUntil(seconds: 20) {
            let response = try? service.client.get("/api/protected", headers: bearer)
            #expect(response?.status == 401)
            return Self.workers(service, answering: 401).contains(survivor)
        }
        #expect(refusedBySurvivor)
    }
}
