// The shared-memory rate-limit store: the store semantics, the database for a full table, the default wiring.

import Flagon
import Foundation
import HostRegion
import Logging
import TasksAPI
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Shared-memory rate-limit store")
struct SharedMemoryRateLimitStoreTests {
    /// A store on a fresh region file of `slots` slots, its fallback in the migrated database of `folder`.
    private func makeStore(
        _ folder: String, slots: Int, logger: Logger = quietLogger
    ) throws -> (
        SharedMemoryRateLimitStore, SQLiteRateLimitStore
    ) {
        let database = try TasksAPI.Database(path: folder + "/app.sqlite")
        try database.migrate()
        let region = try HostRegion.openFile(folder + "/region", rateLimitSlots: slots)
        let fallback = try SQLiteRateLimitStore(path: database.path, sharesApplicationDatabase: true)
        return (SharedMemoryRateLimitStore(region: region, logger: logger) { fallback }, fallback)
    }

    @Test("the window end is aligned; a new window's key starts at 1, as in the database store")
    func windowRollover() async throws {
        try await withTemporaryDirectory { folder in
            let (store, _) = try makeStore(folder, slots: 64)
            #expect(try store.hit(key: "k/60", window: 60, now: 61) == RateLimitHit(count: 1, windowEnd: 120))
            #expect(try store.hit(key: "k/60", window: 60, now: 119) == RateLimitHit(count: 2, windowEnd: 120))
            #expect(try store.hit(key: "k/120", window: 60, now: 120) == RateLimitHit(count: 1, windowEnd: 180))
            #expect(try store.hit(key: "day", window: 86_400, now: 86_400 + 5).windowEnd == 2 * 86_400)
        }
    }

    @Test("a key given as bytes counts the same counter as its text, in the table and in the database")
    func bytesAndTextShareCounters() async throws {
        try await withTemporaryDirectory { folder in
            let (store, fallback) = try makeStore(folder, slots: 1)
            func hitBytes(_ key: String, now: Int64) throws -> RateLimitHit {
                try Array(key.utf8).withUnsafeBytes { try store.hit(keyBytes: $0, window: 60, now: now) }
            }
            #expect(try hitBytes("t\u{E9}/60", now: 61).count == 1)
            #expect(try store.hit(key: "t\u{E9}/60", window: 60, now: 62).count == 2)
            #expect(try hitBytes("t\u{E9}/60", now: 63) == RateLimitHit(count: 3, windowEnd: 120))
            // The one slot is taken: the next key is counted in the database, under its text.
            #expect(try hitBytes("over/60", now: 64).count == 1)
            #expect(try store.hit(key: "over/60", window: 60, now: 65).count == 2)
            #expect(try hitBytes("over/60", now: 66).count == 3)
            #expect(try fallback.count(key: "over/60", now: 66) == 3)
        }
    }

    @Test("a table full of live windows counts new keys in the database, warns once, and keeps them there")
    func fullTableFallsBack() async throws {
        try await withTemporaryDirectory { folder in
            let capture = LogCapture()
            let (store, fallback) = try makeStore(folder, slots: 4, logger: capture.logger)
            for index in 0..<4 { #expect(try store.hit(key: "k\(index)/60", window: 60, now: 70).count == 1) }
            #expect(try fallback.rowCount() == 0)
            // Two keys that do not fit: counted in the database, one warning.
            for round in 1...3 {
                #expect(try store.hit(key: "over-a/60", window: 60, now: 71).count == round)
                #expect(try store.hit(key: "over-b/60", window: 60, now: 71).count == round)
            }
            #expect(try fallback.count(key: "over-a/60", now: 71) == 3)
            let warnings = capture.logged.filter { $0.level == .warning }
            #expect(warnings.count == 1)
            #expect(warnings.first?.message.contains("full") == true)
            // The keys in the table are still counted there, exactly.
            #expect(try store.hit(key: "k0/60", window: 60, now: 72).count == 2)
            #expect(try fallback.rowCount() == 2)
            // A week later the table has room again, and warns again when it fills.
            let later: Int64 = 7 * 86_400 + 10
            for index in 0..<5 {
                #expect(try store.hit(key: "w\(index)/\(later)", window: 60, now: later).count == 1)
            }
            #expect(capture.logged.filter { $0.level == .warning }.count == 2)
        }
    }

    @Test("a key counted in the database stays there for its window, even when a slot frees up")
    func fallbackKeyStaysInDatabase() async throws {
        try await withTemporaryDirectory { folder in
            let (store, fallback) = try makeStore(folder, slots: 2)
            // Two minute windows fill the table; an hour window goes to the database.
            #expect(try store.hit(key: "m1/60", window: 60, now: 61).count == 1)
            #expect(try store.hit(key: "m2/60", window: 60, now: 61).count == 1)
            #expect(try store.hit(key: "hour/0", window: 3600, now: 61).count == 1)
            // The minute windows end: their slots are free, but the hour's count continues.
            #expect(try store.hit(key: "hour/0", window: 3600, now: 200).count == 2)
            #expect(try store.hit(key: "hour/0", window: 3600, now: 201).count == 3)
            #expect(try fallback.count(key: "hour/0", now: 201) == 3)
        }
    }

    @Test("by default the counters are in the host region, shared by every app of the instance")
    func defaultIsSharedMemory() async throws {
        try await withTemporaryDirectory { folder in
            let config = try await Config.load(overrides: [:], environment: [:], instancePath: folder)
            let fixedNow: Int64 = 1_700_000_020
            let build = { try await makeApplication(config: config, logger: quietLogger, rateLimitClock: { fixedNow }) }
            let first = TestClient(app: try await build().app)
            let second = TestClient(app: try await build().app)
            for _ in 0..<3 { #expect(await first.get("/api/limited-endpoint").status == 200) }
            for _ in 0..<2 { #expect(await second.get("/api/limited-endpoint").status == 200) }
            #expect(await first.get("/api/limited-endpoint").status == 429)
            var status = stat()
            #expect(stat(hostRegionPath(database: folder + "/app.sqlite"), &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600)
            // Nothing went to the database.
            let fallback = try SQLiteRateLimitStore(path: folder + "/app.sqlite", sharesApplicationDatabase: true)
            #expect(try fallback.rowCount() == 0)
        }
    }
}
