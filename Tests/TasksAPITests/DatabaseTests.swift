// The application database connection: journal mode and durability level.

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
}
