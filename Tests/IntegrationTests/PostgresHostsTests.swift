// Two hosts (each a master, its workers and nginx) sharing one real PostgreSQL: accounts, revocation and rate limits hold across them.

import Foundation
import Testing

@Suite("Two hosts on one PostgreSQL", .serialized)
struct PostgresHostsTests {
    /// Hosts share the signing key, as a deployment's hosts do: a token from one verifies on all.
    static func environment(_ url: String, rateLimits: Bool = false) -> [String: String] {
        [
            "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "DATABASE_URL": url,
            "SECRET_KEY": "hosts-share-this-secret-key-0123456789",
            "JWT_SECRET_KEY": "hosts-share-this-jwt-key-0123456789",
            "RATELIMIT_ENABLED": rateLimits ? "true" : "false",
        ]
    }

    /// Two services on the same database, the first migrating it on its start.
    static func twoHosts(rateLimits: Bool = false) throws -> (LiveService, LiveService) {
        let url = try PostgresCluster.createDatabase()
        let first = try LiveService.start(
            .master(workers: 2, arguments: []), environment: environment(url, rateLimits: rateLimits))
        do {
            let second = try LiveService.start(
                .master(workers: 2, arguments: []), environment: environment(url, rateLimits: rateLimits))
            return (first, second)
        } catch {
            first.stop()
            throw error
        }
    }

    static let json = [("Content-Type", "application/json")]

    static func credentials(_ username: String) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: ["username": username, "password": "correct horse"]))
    }

    @Test("an account registered on one host logs in on the other; its name in another case is taken on both")
    func accounts() throws {
        let (first, second) = try Self.twoHosts()
        defer {
            first.stop()
            second.stop()
        }
        let registered = try first.client.send(
            "POST", "/api/auth/register", headers: Self.json, body: Self.credentials("Frank"))
        #expect(registered.status == 201)
        let login = try second.client.send(
            "POST", "/api/auth/login", headers: Self.json, body: Self.credentials("frank"))
        #expect(login.status == 200)
        let taken = try second.client.send(
            "POST", "/api/auth/register", headers: Self.json, body: Self.credentials("FRANK"))
        #expect(taken.status == 409)
        let health = try second.client.get("/healthz")
        #expect(health.status == 200)
        #expect(health.json?["database"] as? String == "ok")
    }

    @Test("a token revoked on one host is refused by the other on its next request")
    func revocation() throws {
        let (first, second) = try Self.twoHosts()
        defer {
            first.stop()
            second.stop()
        }
        #expect(
            try first.client.send("POST", "/api/auth/register", headers: Self.json, body: Self.credentials("gina"))
                .status == 201)
        let login = try first.client.send("POST", "/api/auth/login", headers: Self.json, body: Self.credentials("gina"))
        let access = try #require(login.json?["access_token"] as? String)
        let bearer = [("Authorization", "Bearer \(access)")]
        // Every worker of the second host checks the token and remembers "not revoked".
        for _ in 0..<6 { #expect(try second.client.get("/api/protected", headers: bearer).status == 200) }
        #expect(try first.client.send("POST", "/api/auth/logout", headers: bearer).status == 204)
        for _ in 0..<6 { #expect(try second.client.get("/api/protected", headers: bearer).status == 401) }
    }

    @Test("/api/limited-endpoint: 5 per minute for one client across both hosts, then 429 on either")
    func rateLimitAcrossHosts() throws {
        let (first, second) = try Self.twoHosts(rateLimits: true)
        defer {
            first.stop()
            second.stop()
        }
        // A window boundary in the middle would reset the count: start early in a minute.
        let second0 = Int(Date().timeIntervalSince1970) % 60
        if second0 > 50 { Thread.sleep(forTimeInterval: Double(61 - second0)) }
        var statuses: [Int] = []
        for index in 0..<8 {
            let host = index.isMultiple(of: 2) ? first : second
            statuses.append(try host.client.get("/api/limited-endpoint").status)
        }
        #expect(statuses == [200, 200, 200, 200, 200, 429, 429, 429])
    }
}
