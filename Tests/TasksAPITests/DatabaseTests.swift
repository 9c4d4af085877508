// The service's database connections: journal mode and durability level of each.

import Flagon
import Foundation
import GRDB
import Testing

@testable import TasksAPI

@Suite("Application database")
struct DatabaseTests {
    @Test("the connection is in WAL mode and commits at synchronous = NORMAL, whatever the durability")
    func journalAndLevel() async throws {
        try await withTemporaryDirectory { folder in
            for durability in SQLiteDurability.allCases {
                let database = try Database(path: folder + "/\(durability).sqlite", durability: durability)
                let (journal, synchronous) = try database.queue.read { db in
                    (
                        try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                        try Int.fetchOne(db, sql: "PRAGMA synchronous")
                    )
                }
                #expect(journal == "wal")
                #expect(synchronous == 1)
            }
        }
    }

    @Test("a writer that finds the write lock taken retries after 20 µs, doubling to 1 ms, for the busy timeout")
    func lockWaitSchedule() {
        #expect((0..<8).map { Database.lockWait(tries: $0) } == [20, 40, 80, 160, 320, 640, 1000, 1000])
        // The total before each try is the sum of the waits before it.
        var total = 0
        for tries in 0..<20 {
            #expect(Database.lockWaited(tries: tries) == total)
            total += Database.lockWait(tries: tries)
        }
        let limit = Int(Database.busyTimeout * 1_000_000)
        let last = (0..<100_000).first { Database.lockWaited(tries: $0) >= limit }
        #expect(last != nil)
        if let last { #expect(!Database.waitForLock(tries: last)) }
    }

    @Test("a write waits for another connection's write transaction and then commits")
    func writerWaitsForTheLock() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/locked.sqlite"
            let holder = try Database(path: path)
            try holder.write { db in try db.execute(sql: "CREATE TABLE probe (n INTEGER)") }
            let waiter = try Database(path: path)
            let started = DispatchSemaphore(value: 0)
            let held = Thread {
                try? holder.write { db in
                    try db.execute(sql: "INSERT INTO probe (n) VALUES (1)")
                    started.signal()
                    usleep(50_000)
                }
            }
            held.start()
            started.wait()
            try waiter.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (2)") }
            let values = try waiter.queue.read { db in try Int.fetchAll(db, sql: "SELECT n FROM probe ORDER BY n") }
            #expect(values == [1, 2])
            // The lock the writers wait on is the owner's only.
            var status = stat()
            #expect(stat(path + ".write-lock", &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600)
        }
    }

    @Test("with full durability every write syncs the WAL once after its commit; with normal, never")
    func walSyncPerWrite() async throws {
        WALSyncCounter.install()
        try await withTemporaryDirectory { folder in
            for durability in SQLiteDurability.allCases {
                let path = folder + "/\(durability).sqlite"
                let database = try Database(path: path, durability: durability)
                try database.migrate()
                // The first frames after the WAL is created sync its header: not counted.
                try database.write { db in try db.execute(sql: "CREATE TABLE probe (n INTEGER)") }
                let before = WALSyncCounter.syncs(of: path + "-wal")
                for n in 1...5 {
                    try database.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (?)", arguments: [n]) }
                }
                let syncs = WALSyncCounter.syncs(of: path + "-wal") - before
                #expect(syncs == (durability == .full ? 5 : 0))
                #expect(try database.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM probe") } == 5)
            }
        }
    }

    @Test("a write that throws rolls back and syncs nothing, nor leaves a batch anything to wait for")
    func failedWriteSyncsNothing() async throws {
        WALSyncCounter.install()
        try await withTemporaryDirectory { folder in
            let path = folder + "/app.sqlite"
            let database = try Database(path: path)
            try database.write { db in try db.execute(sql: "CREATE TABLE probe (n INTEGER)") }
            let before = WALSyncCounter.syncs(of: path + "-wal")
            struct Refused: Error {}
            // Alone, then inside a batch.
            for batch in [nil, WriteSync.Batch()] {
                WriteSync.$batch.withValue(batch) {
                    #expect(throws: Refused.self) {
                        try database.write { db in
                            try db.execute(sql: "INSERT INTO probe (n) VALUES (1)")
                            throw Refused()
                        }
                    }
                }
                #expect(batch?.takeRequest() != true)
            }
            #expect(WALSyncCounter.syncs(of: path + "-wal") == before)
            #expect(try database.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM probe") } == 0)
        }
    }

    @Test("a statement run with bound values stores each exactly: empty and NUL-holding texts, integers, reals, NULL")
    func runBindsValues() async throws {
        try await withTemporaryDirectory { folder in
            let database = try Database(path: folder + "/app.sqlite")
            let values: [SQLValue] = [
                .text(""), .text("a\u{0}b"), .text("été 😀"), .integer(Int64.min), .real(2.5), .null,
            ]
            try database.write { db in
                try db.execute(sql: "CREATE TABLE probe (a, b, c, d, e, f)")
                try db.cachedStatement(sql: "INSERT INTO probe VALUES (?, ?, ?, ?, ?, ?)").run(values)
                // The statement is reset and its bindings cleared: it runs again with others.
                try db.cachedStatement(sql: "INSERT INTO probe VALUES (?, ?, ?, ?, ?, ?)").run([
                    .integer(7), .text("a\u{0}b"), .null, .real(2.5), .text("x"), .text(""),
                ])
            }
            let rows = try database.queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM probe ORDER BY rowid") }
            #expect(rows.count == 2)
            // GRDB reads text up to its first NUL: that column is compared by its bytes.
            let readable = ["a", "c", "d", "e", "f"]
            #expect(readable.map { rows[0].value($0) } == [values[0]] + values[2...])
            #expect(readable.map { rows[1].value($0) } == [.integer(7), .null, .real(2.5), .text("x"), .text("")])
            #expect(
                try database.queue.read { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM probe WHERE hex(b) = '610062'")
                } == 2)
            // An error carries SQLite's extended code, as GRDB's own would.
            let failure = #expect(throws: DatabaseError.self) {
                try database.write { db in
                    try db.execute(sql: "CREATE TABLE unique_probe (n INTEGER UNIQUE)")
                    try db.cachedStatement(sql: "INSERT INTO unique_probe VALUES (?)").run([.integer(1)])
                    try db.cachedStatement(sql: "INSERT INTO unique_probe VALUES (?)").run([.integer(1)])
                }
            }
            #expect(failure?.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE)
        }
    }

    @Test("a connection's first write syncs at once even inside a batch: SQLite's first WAL sync also syncs the folder")
    func firstWriteSyncsAtOnce() async throws {
        WALSyncCounter.install()
        try await withTemporaryDirectory { folder in
            let path = folder + "/app.sqlite"
            let database = try Database(path: path)
            let batch = WriteSync.Batch()
            try WriteSync.$batch.withValue(batch) {
                try database.write { db in try db.execute(sql: "CREATE TABLE probe (n INTEGER)") }
                #expect(!batch.takeRequest())
                #expect(WALSyncCounter.syncs(of: path + "-wal") >= 1)
                let before = WALSyncCounter.syncs(of: path + "-wal")
                try database.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (1)") }
                #expect(batch.takeRequest())
                #expect(WALSyncCounter.syncs(of: path + "-wal") == before)
                try batch.takePending()?()
                #expect(WALSyncCounter.syncs(of: path + "-wal") == before + 1)
            }
        }
    }

    @Test("inside a write batch the writes wait for its flush, which syncs the WAL once for all of them")
    func batchSyncsOnce() async throws {
        WALSyncCounter.install()
        try await withTemporaryDirectory { folder in
            let path = folder + "/app.sqlite"
            let database = try Database(path: path)
            try database.write { db in try db.execute(sql: "CREATE TABLE probe (n INTEGER)") }
            let before = WALSyncCounter.syncs(of: path + "-wal")
            let batch = WriteSync.Batch()
            try WriteSync.$batch.withValue(batch) {
                for n in 1...4 {
                    try database.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (?)", arguments: [n]) }
                    #expect(batch.takeRequest())
                }
                #expect(!batch.takeRequest())
                // A read leaves nothing to wait for.
                _ = try database.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM probe") }
                #expect(!batch.takeRequest())
            }
            #expect(WALSyncCounter.syncs(of: path + "-wal") == before)
            try batch.flush()
            #expect(WALSyncCounter.syncs(of: path + "-wal") == before + 1)
            // Nothing is left to sync; outside a batch a write syncs at once again.
            try batch.flush()
            #expect(WALSyncCounter.syncs(of: path + "-wal") == before + 1)
            try database.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (5)") }
            #expect(WALSyncCounter.syncs(of: path + "-wal") == before + 2)
            #expect(try database.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM probe") } == 5)
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
            #expect(try synchronous(database.queue) == 1)
            let journal = try dedicated.queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(journal == "wal")
        }
    }
}
