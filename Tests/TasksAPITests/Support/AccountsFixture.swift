// An application on a fresh SQLite or PostgreSQL database with cheap Argon2id costs, and helpers to call it as a user.

import Flagon
import Foundation
import TasksAPI
import Testing

/// An application on a fresh database with cheap Argon2id costs, and helpers to call it.
struct AccountsFixture {
    let client: TestClient
    let application: Application

    /// - Parameter backend: PostgreSQL gets a fresh database of its own, so that cases running
    ///   in parallel never see each other's rows.
    static func with<T>(
        _ overrides: [String: String] = [:], on backend: Backend = .sqlite,
        _ body: (AccountsFixture) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { folder in
            var values = ["ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "INSTANCE_PATH": folder]
            if backend == .postgres { values["DATABASE_URL"] = try backend.databaseURL(folder: folder) }
            values.merge(overrides) { $1 }
            let config = try await Config.load(overrides: values, environment: [:], instancePath: folder)
            let application = try await makeApplication(config: config, logger: quietLogger)
            return try await body(AccountsFixture(client: TestClient(app: application.app), application: application))
        }
    }

    func register(_ username: String, _ password: String = "a good password") async -> TestResponse {
        await client.send(
            .post, "/api/auth/register", json: ["username": .string(username), "password": .string(password)])
    }

    func login(_ username: String, _ password: String = "a good password") async -> TestResponse {
        await client.send(
            .post, "/api/auth/login", json: ["username": .string(username), "password": .string(password)])
    }

    /// Registers and logs in; returns (access, refresh).
    func tokens(for username: String) async throws -> (access: String, refresh: String) {
        _ = await register(username)
        let response = await login(username)
        return (
            try #require(response["access_token"]?.stringValue), try #require(response["refresh_token"]?.stringValue)
        )
    }

    func get(_ target: String, token: String) async -> TestResponse {
        await client.get(target, headers: ["Authorization": "Bearer \(token)"])
    }

    func post(_ target: String, token: String) async -> TestResponse {
        await client.request(.post, target, headers: ["Authorization": "Bearer \(token)"])
    }
}
