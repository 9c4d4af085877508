// A worker's round of writes in one transaction: what joins it, what ends it, and a round that fails.

import Flagon
import Foundation
import GRDB
import Testing

@testable import TasksAPI

@Suite("Rounds of writes in one transaction")
struct WriteRoundTests {
    /// A database with an empty `probe (n INTEGER UNIQUE)` table, and a second connection to
    /// it that sees only what is committed.
    static func withProbe(_ body: (TasksAPI.Database, DatabaseQueue, String) throws -> Void) async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/app.sqlite"
            let database = try TasksAPI.Database(path: path)
            try database.write { db in try db.execute(sql: "CREATE TABLE probe (n INTEGER UNIQUE)") }
            let other = try DatabaseQueue(path: path)
            try body(database, other, path)
        }
    }

    /// ``withProbe(_:)`` with the body run inside a worker's write batch.
    static func inBatch(
        _ body: (TasksAPI.Database, DatabaseQueue, String, WriteSync.Batch) throws -> Void
    ) async throws {
        try await withProbe { database, other, path in
            let batch = WriteSync.Batch()
            try WriteSync.$batch.withValue(batch) { try body(database, other, path, batch) }
        }
    }

    static func insert(_ database: TasksAPI.Database, _ n: Int) throws {
        try database.write(joiningRound: true) { db in
            try db.execute(sql: "INSERT INTO probe (n) VALUES (?)", arguments: [n])
        }
    }

    /// Whether another worker could take the service's write lock now (``WriteLock``).
    static func writeLockIsFree(_ path: String) -> Bool {
        guard let probe = WriteLock(databasePath: path) else { return false }
        defer { probe.unlock() }
        return probe.tryLock()
    }

    static func committed(_ other: DatabaseQueue) throws -> [Int] {
        try other.read { db in try Int.fetchAll(db, sql: "SELECT n FROM probe ORDER BY n") }
    }

    @Test("writes that join a round share one transaction: invisible to others until it ends, then synced once")
    func roundSharesOneCommit() async throws {
        WALSyncCounter.install()
        try await Self.inBatch { database, other, path, batch in
            var rounds: Set<UInt64> = []
            for n in 1...3 {
                try Self.insert(database, n)
                #expect(batch.takeRequest())
                rounds.insert(batch.takeJoinedRound())
            }
            #expect(rounds.count == 1 && !rounds.contains(0), "\(rounds)")
            #expect(try Self.committed(other) == [])
            #expect(!Self.writeLockIsFree(path))
            let before = WALSyncCounter.syncs(of: path + "-wal")
            batch.endRound()
            #expect(try Self.committed(other) == [1, 2, 3])
            #expect(Self.writeLockIsFree(path))
            // The commit left its sync to the batch, run once for the three.
            #expect(WALSyncCounter.syncs(of: path + "-wal") == before)
            let sync = try #require(batch.takePending())
            try sync()
            #expect(WALSyncCounter.syncs(of: path + "-wal") == before + 1)
            // The next write opens the next round.
            try Self.insert(database, 4)
            let first = try #require(rounds.first)
            #expect(batch.takeJoinedRound() > first)
            batch.endRound()
            #expect(try Self.committed(other) == [1, 2, 3, 4])
            #expect(batch.takeFailedRounds().isEmpty)
        }
    }

    @Test("a write that fails in a round rolls back only its own changes, and the round commits the others")
    func failedWriteRollsBackItsOwn() async throws {
        try await Self.inBatch { database, other, _, batch in
            try Self.insert(database, 1)
            _ = batch.takeRequest()
            #expect(throws: DatabaseError.self) {
                try database.write(joiningRound: true) { db in
                    try db.execute(sql: "INSERT INTO probe (n) VALUES (2)")
                    try db.execute(sql: "INSERT INTO probe (n) VALUES (1)")
                }
            }
            #expect(!batch.takeRequest())
            try Self.insert(database, 3)
            batch.endRound()
            #expect(try Self.committed(other) == [1, 3])
            #expect(batch.takeFailedRounds().isEmpty)
        }
    }

    @Test("a round whose only write failed is still ended: its locks go, and nothing is stored")
    func roundWithNoWriteEnds() async throws {
        try await Self.inBatch { database, other, path, batch in
            #expect(throws: DatabaseError.self) {
                try database.write(joiningRound: true) { db in
                    try db.execute(sql: "INSERT INTO probe (n) VALUES (1)")
                    try db.execute(sql: "INSERT INTO probe (n) VALUES (1)")
                }
            }
            #expect(!batch.takeRequest())
            #expect(batch.takeJoinedRound() == 0)
            batch.endRound()
            #expect(Self.writeLockIsFree(path))
            // SQLite's lock is free too: a connection that does not wait writes at once.
            try other.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (2)") }
            #expect(try Self.committed(other) == [2])
            #expect(batch.takeFailedRounds().isEmpty)
        }
    }

    @Test("a read, or a write that does not join, ends the round first")
    func otherAccessesEndTheRound() async throws {
        try await Self.inBatch { database, other, _, batch in
            try Self.insert(database, 1)
            // The read sees committed data only: the round's, committed before it.
            let read = try database.read { db in try Int.fetchAll(db, sql: "SELECT n FROM probe") }
            #expect(read == [1])
            #expect(try Self.committed(other) == [1])
            try Self.insert(database, 2)
            try database.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (3)") }
            #expect(try Self.committed(other) == [1, 2, 3])
            // Nothing is left open: another connection writes at once.
            try other.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (4)") }
            #expect(batch.takeFailedRounds().isEmpty)
        }
    }

    @Test("outside a batch a write that asks to join a round commits alone")
    func noBatchNoRound() async throws {
        try await Self.withProbe { database, other, _ in
            try Self.insert(database, 1)
            #expect(try Self.committed(other) == [1])
        }
    }

    @Test("a round that SQLite rolled back is reported failed with its number, and leaves no lock behind")
    func rolledBackRoundFails() async throws {
        struct RolledBack: Error {}
        try await Self.inBatch { database, other, path, batch in
            try Self.insert(database, 1)
            let round = batch.takeJoinedRound()
            #expect(throws: RolledBack.self) {
                try database.write(joiningRound: true) { db in
                    try db.execute(sql: "ROLLBACK")
                    throw RolledBack()
                }
            }
            let failed = batch.takeFailedRounds()
            #expect(failed.map(\.round) == [round])
            #expect(failed.first?.error is RolledBack)
            #expect(batch.takeFailedRounds().isEmpty)
            batch.endRound()
            #expect(try Self.committed(other) == [])
            #expect(Self.writeLockIsFree(path))
            try other.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (2)") }
            try Self.insert(database, 3)
            #expect(batch.takeJoinedRound() > round)
            batch.endRound()
            #expect(try Self.committed(other) == [2, 3])
        }
    }
}
