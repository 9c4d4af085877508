// The service's database: embedded SQLite (WAL, busy timeout) or PostgreSQL, and its migrations.

import Foundation
import GRDB
import Logging

/// The service's database, one connection per worker process: SQLite by default, or
/// PostgreSQL when `DATABASE_URL` names one (then ``postgres`` is set).
///
/// WAL lets readers run beside the one writer; the busy timeout makes writers from other
/// worker processes wait for the lock instead of failing with "database is locked".
public final class Database: Sendable {
    /// The SQLite file's path, or the PostgreSQL URL without its password.
    public let path: String
    private let sqliteQueue: DatabaseQueue?
    /// The PostgreSQL database, nil for SQLite.
    public let postgres: PostgresDatabase?

    /// The SQLite connection; only SQLite stores use it.
    var queue: DatabaseQueue {
        guard let sqliteQueue else { preconditionFailure("a SQLite store on a PostgreSQL database") }
        return sqliteQueue
    }

    /// How long a writer waits for another process's write lock.
    public static let busyTimeout: TimeInterval = 10

    /// Opens (creating the file and its folder if needed) without migrating. The file and its
    /// `-wal` and `-shm` are owner-only (0600) and folders it creates 0700, whatever the umask:
    /// the database holds the password hashes.
    /// - Parameter logger: Told when an existing file's mode had to be tightened.
    public init(path: String, logger: Logger? = nil) throws {
        self.path = path
        var configuration = Self.configuration(label: "tasks-api")
        configuration.foreignKeysEnabled = true
        // FULL syncs the WAL at every commit: an acknowledged write survives a power loss as
        // well as a killed process, for one fsync per write (README, Durability).
        sqliteQueue = try Self.openQueue(
            path: path, configuration: configuration, synchronous: .full, logger: logger)
        postgres = nil
    }

    /// The PostgreSQL database at `url`; nothing connects until the first statement.
    public init(postgres url: String) throws {
        let database = try PostgresDatabase(url: url)
        path = database.displayURL
        sqliteQueue = nil
        postgres = database
    }

    /// An empty private in-memory database, for an application built only to describe its
    /// routes: no file is opened or created.
    init(inMemory: Void) throws {
        path = ":memory:"
        sqliteQueue = try DatabaseQueue()
        postgres = nil
    }

    /// SQLite's `PRAGMA synchronous` levels the service uses.
    enum Synchronous: String, Sendable {
        /// No fsync at all: a power loss can lose or corrupt the file's recent state.
        case off = "OFF"
        /// In WAL mode, fsync at checkpoints only: a power loss can lose the last commits.
        case normal = "NORMAL"
        /// fsync of the WAL at every commit.
        case full = "FULL"
    }

    /// The settings every connection of the service shares: WAL and the busy timeout.
    static func configuration(label: String) -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.journalMode = .wal
        configuration.label = label
        return configuration
    }

    /// Opens a connection to `path`, creating the file (0600) and its folders (0700) if needed,
    /// at the `synchronous` level asked for.
    ///
    /// The level is set after the open, never in `prepareDatabase`: GRDB's WAL set-up runs
    /// after that hook and sets NORMAL, which would silently replace it.
    static func openQueue(
        path: String, configuration: Configuration, synchronous: Synchronous, logger: Logger? = nil
    ) throws -> DatabaseQueue {
        try PrivateFiles.database(path, logger: logger)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
        }
        return queue
    }

    /// Applies every pending migration. Several processes may start at once (workers under
    /// spawn-fcgi); an exclusive lock file serialises them so each migration runs once.
    public func migrate() throws {
        if let postgres { return try postgres.migrate() }
        let lockPath = path + ".migrate-lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DatabaseOpenError(message: "cannot open \(lockPath)") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw DatabaseOpenError(message: "cannot lock \(lockPath)") }
        }
        defer { flock(fd, LOCK_UN) }
        try Migrations.migrator.migrate(queue)
    }

    /// The identifiers of the applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        if let postgres { return try postgres.appliedMigrations() }
        return try queue.read { db in try Migrations.migrator.appliedMigrations(db) }
    }

    /// A real round trip through the schema, for `/healthz`.
    public func isHealthy() -> Bool {
        if let postgres { return postgres.isHealthy() }
        do {
            let count = try queue.read { db in
                try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM grdb_migrations"))
            }
            return count != nil
        } catch {
            return false
        }
    }
}

struct DatabaseOpenError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
