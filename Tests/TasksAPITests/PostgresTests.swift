// PostgreSQL selected by DATABASE_URL: settings, migrations under the advisory lock, reconnection, revocation, the app on it.

import Flagon
import Foundation
import Testing

@testable import TasksAPI

@Suite("PostgreSQL")
struct PostgresTests {
    @Test("postgres:// and postgresql:// select PostgreSQL, whose default rate-limit store is the database")
    func settings() async throws {
        for url in ["postgres://tasks:pw@db.internal:5433/tasks", "postgresql:///tasks?host=/run/postgresql"] {
            let settings = try await loadSettings(["DATABASE_URL": url])
            #expect(settings.database == .postgres(url: url))
            #expect(settings.rateLimitStorage == .database)
        }
        let shm = try await loadSettings(["DATABASE_URL": "postgres:///tasks", "RATELIMIT_STORAGE_URL": "shm://"])
        #expect(shm.rateLimitStorage == .sharedMemory)
        #expect(try await loadSettings([:]).rateLimitStorage == .sharedMemory)
        let error = try #require(try await settingsError(["DATABASE_URL": "postgresql://u:s3cret@h/d?nosuch=1"]))
        #expect(!error.description.contains("s3cret"))
    }

    @Test("the password shows neither in the displayed URL nor in a connection error")
    func passwordNeverShown() throws {
        let database = try TasksAPI.Database(postgres: "postgresql://tasks:s3cret@/db?host=/nonexistent-folder")
        #expect(database.path == "postgresql://tasks@/db?host=/nonexistent-folder")
        #expect(!database.isHealthy())
        do {
            try database.migrate()
            Issue.record("migrated without a server")
        } catch {
            #expect(!"\(error)".contains("s3cret"))
        }
    }

    @Test("several migrators starting at once apply each migration exactly once")
    func concurrentMigrations() async throws {
        let url = try PostgresCluster.createDatabase()
        let databases = try (0..<5).map { _ in try TasksAPI.Database(postgres: url) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for database in databases { group.addTask { try database.migrate() } }
            try await group.waitForAll()
        }
        let postgres = try #require(databases[0].postgres)
        let rows = try postgres.withConnection { connection in
            try connection.query("SELECT identifier FROM schema_migrations ORDER BY identifier")
        }
        #expect(rows.compactMap { $0.string("identifier") } == PostgresMigrations.all.map(\.identifier))
        #expect(try databases[1].appliedMigrations() == PostgresMigrations.all.map(\.identifier))
        #expect(try postgres.migrationStatus().isUpToDate)
        let created = try postgres.withConnection { try $0.query("SELECT count(*) FROM service_info") }
        #expect(created.first?.first == .integer(1))
    }

    @Test("migrate --check's status of a database never migrated lists every migration as pending")
    func statusOfEmptyDatabase() throws {
        let status = try PostgresDatabase(url: try PostgresCluster.createDatabase()).migrationStatus()
        #expect(status.applied.isEmpty)
        #expect(status.pending == PostgresMigrations.all.map(\.identifier))
    }

    @Test("a connection the server closed between requests is reopened once, transparently")
    func reconnects() throws {
        let database = try TasksAPI.Database(postgres: try PostgresCluster.createDatabase())
        try database.migrate()
        let accounts = PostgresAccountStore(database: try #require(database.postgres))
        _ = try accounts.createUser(username: "carol", passwordHash: "x", roles: [])
        let killer = try PostgresConnection(url: try #require(database.postgres).url)
        let killed = try killer.query(
            """
            SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            """)
        #expect(killed.count == 1)
        #expect(try accounts.user(named: "carol") != nil)
        _ = try accounts.createUser(username: "dave", passwordHash: "x", roles: [])
        #expect(try accounts.users(offset: 0, limit: 10).total == 2)
    }

    @Test("a revocation through one host's connection is seen by another's cached answers")
    func revocationAcrossHosts() throws {
        let url = try PostgresCluster.createDatabase()
        let first = try TasksAPI.Database(postgres: url)
        try first.migrate()
        let second = try TasksAPI.Database(postgres: url)
        let here = GenerationRevocations(
            PostgresAccountStore(database: try #require(first.postgres)), generation: .database(first.postgres!))
        let there = GenerationRevocations(
            PostgresAccountStore(database: try #require(second.postgres)), generation: .database(second.postgres!))
        #expect(try !here.isRevoked(jti: "j1"))
        #expect(try !here.isRevoked(jti: "j1"))
        try there.revoke(jti: "j1", expiresAt: 2_000_000_000, now: 1_000)
        #expect(try here.isRevoked(jti: "j1"))
        #expect(try first.postgres!.revocationGeneration() == 1)
    }

    @Test("the whole application on PostgreSQL: accounts, tasks with If-Match, logout, health")
    func application() async throws {
        let url = try PostgresCluster.createDatabase()
        try await AccountsFixture.with(["DATABASE_URL": url]) { fixture in
            #expect(fixture.application.database.postgres != nil)
            #expect(await fixture.client.get("/healthz").status == 200)
            #expect(await fixture.register("Erin").status == 201)
            #expect(await fixture.register("erin").status == 409)
            let tokens = try await fixture.tokens(for: "Erin")
            let auth: HTTPHeaders = ["Authorization": "Bearer \(tokens.access)"]
            let created = await fixture.client.send(.post, "/api/tasks", json: ["title": "write"], headers: auth)
            #expect(created.status == 201)
            let etag = try #require(created.headers["ETag"])
            var conditional = auth
            conditional.replaceOrAdd(name: "If-Match", value: etag)
            let patched = await fixture.client.send(
                .patch, "/api/tasks/1", json: ["completed": true], headers: conditional)
            #expect(patched.status == 200)
            #expect(patched["completed"] == .bool(true))
            let stale = await fixture.client.send(.patch, "/api/tasks/1", json: ["priority": 1], headers: conditional)
            #expect(stale.status == 412)
            #expect(await fixture.post("/api/auth/logout", token: tokens.access).status == 204)
            #expect(await fixture.get("/api/tasks", token: tokens.access).status == 401)
        }
    }
}
