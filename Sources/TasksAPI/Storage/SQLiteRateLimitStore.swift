// Rate-limit counters in SQLite, shared by every worker process (and host) using the file.

import Flagon
import GRDB
import Synchronization

/// Fixed-window counters in the `rate_limits` table, one atomic upsert per hit.
///
/// It opens its own connection to the file, so a counter write never waits behind the
/// application's connection in the same process and can use its own durability setting.
/// The key includes the window start, so a hit only ever increments or inserts; rows of ended
/// windows are deleted every `pruneInterval` hits of this process (and by ``prune(now:)``),
/// a scan of a table as small as clients x routes, cheaper than an index kept on every hit.
public final class SQLiteRateLimitStore: RateLimitStore {
    /// The table, created by migration `v5_rate_limits` (or by the store in a dedicated file).
    static let createTableSQL = """
        CREATE TABLE IF NOT EXISTS rate_limits (
            key TEXT PRIMARY KEY NOT NULL,
            window_end INTEGER NOT NULL,
            count INTEGER NOT NULL
        ) WITHOUT ROWID
        """

    let queue: DatabaseQueue
    let pruneInterval: Int
    private let hits = Atomic<Int>(0)

    /// - Parameters:
    ///   - path: The SQLite file.
    ///   - sharesApplicationDatabase: True when `path` is the application's own database, whose
    ///     schema (migration `v5_rate_limits`) already has the table; false for a dedicated
    ///     counters file, where the store creates the table itself.
    ///   - pruneInterval: Delete expired counters once every this many hits.
    public init(path: String, sharesApplicationDatabase: Bool, pruneInterval: Int = 1000) throws {
        var configuration = Database.configuration(label: "tasks-api-rate-limits")
        // Counters are not worth an fsync per request: losing the last second of counts in a
        // power cut only lets a few requests through again. A dedicated counters file uses
        // OFF (no fsync at all). The application's own file uses NORMAL instead: in WAL mode
        // that also skips the fsync per commit (it syncs at checkpoints only), but OFF on a
        // connection that may run a checkpoint of the shared WAL could corrupt the
        // application's data on power loss, not just lose counts.
        let synchronous = sharesApplicationDatabase ? "NORMAL" : "OFF"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        queue = try Database.openQueue(path: path, configuration: configuration)
        self.pruneInterval = max(1, pruneInterval)
        if !sharesApplicationDatabase {
            try queue.write { db in
                try db.execute(sql: Self.createTableSQL)
            }
        }
    }

    public func hit(key: String, window: Int64, now: Int64) throws -> RateLimitHit {
        let windowEnd = now - ((now % window) + window) % window + window
        let prune = hits.wrappingAdd(1, ordering: .relaxed).newValue % pruneInterval == 0
        var result: RateLimitHit?
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
            if prune { try Self.deleteExpired(db, now: now) }
            return .commit
        }
        guard let result else { throw DatabaseOpenError(message: "rate limit upsert returned no row") }
        return result
    }

    /// Deletes every counter whose window has ended.
    public func prune(now: Int64) throws {
        try queue.inTransaction(.immediate) { db in
            try Self.deleteExpired(db, now: now)
            return .commit
        }
    }

    /// The number of counter rows, expired ones included.
    public func rowCount() throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM rate_limits") ?? 0 }
    }

    private static func deleteExpired(_ db: GRDB.Database, now: Int64) throws {
        try db.execute(sql: "DELETE FROM rate_limits WHERE window_end <= ?", arguments: [now])
    }
}
