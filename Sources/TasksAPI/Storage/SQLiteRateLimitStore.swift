// Rate-limit counters in SQLite, shared by every worker process (and host) using the file.

import Flagon
import GRDB
import Synchronization

/// Fixed-window counters in the `rate_limits` table, one atomic upsert per hit.
///
/// It opens its own connection to the file, so a counter write never waits behind the
/// application's connection in the same process and can use its own durability setting.
/// The key includes the window start, so a hit only ever increments or inserts. Rows of ended
/// windows are deleted every `pruneInterval` hits of this process (and by ``prune(now:)``),
/// after the hit has committed, in batches of at most `pruneBatchSize` rows found through the
/// `window_end` index, each batch its own short transaction: other writers (the application's
/// own requests on the shared file) get the lock between batches, however large the table.
public final class SQLiteRateLimitStore: RateLimitStore {
    /// The table, created by migration `v5_rate_limits` (or by the store in a dedicated file).
    static let createTableSQL = """
        CREATE TABLE IF NOT EXISTS rate_limits (
            key TEXT PRIMARY KEY NOT NULL,
            window_end INTEGER NOT NULL,
            count INTEGER NOT NULL
        ) WITHOUT ROWID
        """
    /// The index pruning seeks in, created by migration `v6_rate_limits_window_end`.
    static let createIndexSQL = "CREATE INDEX IF NOT EXISTS rate_limits_window_end ON rate_limits (window_end)"

    /// Rows deleted per pruning transaction unless configured otherwise.
    public static let defaultPruneBatchSize = 500
    /// Batches one pruning pass runs at most; the rest waits for the next pass, so a hit that
    /// happens to prune a huge backlog is not held for long either.
    public static let defaultMaximumPruneBatches = 20

    let queue: DatabaseQueue
    let pruneInterval: Int
    let pruneBatchSize: Int
    let maximumPruneBatches: Int
    /// The application's connection to the same file, whose open round (a worker's group
    /// commit, ``Database/endRound()``) must end before this connection can take the write
    /// lock; nil for a dedicated counters file.
    let application: Database?
    private let hits = Atomic<Int>(0)

    /// - Parameters:
    ///   - path: The SQLite file.
    ///   - sharesApplicationDatabase: True when `path` is the application's own database, whose
    ///     schema (migrations `v5_rate_limits`, `v6_rate_limits_window_end`) already has the
    ///     table; false for a dedicated counters file, where the store creates the table itself.
    ///   - pruneInterval: Delete expired counters once every this many hits.
    ///   - pruneBatchSize: Rows deleted per pruning transaction.
    ///   - maximumPruneBatches: Transactions one pruning pass runs at most.
    ///   - application: The application's own connection to `path`, when it shares it: its
    ///     open round is committed before each counter write, which would otherwise wait for
    ///     it in vain.
    public init(
        path: String, sharesApplicationDatabase: Bool, pruneInterval: Int = 1000,
        pruneBatchSize: Int = defaultPruneBatchSize, maximumPruneBatches: Int = defaultMaximumPruneBatches,
        application: Database? = nil
    ) throws {
        self.application = application
        // Counters are not worth an fsync per request: losing the last second of counts in a
        // power cut only lets a few requests through again. A dedicated counters file uses
        // OFF (no fsync at all). The application's own file uses NORMAL instead: in WAL mode
        // that also skips the fsync per commit (it syncs at checkpoints only), but OFF on a
        // connection that may run a checkpoint of the shared WAL could corrupt the
        // application's data on power loss, not just lose counts.
        queue = try Database.openQueue(
            path: path, configuration: Database.configuration(label: "tasks-api-rate-limits"),
            synchronous: sharesApplicationDatabase ? .normal : .off)
        self.pruneInterval = max(1, pruneInterval)
        self.pruneBatchSize = max(1, pruneBatchSize)
        self.maximumPruneBatches = max(1, maximumPruneBatches)
        if !sharesApplicationDatabase {
            try queue.write { db in
                try db.execute(sql: Self.createTableSQL)
                try db.execute(sql: Self.createIndexSQL)
            }
        }
    }

    public func hit(key: String, window: Int64, now: Int64) throws -> RateLimitHit {
        let windowEnd = now - ((now % window) + window) % window + window
        let prune = hits.wrappingAdd(1, ordering: .relaxed).newValue % pruneInterval == 0
        var result: RateLimitHit?
        application?.endRound()
        try queue.inTransaction(.immediate) { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO rate_limits (key, window_end, count) VALUES (?, ?, 1)
                    ON CONFLICT(key) DO UPDATE SET count = count + 1
                    RETURNING count, window_end
                    """)
            if let row = try Row.fetchOne(statement, arguments: [key, windowEnd]) {
                result = RateLimitHit(count: row[0], windowEnd: row[1])
            }
            return .commit
        }
        guard let result else { throw DatabaseOpenError(message: "rate limit upsert returned no row") }
        // After the hit's own commit: the count is already answered, and pruning can never
        // widen the hit's transaction.
        if prune { try self.prune(now: now) }
        return result
    }

    /// Deletes counters whose window has ended at `now`, in batches of at most
    /// `pruneBatchSize` rows, each in its own transaction, until none is left or
    /// `maximumPruneBatches` batches have run.
    /// - Returns: The number of rows each batch deleted, in order.
    @discardableResult
    public func prune(now: Int64) throws -> [Int] {
        var batches: [Int] = []
        while batches.count < maximumPruneBatches {
            var deleted = 0
            application?.endRound()
            try queue.inTransaction(.immediate) { db in
                let statement = try db.cachedStatement(
                    sql: """
                        DELETE FROM rate_limits WHERE key IN (
                            SELECT key FROM rate_limits WHERE window_end <= ? LIMIT ?
                        )
                        """)
                try statement.execute(arguments: [now, pruneBatchSize])
                deleted = db.changesCount
                return .commit
            }
            guard deleted > 0 else { break }
            batches.append(deleted)
            if deleted < pruneBatchSize { break }
        }
        return batches
    }

    /// The count of `key` if its window has not ended at `now`, without adding a hit.
    public func count(key: String, now: Int64) throws -> Int? {
        try queue.read { db in
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count FROM rate_limits WHERE key = ? AND window_end > ?"),
                arguments: [key, now])
        }
    }

    /// The number of counter rows, expired ones included.
    public func rowCount() throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM rate_limits") ?? 0 }
    }
}
