// Rate-limit counters in PostgreSQL, shared by every worker of every host using the database.

import Flagon
import Synchronization

/// Fixed-window counters in the unlogged `rate_limits` table, one atomic upsert per hit, so a
/// limit holds across hosts. Rows of ended windows are deleted every `pruneInterval` hits of
/// this process, after the hit, in batches of at most `pruneBatchSize` rows.
public final class PostgresRateLimitStore: CountingRateLimitStore {
    let database: PostgresDatabase
    let pruneInterval: Int
    let pruneBatchSize: Int
    private let hits = Atomic<Int>(0)

    public init(database: PostgresDatabase, pruneInterval: Int = 1000, pruneBatchSize: Int = 500) {
        self.database = database
        self.pruneInterval = max(1, pruneInterval)
        self.pruneBatchSize = max(1, pruneBatchSize)
    }

    public func hit(key: String, window: Int64, now: Int64) throws -> RateLimitHit {
        let windowEnd = now - ((now % window) + window) % window + window
        let prune = hits.wrappingAdd(1, ordering: .relaxed).newValue % pruneInterval == 0
        // One statement, not a transaction: a hit counted twice after a lost connection only
        // counts one request twice.
        let row = try database.withConnection { connection in
            try connection.query(
                """
                INSERT INTO rate_limits (key, window_end, count) VALUES ($1, $2, 1)
                ON CONFLICT (key) DO UPDATE SET count = rate_limits.count + 1
                RETURNING count, window_end
                """, [.text(key), .integer(windowEnd)]
            ).first
        }
        guard let row, let count = row.int64("count"), let end = row.int64("window_end") else {
            throw PostgresError(sqlState: nil, message: "rate limit upsert returned no row")
        }
        if prune { try self.prune(now: now) }
        return RateLimitHit(count: Int(count), windowEnd: end)
    }

    /// Deletes one batch of counters whose window has ended at `now`.
    /// - Returns: how many rows it deleted.
    @discardableResult
    public func prune(now: Int64) throws -> Int {
        try database.withConnection { connection in
            try connection.execute(
                "DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits WHERE window_end <= $1 LIMIT $2)",
                [.integer(now), .integer(Int64(pruneBatchSize))])
        }
    }

    public func count(key: String, now: Int64) throws -> Int? {
        try database.withConnection { connection in
            try connection.query(
                "SELECT count FROM rate_limits WHERE key = $1 AND window_end > $2", [.text(key), .integer(now)]
            ).first?.int64("count").map(Int.init)
        }
    }
}

/// A rate-limit store that can also tell a key's live count without adding a hit: what the
/// shared-memory store needs of the database it counts overflowing keys in.
public protocol CountingRateLimitStore: RateLimitStore {
    /// The count of `key` if its window has not ended at `now`.
    func count(key: String, now: Int64) throws -> Int?
}

extension SQLiteRateLimitStore: CountingRateLimitStore {}
