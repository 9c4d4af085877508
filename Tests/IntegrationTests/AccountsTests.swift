// Accounts, tokens and proxy identity through real nginx and four workers; the stored ones on SQLite and on PostgreSQL.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Accounts through nginx", .serialized)
struct AccountsTests {
    /// Cheap Argon2id costs: the tests exercise the flow, not the hash's strength.
    static let environment = [
        "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "RATELIMIT_ENABLED": "false",
    ]

    static func json(_ object: [String: Any]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: object))
    }

    static func post(
        _ service: LiveService, _ path: String, _ body: [String: Any], token: String? = nil
    ) throws
        -> HTTPResult
    {
        try post(service.client, path, body, token: token)
    }

    static func post(
        _ client: HTTPClient, _ path: String, _ body: [String: Any], token: String? = nil
    ) throws
        -> HTTPResult
    {
        var headers = [("Content-Type", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        return try client.send("POST", path, headers: headers, body: json(body))
    }

    /// Creates the admin `root` ("admin password 1") with `tasks-api create-user --admin`, the
    /// password on stdin, as an operator does.
    static func createAdmin(_ service: LiveService) throws -> (status: Int32, output: String) {
        try Processes.run(
            "/bin/sh", ["-c", "printf '%s\\n' 'admin password 1' | \"$0\" create-user root --admin", Paths.binary],
            environment: service.environment)
    }

    @Test(
        "register, login, protected, logout; the revoked token is refused by every worker", arguments: Backend.allCases)
    func flowAndRevocationOnEveryWorker(backend: Backend) throws {
        // One connection per request spreads the requests over every worker; kept connections
        // would send them to the few workers that hold nginx's connections.
        let service = try LiveService.start(
            .master(workers: 4, arguments: []), environment: try backend.environment(Self.environment),
            connectionPerRequest: true)
        defer { service.stop() }

        let registered = try Self.post(
            service, "/api/auth/register", ["username": "alice", "password": "correct horse"])
        #expect(registered.status == 201)
        #expect(registered.json?["username"] as? String == "alice")
        #expect((registered.json?["roles"] as? [Any])?.isEmpty == true)
        #expect(registered.json?["id"] is Int)

        let wrong = try Self.post(service, "/api/auth/login", ["username": "alice", "password": "wrong horse"])
        #expect(wrong.status == 401)
        #expect(wrong.json?["message"] as? String == "Invalid credentials")

        let login = try Self.post(service, "/api/auth/login", ["username": "alice", "password": "correct horse"])
        #expect(login.status == 200)
        let access = try #require(login.json?["access_token"] as? String)
        #expect(login.json?["refresh_token"] is String)
        #expect(login.json?["token_type"] as? String == "Bearer")
        #expect(login.json?["expires_in"] as? Int == 900)

        let protected = try service.client.get("/api/protected", headers: [("Authorization", "Bearer \(access)")])
        #expect(protected.status == 200)
        #expect(protected.json?["msg"] as? String == "Access granted to protected resource")
        #expect(protected.json?["user"] as? String == "alice")

        let logout = try service.client.send(
            "POST", "/api/auth/logout", headers: [("Authorization", "Bearer \(access)")])
        #expect(logout.status == 204)

        // Every worker refuses it from now on: send from several clients at once and check,
        // from the access log, that each of the four workers answered 401 at least once.
        let statuses = Statuses()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<15 {
                let response = try? service.client.get(
                    "/api/protected", headers: [("Authorization", "Bearer \(access)")])
                statuses.append(response?.status ?? 0)
                if let header = response?.header("WWW-Authenticate"), !header.contains("invalid_token") {
                    statuses.append(-1)
                }
            }
        }
        #expect(statuses.all.count == 60 && statuses.all.allSatisfy { $0 == 401 }, "\(Set(statuses.all))")
        let workers = Set(service.workerPIDs())
        let refusedBy = Set(
            service.log().split(separator: "\n").filter {
                $0.contains("path=/api/protected") && $0.contains("status=401")
            }.compactMap { line in
                line.split(separator: " ").first { $0.hasPrefix("pid=") }.flatMap { pid_t($0.dropFirst(4)) }
            })
        #expect(workers.count == 4)
        #expect(workers.isSubset(of: refusedBy), "workers \(workers), refused by \(refusedBy)")
    }

    @Test(
        "a burst of registrations of one name in varying case gives exactly one 201 and 409 for the rest",
        arguments: Backend.allCases)
    func concurrentRegistrations(backend: Backend) throws {
        let service = try LiveService.start(
            .master(workers: 4, arguments: []), environment: try backend.environment(Self.environment))
        defer { service.stop() }
        let statuses = Statuses()
        DispatchQueue.concurrentPerform(iterations: 24) { index in
            let username = ["bob", "Bob", "BOB"][index % 3]
            let response = try? Self.post(
                service, "/api/auth/register", ["username": username, "password": "password-\(index)"])
            statuses.append(response?.status ?? 0)
        }
        let all = statuses.all.sorted()
        #expect(all.filter { $0 == 201 }.count == 1, "\(all)")
        #expect(all.filter { $0 == 409 }.count == 23, "\(all)")
    }

    @Test("with the shipped nginx.conf a client-sent X-Replit-User-Id never reaches the application")
    func forgedIdentityStripped() throws {
        var environment = Self.environment
        environment["TRUST_PROXY_AUTH"] = "true"
        let service = try LiveService.start(.master(workers: 2, arguments: []), environment: environment)
        defer { service.stop() }
        let forged = [("X-Replit-User-Id", "1"), ("X-Replit-User-Name", "root"), ("X-Replit-User-Roles", "admin")]
        let me = try service.client.get("/api/users/me", headers: forged)
        #expect(me.status == 401)
        #expect(me.header("WWW-Authenticate") == "Bearer")
        let admin = try service.client.get("/api/users", headers: forged)
        #expect(admin.status == 401)
    }

    @Test("behind a trusted hop with TRUST_PROXY_AUTH=true, /api/users/me answers auth proxy")
    func trustedProxyIdentity() throws {
        var environment = Self.environment
        environment["TRUST_PROXY_AUTH"] = "true"
        let service = try LiveService.start(
            .master(workers: 2, arguments: []), environment: environment, trustedIdentityHop: true)
        defer { service.stop() }
        let me = try service.client.get(
            "/api/users/me",
            headers: [
                ("X-Replit-User-Id", "4242"), ("X-Replit-User-Name", "carol"), ("X-Replit-User-Roles", "dev, ops"),
            ])
        #expect(me.status == 200)
        #expect(me.json?["auth"] as? String == "proxy")
        #expect(me.json?["username"] as? String == "carol")
        #expect(me.json?["roles"] as? [String] == ["dev", "ops"])

        // The same headers with TRUST_PROXY_AUTH off are ignored.
        let untrusting = try LiveService.start(
            .master(workers: 2, arguments: []), environment: Self.environment, trustedIdentityHop: true)
        defer { untrusting.stop() }
        let ignored = try untrusting.client.get(
            "/api/users/me", headers: [("X-Replit-User-Id", "4242"), ("X-Replit-User-Name", "carol")])
        #expect(ignored.status == 401)
    }

    @Test("create-user --admin reads the password from stdin; the admin lists users", arguments: Backend.allCases)
    func createAdminAndList(backend: Backend) throws {
        let service = try LiveService.start(
            .master(workers: 2, arguments: []), environment: try backend.environment(Self.environment))
        defer { service.stop() }
        let created = try Self.createAdmin(service)
        #expect(created.status == 0, "\(created.output)")
        #expect(created.output.contains("created user root"))
        _ = try Self.post(service, "/api/auth/register", ["username": "dave", "password": "dave's password"])

        let login = try Self.post(service, "/api/auth/login", ["username": "root", "password": "admin password 1"])
        let token = try #require(login.json?["access_token"] as? String)
        let users = try service.client.get("/api/users?per_page=1", headers: [("Authorization", "Bearer \(token)")])
        #expect(users.status == 200)
        #expect(users.json?["total"] as? Int == 2)
        #expect(users.json?["pages"] as? Int == 2)
        #expect(users.header("Link") == "</api/users?per_page=1&page=2>; rel=\"next\"")

        let daveLogin = try Self.post(service, "/api/auth/login", ["username": "dave", "password": "dave's password"])
        let daveToken = try #require(daveLogin.json?["access_token"] as? String)
        let forbidden = try service.client.get("/api/users", headers: [("Authorization", "Bearer \(daveToken)")])
        #expect(forbidden.status == 403)
        #expect(forbidden.json?["error"] as? String == "Forbidden")
    }
}
