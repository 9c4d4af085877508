// A real PostgreSQL for the integration tests: the cluster `make test` started, else one started here, and a database per test.

import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The test cluster: `TASKS_API_TEST_POSTGRES_URL` when `make test` (scripts/with-postgres)
/// started one, else a cluster this process starts with `scripts/postgres-server` and stops
/// when it exits.
enum PostgresCluster {
    static let script = Paths.repositoryRoot.appendingPathComponent("scripts/postgres-server").path

    /// The URL of the cluster's `postgres` database.
    static let url: String = {
        if let url = ProcessInfo.processInfo.environment["TASKS_API_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-it-postgres-\(getpid())").path
        guard let (status, output) = try? Processes.run(script, ["start", folder]), status == 0 else {
            fatalError("scripts/postgres-server start failed")
        }
        startedFolder.withLock { $0 = folder }
        atexit {
            if let folder = PostgresCluster.startedFolder.withLock({ $0 }) {
                _ = try? Processes.run(PostgresCluster.script, ["stop", folder])
            }
        }
        return output.split(separator: "\n").last.map(String.init) ?? ""
    }()

    static let startedFolder = Mutex<String?>(nil)

    /// A new empty database of the cluster, its URL.
    static func createDatabase() throws -> String {
        let name = "tasks_it_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let psql = Processes.which("psql") ?? "/usr/bin/psql"
        let (status, output) = try Processes.run(psql, [url, "-q", "-c", "CREATE DATABASE \(name)"])
        guard status == 0 else { throw HTTPClientError(description: "CREATE DATABASE failed: \(output)") }
        let parts = url.split(separator: "?", maxSplits: 1)
        let base = parts[0]
        let slash = base.lastIndex(of: "/")!
        return String(base[...slash]) + name + (parts.count > 1 ? "?" + parts[1] : "")
    }
}

/// The two storage backends, for suites whose behaviour depends on storage.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// `DATABASE_URL` of a fresh database for one test: nil for SQLite, whose file a harness
    /// places in its own folder.
    func databaseURL() throws -> String? {
        switch self {
        case .sqlite: return nil
        case .postgres: return try PostgresCluster.createDatabase()
        }
    }

    /// `environment` with this backend's fresh database.
    func environment(_ environment: [String: String]) throws -> [String: String] {
        var environment = environment
        if let url = try databaseURL() { environment["DATABASE_URL"] = url }
        return environment
    }
}
