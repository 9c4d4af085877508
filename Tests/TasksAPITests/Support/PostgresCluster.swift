// A real PostgreSQL for the tests: the cluster `make test` started, else one started here, a database per test, and the backends.

import Foundation
import GRDB
import Synchronization
import Testing

@testable import TasksAPI

/// The test cluster: `TASKS_API_TEST_POSTGRES_URL` when `make test` (scripts/with-postgres)
/// started one, else a cluster this process starts with `scripts/postgres-server` and stops
/// when it exits, so `swift test --filter` works alone.
enum PostgresCluster {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The URL of the cluster's `postgres` database.
    static let url: String = {
        if let url = ProcessInfo.processInfo.environment["TASKS_API_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-postgres-\(getpid())").path
        let url = runScript(["start", folder])
        startedFolder.withLock { $0 = folder }
        atexit {
            if let folder = PostgresCluster.startedFolder.withLock({ $0 }) {
                _ = PostgresCluster.runScript(["stop", folder])
            }
        }
        return url
    }()

    static let startedFolder = Mutex<String?>(nil)

    @discardableResult
    static func runScript(_ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = repositoryRoot.appendingPathComponent("scripts/postgres-server")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch { fatalError("cannot run scripts/postgres-server: \(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { fatalError("scripts/postgres-server \(arguments[0]) failed") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new empty database of the cluster, its URL.
    static func createDatabase() throws -> String {
        let name = "tasks_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let connection = try PostgresConnection(url: url)
        // An identifier cannot be a parameter; this one is made of hex digits only.
        try connection.command("CREATE DATABASE \(name)")
        return url(database: name)
    }

    /// The cluster's URL with another database name.
    static func url(database name: String) -> String {
        let parts = url.split(separator: "?", maxSplits: 1)
        let base = parts[0]
        let slash = base.lastIndex(of: "/")!
        return String(base[...slash]) + name + (parts.count > 1 ? "?" + parts[1] : "")
    }
}

/// The two storage backends, for suites that run against both.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// `DATABASE_URL` for a fresh database of this backend in `folder`.
    func databaseURL(folder: String) throws -> String {
        switch self {
        case .sqlite: return "sqlite:///" + folder + "/app.sqlite"
        case .postgres: return try PostgresCluster.createDatabase()
        }
    }

    /// A fresh database of this backend, migrated.
    func migratedDatabase(folder: String) throws -> TasksAPI.Database {
        let database: TasksAPI.Database
        switch self {
        case .sqlite: database = try TasksAPI.Database(path: folder + "/app.sqlite")
        case .postgres: database = try TasksAPI.Database(postgres: try PostgresCluster.createDatabase())
        }
        try database.migrate()
        return database
    }
}

/// A second connection to the same database, as another worker process (or host) has.
func otherConnection(to database: TasksAPI.Database) throws -> TasksAPI.Database {
    if let postgres = database.postgres { return try TasksAPI.Database(postgres: postgres.url) }
    return try TasksAPI.Database(path: database.path)
}

/// Runs `sql` (placeholders `?`) on its own connection to `database`, past the stores: tests set
/// what the API cannot, such as timestamps in the past.
func executeDirectly(_ database: TasksAPI.Database, _ sql: String, _ arguments: [String]) throws {
    if let postgres = database.postgres {
        var number = 0
        let numbered = sql.split(separator: "?", omittingEmptySubsequences: false).reduce(into: "") { text, part in
            if number > 0 { text += "$\(number)" }
            text += part
            number += 1
        }
        try TasksAPI.Database(postgres: postgres.url).postgres!.withConnection { connection in
            _ = try connection.query(numbered, arguments.map(SQLValue.text))
        }
        return
    }
    try DatabaseQueue(path: database.path).write { db in
        try db.execute(sql: sql, arguments: StatementArguments(arguments))
    }
}
