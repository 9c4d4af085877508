// The service's database connections: journal mode and durability level of each.

import GRDB
import Testing

@testable import TasksAPI

@Suite("Application database")
struct DatabaseTests {
    @Test("the connection is in WAL mode and syncs every commit (synchronous = FULL)")
    func durability() async throws {
        try await withTemporaryDirectory { folder in
            let database = try Database(path: folder + "/app.sqlite")
            let (journal, synchronous) = try database.queue.read { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                    try Int.fetchOne(db, sql: "PRAGMA synchronous")
                )
            }
            #expect(journal == "wal")
            #expect(synchronous == 2)
        }
    }

    /// `PRAGMA synchronous` as a connection reports it: 0 OFF, 1 NORMAL, 2 FULL.
    private func synchronous(_ queue: DatabaseQueue) throws -> Int? {
        try queue.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
    }

    @Test("the rate-limit store keeps the level it asks for after GRDB's WAL set-up: NORMAL shared, OFF alone")
    func rateLimitDurability() async throws {
        try await withTemporaryDirectory { folder in
            let database = try Database(path: folder + "/app.sqlite")
            try database.migrate()
            let shared = try SQLiteRateLimitStore(path: database.path, sharesApplicationDatabase: true)
            let dedicated = try SQLiteRateLimitStore(path: folder + "/limits.sqlite", sharesApplicationDatabase: false)
            #expect(try synchronous(shared.queue) == 1)
            #expect(try synchronous(dedicated.queue) == 0)
            #expect(try synchronous(database.queue) == 2)
            let journal = try dedicated.queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(journal == "wal")
        }
    }
}
