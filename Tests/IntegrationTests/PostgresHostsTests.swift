// Two hosts (each a master and its workers, behind one nginx) sharing one real PostgreSQL: accounts, revocation and rate limits hold across them.

import Foundation
import Testing

@Suite("Two hosts on one PostgreSQL", .serialized)
struct PostgresHostsTests {
    /// Two hosts on a fresh database, the rate limiter on or off; the first host to start migrates it.
    static func twoHosts(rateLimits: Bool = false) throws -> MultiHost {
        var environment = MultiHostTests.environment
        environment["RATELIMIT_ENABLED"] = rateLimits ? "true" : "false"
        return try MultiHost.start(
            hosts: 2, workers: 2, environment: environment, databaseURL: try PostgresCluster.createDatabase())
    }

    static func credentials(_ username: String) -> [String: Any] {
        ["username": username, "password": "correct horse"]
    }

    @Test("an account registered on one host logs in on the other; its name in another case is taken on both")
    func accounts() throws {
        let harness = try Self.twoHosts()
        defer { harness.stop() }
        let (first, second) = (harness.hosts[0].client, harness.hosts[1].client)
        let registered = try AccountsTests.post(first, "/api/auth/register", Self.credentials("Frank"))
        #expect(registered.status == 201)
        let login = try AccountsTests.post(second, "/api/auth/login", Self.credentials("frank"))
        #expect(login.status == 200)
        let taken = try AccountsTests.post(second, "/api/auth/register", Self.credentials("FRANK"))
        #expect(taken.status == 409)
        let health = try second.get("/healthz")
        #expect(health.status == 200)
        #expect(health.json?["database"] as? String == "ok")
    }

    @Test("a token revoked on one host is refused by the other on its next request")
    func revocation() throws {
        let harness = try Self.twoHosts()
        defer { harness.stop() }
        let (first, second) = (harness.hosts[0].client, harness.hosts[1].client)
        #expect(try AccountsTests.post(first, "/api/auth/register", Self.credentials("gina")).status == 201)
        let login = try AccountsTests.post(first, "/api/auth/login", Self.credentials("gina"))
        let access = try #require(login.json?["access_token"] as? String)
        let bearer = [("Authorization", "Bearer \(access)")]
        // Every worker of the second host checks the token and remembers "not revoked".
        for _ in 0..<6 { #expect(try second.get("/api/protected", headers: bearer).status == 200) }
        #expect(try first.send("POST", "/api/auth/logout", headers: bearer).status == 204)
        for _ in 0..<6 { #expect(try second.get("/api/protected", headers: bearer).status == 401) }
    }

    @Test("/api/limited-endpoint: 5 per minute for one client across both hosts, then 429 on either")
    func rateLimitAcrossHosts() throws {
        // No RATELIMIT_STORAGE_URL: on PostgreSQL the default counters are the database's.
        let harness = try Self.twoHosts(rateLimits: true)
        defer { harness.stop() }
        let statuses = try MultiHostTests.limitedRequests(harness, count: 8).map(\.status)
        #expect(statuses == [200, 200, 200, 200, 200, 429, 429, 429])
    }
}
