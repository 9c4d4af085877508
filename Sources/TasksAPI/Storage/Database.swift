// The service's database: embedded SQLite (WAL, busy timeout) or PostgreSQL, and its migrations.

import Flagon
import Foundation
import GRDB
import GRDBSQLite
import Logging
import Synchronization

/// The service's database, one connection per worker process: SQLite by default, or
/// PostgreSQL when `DATABASE_URL` names one (then ``postgres`` is set).
///
/// WAL lets readers run beside the one writer; the busy timeout makes writers from other
/// worker processes wait for the lock instead of failing with "database is locked".
public final class Database: Sendable {
    /// The SQLite file's path, or the PostgreSQL URL without its password.
    public let path: String
    private let sqliteQueue: DatabaseQueue?
    /// When a SQLite write is durable (`SQLITE_SYNCHRONOUS`).
    public let durability: SQLiteDurability
    /// The PostgreSQL database, nil for SQLite.
    public let postgres: PostgresDatabase?
    /// Serialises this service's writers across processes; nil without its file, or with
    /// PostgreSQL.
    private let writeLock: WriteLock?
    /// Whether the connection's WAL was synced once on the connection's own thread: SQLite's
    /// first sync of a WAL file also syncs its folder, and changes the file's flags to say so.
    private let walSyncedOnce = Atomic<Bool>(false)
    /// The round's transaction this connection keeps open (``writeInRound(_:_:)``), if any.
    private let round = Mutex<Round?>(nil)
    /// Rounds opened so far: the next one's number.
    private let rounds = Atomic<UInt64>(0)

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
    /// - Parameter durability: `.full` (the default) answers a write only once its commit is
    ///   on disk; `.normal` once it is in the WAL, which a killed process cannot lose.
    public init(path: String, durability: SQLiteDurability = .full, logger: Logger? = nil) throws {
        self.path = path
        self.durability = durability
        var configuration = Self.configuration(label: "tasks-api")
        configuration.foreignKeysEnabled = true
        // A round's transaction stays open between accesses (writeInRound).
        configuration.allowsUnsafeTransactions = true
        // NORMAL commits without an fsync, so the write lock is never held across one; with
        // `.full`, ``write(_:)`` syncs the WAL after the commit and before the answer
        // (README, Durability).
        sqliteQueue = try Self.openQueue(
            path: path, configuration: configuration, synchronous: .normal, logger: logger)
        writeLock = WriteLock(databasePath: path)
        postgres = nil
    }

    /// The PostgreSQL database at `url`; nothing connects until the first statement.
    public init(postgres url: String) throws {
        let database = try PostgresDatabase(url: url)
        path = database.displayURL
        sqliteQueue = nil
        durability = .full
        postgres = database
        writeLock = nil
    }

    /// An empty private in-memory database, for an application built only to describe its
    /// routes: no file is opened or created.
    init(inMemory: Void) throws {
        path = ":memory:"
        sqliteQueue = try DatabaseQueue()
        durability = .normal
        postgres = nil
        writeLock = nil
    }

