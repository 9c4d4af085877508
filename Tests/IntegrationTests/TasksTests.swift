// Tasks through real nginx and four workers, on SQLite and on PostgreSQL: nothing lost under concurrency, races, restarts.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Tasks through nginx", .serialized)
struct TasksTests {
    static let pool = LiveService.Pool.master(workers: 4, arguments: [])

    /// Registers and logs in a user; returns the access token.
    static func token(_ service: LiveService, _ username: String) throws -> String {
        try token(service.client, username)
    }

    /// Registers and logs in a user through `client`; returns the access token.
    static func token(_ client: HTTPClient, _ username: String) throws -> String {
        let credentials: [String: Any] = ["username": username, "password": "a good password"]
        _ = try AccountsTests.post(client, "/api/auth/register", credentials)
        let login = try AccountsTests.post(client, "/api/auth/login", credentials)
        return try #require(login.json?["access_token"] as? String, "\(login.status) \(login.text)")
    }

    /// Every task of the token's user.
    static func list(_ service: LiveService, token: String) throws -> [[String: Any]] {
        try list(service.client, token: token)
    }

    /// Every task of the token's user, through `client`.
    static func list(_ client: HTTPClient, token: String) throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        var page = 1
        while true {
            let response = try client.get(
                "/api/tasks?per_page=100&page=\(page)", headers: [("Authorization", "Bearer \(token)")])
            guard response.status == 200, let batch = response.json?["items"] as? [[String: Any]] else {
                throw HTTPClientError(description: "list failed: \(response.status) \(response.text)")
            }
            items += batch
            if batch.isEmpty || (response.json?["pages"] as? Int ?? 0) <= page { return items }
            page += 1
        }
    }

    @Test(
        "20 concurrent clients creating 25 tasks each for one user: exactly 500 listed, distinct ids",
        arguments: Backend.allCases)
    func concurrentCreates(backend: Backend) throws {
        let service = try LiveService.start(Self.pool, environment: try backend.environment(AccountsTests.environment))
        defer { service.stop() }
        let token = try Self.token(service, "alice")
        let statuses = Statuses()
        let ids = Statuses()
        DispatchQueue.concurrentPerform(iterations: 20) { client in
            for index in 0..<25 {
                let response = try? AccountsTests.post(
                    service, "/api/tasks", ["title": "task \(client)-\(index)", "priority": 1 + index % 5], token: token
                )
                statuses.append(response?.status ?? 0)
                if let id = response?.json?["id"] as? Int { ids.append(id) }
            }
        }
        #expect(statuses.all.count == 500)
        #expect(statuses.all.allSatisfy { $0 == 201 }, "\(Set(statuses.all))")
        #expect(Set(ids.all).count == 500)
        let listed = try Self.list(service, token: token)
        #expect(listed.count == 500)
        #expect(Set(listed.compactMap { $0["id"] as? Int }) == Set(ids.all))
        #expect(Set(listed.compactMap { $0["title"] as? String }).count == 500)
    }

    @Test("updates racing on one task with If-Match: exactly one success per ETag", arguments: Backend.allCases)
    func racingUpdates(backend: Backend) throws {
        let service = try LiveService.start(Self.pool, environment: try backend.environment(AccountsTests.environment))
        defer { service.stop() }
        let token = try Self.token(service, "bob")
        let created = try AccountsTests.post(service, "/api/tasks", ["title": "contended"], token: token)
        let id = try #require(created.json?["id"] as? Int)
        for round in 0..<3 {
            let current = try service.client.get("/api/tasks/\(id)", headers: [("Authorization", "Bearer \(token)")])
            let etag = try #require(current.header("ETag"))
            let statuses = Statuses()
            DispatchQueue.concurrentPerform(iterations: 12) { writer in
                let body = AccountsTests.json(["title": "round \(round) writer \(writer)"])
                let response = try? service.client.send(
                    "PATCH", "/api/tasks/\(id)",
                    headers: [
                        ("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"), ("If-Match", etag),
                    ],
                    body: body)
                statuses.append(response?.status ?? 0)
            }
            let all = statuses.all
            #expect(all.filter { $0 == 200 }.count == 1, "round \(round): \(all.sorted())")
            #expect(all.filter { $0 == 412 }.count == 11, "round \(round): \(all.sorted())")
            let after = try service.client.get("/api/tasks/\(id)", headers: [("Authorization", "Bearer \(token)")])
            #expect(after.header("ETag") != etag)
            #expect((after.json?["title"] as? String)?.hasPrefix("round \(round) writer ") == true)
        }
    }

    @Test("data survives stopping and restarting the whole service", arguments: Backend.allCases)
    func survivesRestart(backend: Backend) throws {
        let service = try LiveService.start(Self.pool, environment: try backend.environment(AccountsTests.environment))
        defer { service.stop() }
        let token = try Self.token(service, "carol")
        for index in 0..<10 {
            let response = try AccountsTests.post(service, "/api/tasks", ["title": "keep \(index)"], token: token)
            #expect(response.status == 201)
        }
        let before = try Self.list(service, token: token)
        try service.restart(Self.pool)
        // The token still verifies (same secret) and the data is all there.
        let after = try Self.list(service, token: token)
        #expect(after.count == 10)
        #expect(
            after.compactMap { $0["title"] as? String }.sorted()
                == before.compactMap { $0["title"] as? String }.sorted())
        let login = try AccountsTests.post(
            service, "/api/auth/login", ["username": "carol", "password": "a good password"])
        #expect(login.status == 200)
    }
}
