// Checking the configuration and the database without writing: migration status, check-config, the describing application.

import Flagon
import Foundation
import GRDB
import TasksAPI
import Testing

@Suite("Configuration check")
struct ConfigurationCheckTests {
    private func config(_ folder: String, _ overrides: [String: String] = [:]) async throws -> Config {
        var values = ["ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1"]
        values.merge(overrides) { $1 }
        return try await Config.load(overrides: values, environment: [:], instancePath: folder + "/instance")
    }

    private func listing(_ folder: String) -> [String] {
        (FileManager.default.subpaths(atPath: folder) ?? []).sorted()
    }

    // MARK: - Migration status

    @Test("a missing database has every migration pending and is not created")
    func missingDatabase() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/sub/app.sqlite"
            let status = try Database.migrationStatus(path: path)
            #expect(!status.exists)
            #expect(status.pending == Database.knownMigrations)
            #expect(!status.isUpToDate)
            #expect(listing(folder).isEmpty)
        }
    }

    @Test("a migrated database is up to date; with its latest record gone, that one is pending")
    func partlyMigrated() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/app.sqlite"
            try Database(path: path).migrate()
            let current = try Database.migrationStatus(path: path, writable: true)
            #expect(current.exists && current.isUpToDate)
            #expect(current.applied == Database.knownMigrations)

            let latest = try #require(Database.knownMigrations.last)
            try DatabaseQueue(path: path).write { db in
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [latest])
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999_from_the_future')")
            }
            let status = try Database.migrationStatus(path: path)
            #expect(status.pending == [latest])
            #expect(status.unknown == ["v999_from_the_future"])
            #expect(status.applied == Array(Database.knownMigrations.dropLast()))
        }
    }

    @Test("inspecting a closed WAL database leaves no -wal or -shm behind; an open one is read through them")
    func noCompanionFiles() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/app.sqlite"
            do {
                let database = try Database(path: path)
                try database.migrate()
            }
            let before = listing(folder)
            #expect(before.contains("app.sqlite"))
            #expect(!before.contains { $0.hasSuffix("-wal") || $0.hasSuffix("-shm") }, "\(before)")
            #expect(try Database.migrationStatus(path: path).isUpToDate)
            #expect(listing(folder) == before)

            // While another connection holds it open, its latest commits are in the WAL.
            let writer = try DatabaseQueue(path: path)
            try writer.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999_in_the_wal')")
            }
            #expect(try Database.migrationStatus(path: path).unknown == ["v999_in_the_wal"])
            try writer.close()
        }
    }

    @Test("a file that is no database, or a folder, is refused naming the path")
    func notADatabase() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/app.sqlite"
            try Data(String(repeating: "plain text ", count: 200).utf8).write(to: URL(fileURLWithPath: path))
            let garbage = #expect(throws: DatabaseInspectionError.self) { try Database.migrationStatus(path: path) }
            #expect(garbage?.description.hasPrefix("database \(path): ") == true, "\(String(describing: garbage))")
            let notAFile = #expect(throws: DatabaseInspectionError.self) { try Database.migrationStatus(path: folder) }
            #expect(notAFile?.description == "database \(folder): not a regular file")
        }
    }

    @Test("a path with URI characters is opened as a file name")
    func uriCharacters() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/a?b#c%20d.sqlite"
            try Database(path: path).migrate()
            #expect(try Database.migrationStatus(path: path).isUpToDate)
        }
    }

    // MARK: - checkConfiguration

    @Test("a development instance checks out without its folder, secret or database being created")
    func developmentWritesNothing() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await checkConfiguration(config: try await config(folder), logger: quietLogger)
            #expect(result.settings.environment == .development)
            #expect(!result.database.exists)
            #expect(listing(folder).isEmpty)
        }
    }

    @Test("production rules apply: a missing secret is the error")
    func productionRefusal() async throws {
        try await withTemporaryDirectory { folder in
            let error = await #expect(throws: ConfigError.self) {
                _ = try await checkConfiguration(
                    config: try await config(folder, ["APP_ENV": "production"]), logger: quietLogger)
            }
            #expect(error?.message == "refusing to start in production: SECRET_KEY is not set")
        }
    }

    @Test("a generated secret that this service did not write is refused, and left as it is")
    func foreignDevelopmentSecret() async throws {
        try await withTemporaryDirectory { folder in
            try FileManager.default.createDirectory(atPath: folder + "/instance", withIntermediateDirectories: false)
            let secret = folder + "/instance/development-secret"
            try Data("short\n".utf8).write(to: URL(fileURLWithPath: secret))
            chmod(secret, 0o644)
            let error = await #expect(throws: ConfigError.self) {
                _ = try await checkConfiguration(config: try await config(folder), logger: quietLogger)
            }
            #expect(error?.message.contains("does not hold a secret this service wrote") == true)
            let mode = try FileManager.default.attributesOfItem(atPath: secret)[.posixPermissions] as? Int
            #expect(mode == 0o644)
        }
    }

    @Test("a malformed password hashing cost is found")
    func hashingCosts() async throws {
        try await withTemporaryDirectory { folder in
            await #expect(throws: ConfigError.self) {
                _ = try await checkConfiguration(
                    config: try await config(folder, ["ARGON2_ITERATIONS": "0"]), logger: quietLogger)
            }
        }
    }

    // MARK: - The describing application

    @Test("describeOnly builds the same routes and document as the served application, opening no file")
    func describeOnly() async throws {
        try await withTemporaryDirectory { folder in
            let described = try await makeApplication(
                config: try await config(folder, ["RATELIMIT_STORAGE_URL": "sqlite:///\(folder)/limits.sqlite"]),
                logger: quietLogger, describeOnly: true)
            #expect(listing(folder).isEmpty)
            let served = try await makeApplication(config: try await config(folder), logger: quietLogger)
            #expect(
                described.app.router.routes.map { "\($0.method) \($0.pattern)" }
                    == served.app.router.routes.map { "\($0.method) \($0.pattern)" })
            #expect(
                described.app.openAPIDocument(title: Application.title, version: Application.version).jsonText
                    == served.app.openAPIDocument(title: Application.title, version: Application.version).jsonText)
        }
    }
}

/// `withTemporaryDirectory` for synchronous bodies.
private func withTemporaryFolder(_ body: (String) throws -> Void) throws {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("tasks-api-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    try body(url.path)
}