    /// Runs `updates` in one write transaction of the SQLite connection (GRDB's `write`) and,
    /// with ``SQLiteDurability/full``, makes sure nothing answers the write before its commit
    /// is on disk: it syncs before returning, or, inside a ``WriteSync/batch`` (a FastCGI
    /// worker's), leaves the sync to the batch, which runs it before any answer of the round
    /// of requests the worker served.
    ///
    /// The connection commits at `synchronous = NORMAL`: SQLite appends the transaction to the
    /// WAL and releases the write lock without an fsync. The WAL is then synced on this
    /// connection's own WAL file handle, with no lock held. Another worker can commit while
    /// this one waits for the disk, and one fsync covers every commit written before it, so
    /// concurrent writers share fsyncs (group commit) instead of queueing behind each other's,
    /// as they do with `synchronous = FULL`, which syncs inside the lock.
    ///
    /// It is as durable as FULL. The sync covers every WAL frame written before it, this
    /// commit's included. A checkpoint resets the WAL only after the frames it copied are
    /// synced into the database file (NORMAL keeps the checkpoint's syncs), so frames this
    /// commit wrote that are no longer in the WAL are already on disk.
    ///
    /// - Throws: the transaction's error; or ``DatabaseSyncError`` when the sync fails: the
    ///   write is committed but may not survive a power loss, so the request fails with a 500.
    ///
    /// `BEGIN IMMEDIATE` and `COMMIT` come from the statement cache, as every other statement
    /// of a request does: GRDB's `inTransaction` prepares both again for each transaction
    /// (about 10,000 instructions per write).
    ///
    /// Writers of other processes are waited for on ``WriteLock``, in the kernel, rather than
    /// in SQLite's busy handler.
    ///
    /// A batch may run the sync on another thread (a worker's sync thread) while this
    /// connection goes on. SQLite's unix VFS syncs a WAL with `fdatasync` on the descriptor it
    /// holds for as long as the connection is open; only its first sync, which also syncs the
    /// folder, changes the file's state, and it runs here, on the connection's thread.
    ///
    /// With `joiningRound`, inside a batch, the write joins the transaction this connection
    /// keeps open for the worker's round of requests (``writeInRound(_:_:)``) instead of
    /// committing alone. Every other access of the connection (a read, a write without
    /// `joiningRound`) ends the open round first.
    func write<T>(joiningRound: Bool = false, _ updates: (GRDB.Database) throws -> T) throws -> T {
        // Read here, in the request's task: GRDB may run the closure on its queue's thread.
        let batch = WriteSync.batch
        if joiningRound, let batch { return try writeInRound(batch, updates) }
        endRound()
        return try queue.writeWithoutTransaction { db in
            try begin(db)
            defer { writeLock?.unlock() }
            let value: T
            do {
                value = try updates(db)
                try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            } catch {
                // As GRDB's inTransaction does: roll back and throw the first error. SQLite
                // may already have rolled back (SQLITE_FULL, IOERR, BUSY, NOMEM); then there
                // is no transaction left to end.
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
            try syncCommitted(db, batch: batch)
            return value
        }
    }

    /// Runs a read on the connection, after ending the round it keeps open, if any: a read
    /// sees only committed data, and its answer may leave before the round's.
    func read<T>(_ value: (GRDB.Database) throws -> T) throws -> T {
        endRound()
        return try queue.read(value)
    }

    /// Runs `updates` in the write transaction kept open for `batch`'s round, opening it if
    /// none is: group commit within a worker. A round of N task inserts costs one `BEGIN`,
    /// one `COMMIT` and one set of WAL frames (the pages they share, written once) instead of
    /// N, and the pages another worker's commit changed are read again once per round.
    ///
    /// Each request's statements after the round's first run inside their own savepoint: one
    /// that fails rolls back its own changes only, and the request fails as it would alone. The
    /// first needs none: if it fails, the transaction holds nothing else, and is rolled back.
    /// Nothing of the round is visible to other connections, or answered, before the round
    /// commits: the worker holds every answer of a request that joined it until the commit and
    /// then the sync
    /// (``WriteSync/Batch/join(round:)``). If SQLite rolls the whole transaction back
    /// (SQLITE_FULL, IOERR, NOMEM), or the commit fails, the round is reported failed and
    /// every request that joined it is answered 500: no write that was answered is lost.
    ///
    /// The round holds ``WriteLock`` and SQLite's write lock from its first write until the
    /// worker ends it, after the turn's last request (or at a read or a write that cannot
    /// join): other workers' writes wait for it, for at most one turn of requests.
    private func writeInRound<T>(_ batch: WriteSync.Batch, _ updates: (GRDB.Database) throws -> T) throws -> T {
        try queue.writeWithoutTransaction { db in
            let number: UInt64
            // The round's first write needs no savepoint: if it fails, the whole transaction,
            // which holds nothing else, is rolled back and the round ends.
            let first: Bool
            if let open = round.withLock({ $0?.number }) {
                number = open
                first = false
            } else {
                try begin(db)
                number = rounds.add(1, ordering: .relaxed).newValue
                round.withLock { $0 = Round(number: number, batch: batch) }
                batch.openedRound { [self] in endRound() }
                first = true
            }
            let value: T
            do {
                if !first { try db.cachedStatement(sql: "SAVEPOINT request").execute() }
                value = try updates(db)
                if !first { try db.cachedStatement(sql: "RELEASE SAVEPOINT request").execute() }
            } catch {
                if first {
                    if db.isInsideTransaction { try? db.rollback() }
                    closeRound(failure: nil)
                } else if db.isInsideTransaction {
                    do {
                        try db.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT request").execute()
                        try db.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
                    } catch {
                        try? db.rollback()
                        closeRound(failure: error)
                    }
                } else {
                    // SQLite rolled the whole transaction back: the round's earlier writes
                    // are gone with it.
                    closeRound(failure: error)
                }
                throw error
            }
            batch.join(round: number)
            return value
        }
    }

    /// Commits the round kept open, if any. Its sync goes to its batch
    /// (``syncCommitted(_:batch:holdsRequest:)``); a failed commit is reported to the batch
    /// (``WriteSync/Batch/roundFailed(_:error:)``), and a failed first sync is kept as a sync
    /// that fails, so that the round's answers become 500s as for any failed sync.
    func endRound() {
        guard round.withLock({ $0 != nil }) else { return }
        queue.writeWithoutTransaction { db in
            guard let open = takeRound() else { return }
            defer { writeLock?.unlock() }
            do {
                try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            } catch {
                if db.isInsideTransaction { try? db.rollback() }
                open.batch.roundFailed(open.number, error: error)
                return
            }
            do {
                try syncCommitted(db, batch: open.batch, holdsRequest: false)
            } catch {
                // Committed but maybe not durable: the answers take the failed-sync path.
                open.batch.keep({ throw error }, holdsRequest: false)
            }
        }
    }

    /// Takes the write lock, then SQLite's (`BEGIN IMMEDIATE`); lets go of the first if the
    /// second fails.
    private func begin(_ db: GRDB.Database) throws {
        writeLock?.lock()
        do {
            try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        } catch {
            if db.isInsideTransaction { try? db.rollback() }
            writeLock?.unlock()
            throw error
        }
    }

    /// Removes the open round, if any, and returns it; its locks are still held.
    private func takeRound() -> Round? {
        round.withLock { round in
            defer { round = nil }
            return round
        }
    }

    /// Ends the open round, whose transaction is already rolled back, and lets go of the write
    /// lock; with a `failure`, reports it to the round's batch: writes had joined it.
    private func closeRound(failure: (any Error)?) {
        guard let open = takeRound() else { return }
        writeLock?.unlock()
        if let failure { open.batch.roundFailed(open.number, error: failure) }
    }

    /// With ``SQLiteDurability/full``, makes the commit just made durable: syncs the WAL now,
    /// or keeps the sync for `batch`.
    private func syncCommitted(_ db: GRDB.Database, batch: WriteSync.Batch?, holdsRequest: Bool = true) throws {
        guard durability == .full else { return }
        let file = try WALFile(db)
        if let batch, walSyncedOnce.load(ordering: .acquiring) {
            batch.keep({ try file.sync() }, holdsRequest: holdsRequest)
        } else {
            try file.sync()
            walSyncedOnce.store(true, ordering: .releasing)
        }
    }

    /// The write transaction kept open for a worker's round, and the batch its end is told to.
    private struct Round: Sendable {
        let number: UInt64
        let batch: WriteSync.Batch
    }

    /// The WAL of a connection, as SQLite's own file handle
    /// (`SQLITE_FCNTL_JOURNAL_POINTER`): the file the connection wrote, even if the path was
    /// replaced. It stays open as long as the connection.
    struct WALFile: @unchecked Sendable {
        let file: UnsafeMutablePointer<sqlite3_file>
        let xSync: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32) -> Int32

        init(_ db: GRDB.Database) throws {
            var file: UnsafeMutablePointer<sqlite3_file>?
            let found = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file)
            guard found == SQLITE_OK, let file, let sync = file.pointee.pMethods?.pointee.xSync else {
                throw DatabaseSyncError(code: found)
            }
            self.file = file
            xSync = sync
        }

        /// fsyncs the WAL, and its folder too the first time after the WAL was created, as
        /// SQLite's own syncs do.
        func sync() throws {
            let synced = xSync(file, SQLITE_SYNC_NORMAL)
            guard synced == SQLITE_OK else { throw DatabaseSyncError(code: synced) }
        }
    }

    /// SQLite's busy handler for the service's connections: waits `lockWait(tries:)` and
    /// tries again, for ``busyTimeout`` in all.
    ///
    /// Workers are separate processes, so a writer that finds the write lock taken can only
    /// wait and retry. SQLite's own busy timeout sleeps 1, 2, 5, 10, 15 ms… from the first
    /// conflict: a writer that meets another's commit, which holds the lock for a tenth of a
    /// millisecond, would sleep ten times that, and two workers writing at once would spend
    /// most of their time asleep. These steps start at 20 µs and double up to 1 ms.
    static func waitForLock(tries: Int) -> Bool {
        guard lockWaited(tries: tries) < Int(busyTimeout * 1_000_000) else { return false }
        usleep(UInt32(lockWait(tries: tries)))
        return true
    }

    /// Microseconds of the wait after `tries` failed tries: 20, 40, 80 … 640, then 1000.
    static func lockWait(tries: Int) -> Int {
        tries < 6 ? 20 << max(0, tries) : 1000
    }

    /// Microseconds waited in all before try number `tries`.
    static func lockWaited(tries: Int) -> Int {
        tries <= 6 ? 20 * ((1 << max(0, tries)) - 1) : 1260 + (tries - 6) * 1000
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

    /// The settings every connection of the service shares: WAL and the wait for a lock.
    static func configuration(label: String) -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .callback { tries in waitForLock(tries: tries) }
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
        return try read { db in try Migrations.migrator.appliedMigrations(db) }
    }

    /// A real round trip through the schema, for `/healthz`.
    public func isHealthy() -> Bool {
        if let postgres { return postgres.isHealthy() }
        do {
            let count = try read { db in
                try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM grdb_migrations"))
            }
            return count != nil
        } catch {
            return false
        }
    }
}

/// When an acknowledged SQLite write is safe, from `SQLITE_SYNCHRONOUS`.
public enum SQLiteDurability: String, Sendable, CaseIterable {
    /// On disk before the answer: survives a killed process and a power loss (the default).
    case full
    /// In the WAL before the answer: survives a killed process; a power loss or kernel crash
    /// may lose the writes since the last checkpoint. No fsync per write.
    case normal
}

/// The WAL could not be synced after a commit.
struct DatabaseSyncError: Error, CustomStringConvertible {
    let code: Int32
    var description: String { "cannot sync the SQLite WAL (result code \(code))" }
}

struct DatabaseOpenError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
