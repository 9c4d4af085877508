// The SQLite rate-limit store: exact totals across connections, window rollover, pruning; wiring on both backends.

import Flagon
import Foundation
import GRDB
import Synchronization
import Testing

@testable import TasksAPI

@Suite("SQLite rate-limit store")
struct RateLimitStoreTests {
    /// A migrated application database in `folder`, as a worker would find it.
    private func migratedDatabase(_ folder: String) throws -> TasksAPI.Database {
        let database = try TasksAPI.Database(path: folder + "/app.sqlite")
        try database.migrate()
        return database
    }

    @Test("two connections (as two workers) incrementing one counter concurrently lose no hit")
    func exactTotalsAcrossConnections() async throws {
        try await withTemporaryDirectory { folder in
            let database = try migratedDatabase(folder)
            let stores = try (0..<2).map { _ in
                try SQLiteRateLimitStore(path: database.path, sharesApplicationDatabase: true)
            }
            let counts = Mutex<[Int]>([])
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { index in
                for _ in 0..<50 {
                    do {
                        let hit = try stores[index % 2].hit(key: "route/5/1/minute/127.0.0.1/60", window: 60, now: 90)
                        counts.withLock { $0.append(hit.count) }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
            #expect(failures.withLock { $0 } == [])
            // Every hit saw a distinct count: the upserts were atomic.
            #expect(counts.withLock { $0.sorted() } == Array(1...400))
            #expect(try stores[0].hit(key: "route/5/1/minute/127.0.0.1/60", window: 60, now: 119).count == 401)
        }
    }

    @Test("the window end is aligned; a new window's key starts at 1")
    func windowRollover() async throws {
        try await withTemporaryDirectory { folder in
            let database = try migratedDatabase(folder)
            let store = try SQLiteRateLimitStore(path: database.path, sharesApplicationDatabase: true)
            #expect(try store.hit(key: "k/60", window: 60, now: 61) == RateLimitHit(count: 1, windowEnd: 120))
            #expect(try store.hit(key: "k/60", window: 60, now: 119) == RateLimitHit(count: 2, windowEnd: 120))
            #expect(try store.hit(key: "k/120", window: 60, now: 120) == RateLimitHit(count: 1, windowEnd: 180))
            #expect(try store.hit(key: "day", window: 86_400, now: 86_400 + 5).windowEnd == 2 * 86_400)
        }
    }

    @Test("pruning removes only ended windows: a window ending at `now` is over, one ending later is not")
    func pruningOnlyExpired() async throws {
        try await withTemporaryDirectory { folder in
            let database = try migratedDatabase(folder)
            let store = try SQLiteRateLimitStore(path: database.path, sharesApplicationDatabase: true)
            _ = try store.hit(key: "ended/0", window: 60, now: 59)
            _ = try store.hit(key: "live/60", window: 60, now: 60)
            _ = try store.hit(key: "day/0", window: 86_400, now: 60)
            #expect(try store.prune(now: 60) == [1])
            #expect(try store.rowCount() == 2)
            #expect(try store.hit(key: "live/60", window: 60, now: 61).count == 2)
            #expect(try store.hit(key: "day/0", window: 86_400, now: 61).count == 2)
        }
    }

    @Test("a large backlog is pruned in bounded batches, each its own transaction, through the index")
    func pruningInBatches() async throws {
        try await withTemporaryDirectory { folder in
            let database = try migratedDatabase(folder)
            let store = try SQLiteRateLimitStore(
                path: database.path, sharesApplicationDatabase: true, pruneBatchSize: 100, maximumPruneBatches: 4)
            // 1,050 ended windows of as many clients, and 7 live ones, written directly.
            let writer = try DatabaseQueue(path: database.path)
            try writer.write { db in
                for index in 0..<1050 {
                    try db.execute(
                        sql: "INSERT INTO rate_limits (key, window_end, count) VALUES (?, ?, 1)",
                        arguments: ["old/\(index)", 60 + index % 5])
                }
                for index in 0..<7 {
                    try db.execute(
                        sql: "INSERT INTO rate_limits (key, window_end, count) VALUES (?, 1000, 1)",
                        arguments: ["live/\(index)"])
                }
            }
            // One pass runs at most 4 batches of at most 100 rows; the next passes finish.
            #expect(try store.prune(now: 100) == [100, 100, 100, 100])
            #expect(try store.prune(now: 100) == [100, 100, 100, 100])
            #expect(try store.prune(now: 100) == [100, 100, 50])
            #expect(try store.prune(now: 100) == [])
            #expect(try store.rowCount() == 7)
            // The batch query seeks in the window_end index instead of scanning the table.
            let plan = try writer.read { db in
                try Row.fetchAll(
                    db, sql: "EXPLAIN QUERY PLAN SELECT key FROM rate_limits WHERE window_end <= 100 LIMIT 100"
                ).map { $0["detail"] as String }
            }
            #expect(plan.contains { $0.contains("rate_limits_window_end") })
        }
    }

    @Test("the hit that triggers pruning commits first; pruning runs afterwards in its own transactions")
    func pruningAfterTheHit() async throws {
        try await withTemporaryDirectory { folder in
            let database = try migratedDatabase(folder)
            let store = try SQLiteRateLimitStore(
                path: database.path, sharesApplicationDatabase: true, pruneInterval: 3, pruneBatchSize: 2)
            _ = try store.hit(key: "a/0", window: 60, now: 1)
            _ = try store.hit(key: "b/0", window: 60, now: 2)
            #expect(try store.rowCount() == 2)
            // The third hit prunes both ended windows (one batch of 2, then an empty one).
            #expect(try store.hit(key: "c/60", window: 60, now: 61) == RateLimitHit(count: 1, windowEnd: 120))
            #expect(try store.rowCount() == 1)
        }
    }

    @Test("ended windows are pruned every Nth hit and on demand; live ones stay")
    func pruning() async throws {
        try await withTemporaryDirectory { folder in
            let database = try migratedDatabase(folder)
            let store = try SQLiteRateLimitStore(
                path: database.path, sharesApplicationDatabase: true, pruneInterval: 4)
            _ = try store.hit(key: "a/0", window: 60, now: 10)
            _ = try store.hit(key: "b/0", window: 60, now: 10)
            _ = try store.hit(key: "c/60", window: 60, now: 70)
            #expect(try store.rowCount() == 3)
            // The fourth hit prunes the two rows whose window ended at 60.
            _ = try store.hit(key: "c/60", window: 60, now: 71)
            #expect(try store.rowCount() == 1)
            _ = try store.hit(key: "d/120", window: 60, now: 130)
            try store.prune(now: 130)
            #expect(try store.rowCount() == 1)
        }
    }

    @Test("a dedicated counters file gets its own table")
    func dedicatedFile() async throws {
        try await withTemporaryDirectory { folder in
            let store = try SQLiteRateLimitStore(
                path: folder + "/limits/counters.sqlite", sharesApplicationDatabase: false)
            #expect(try store.hit(key: "x", window: 1, now: 5) == RateLimitHit(count: 1, windowEnd: 6))
            let again = try SQLiteRateLimitStore(
                path: folder + "/limits/counters.sqlite", sharesApplicationDatabase: false)
            #expect(try again.hit(key: "x", window: 1, now: 5).count == 2)
        }
    }

    // MARK: the application

    /// 20 seconds into a minute, so requests that take longer than one clock second stay
    /// within the window.
    static let fixedNow: Int64 = 1_700_000_040 + 20

    /// The application, its rate limiter on a clock that stands still at ``fixedNow``.
    private func build(_ folder: String, _ overrides: [String: String] = [:]) async throws -> Application {
        let config = try await Config.load(overrides: overrides, environment: [:], instancePath: folder)
        return try await makeApplication(config: config, logger: quietLogger, rateLimitClock: { Self.fixedNow })
    }

    @Test(
        "GET /api/limited-endpoint: 5 per minute, then 429 naming the limit; /healthz is exempt",
        arguments: Backend.allCases)
    func limitedEndpoint(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            // On PostgreSQL the default counters are the database's.
            let database = try backend.databaseURL(folder: folder)
            let client = TestClient(app: try await build(folder, ["DATABASE_URL": database]).app)
            for remaining in (0...4).reversed() {
                let response = await client.get("/api/limited-endpoint")
                #expect(response.status == 200)
                #expect(response.text == #"{"message": "This endpoint is rate limited"}"#)
                #expect(response.headers["X-RateLimit-Limit"] == "5")
                #expect(response.headers["X-RateLimit-Remaining"] == String(remaining))
            }
            let refused = await client.get("/api/limited-endpoint")
            #expect(refused.status == 429)
            #expect(refused["message"] == "5 per 1 minute")
            #expect(refused.headers["Retry-After"] == "40")
            // Another route still has the default limit, its own counter.
            let hello = await client.get("/api/hello")
            #expect(hello.status == 200)
            #expect(hello.headers["X-RateLimit-Limit"] == "50")
            let health = await client.get("/healthz")
            #expect(health.headers["X-RateLimit-Limit"] == nil)
        }
    }

    @Test(
        "database://: the counters are in the application database, a second app on it shares them",
        arguments: Backend.allCases)
    func sharedThroughDatabase(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            let settings = [
                "RATELIMIT_STORAGE_URL": "database://", "DATABASE_URL": try backend.databaseURL(folder: folder),
            ]
            let firstApplication = try await build(folder, settings)
            let first = TestClient(app: firstApplication.app)
            let second = TestClient(app: try await build(folder, settings).app)
            for _ in 0..<3 { #expect(await first.get("/api/limited-endpoint").status == 200) }
            for _ in 0..<2 { #expect(await second.get("/api/limited-endpoint").status == 200) }
            #expect(await first.get("/api/limited-endpoint").status == 429)
            #expect(await second.get("/api/limited-endpoint").status == 429)
            if let postgres = firstApplication.database.postgres {
                let rows = try postgres.withConnection { try $0.query("SELECT count(*) FROM rate_limits") }
                #expect(rows.first?.first == .integer(1))
            } else {
                let store = try SQLiteRateLimitStore(path: folder + "/app.sqlite", sharesApplicationDatabase: true)
                #expect(try store.rowCount() == 1)
            }
        }
    }

    @Test("RATELIMIT_ENABLED=false: no headers, no 429")
    func disabled() async throws {
        try await withTemporaryDirectory { folder in
            let client = TestClient(app: try await build(folder, ["RATELIMIT_ENABLED": "false"]).app)
            for _ in 0..<7 {
                let response = await client.get("/api/limited-endpoint")
                #expect(response.status == 200)
                #expect(response.headers["X-RateLimit-Limit"] == nil)
            }
        }
    }

    @Test("RATELIMIT_STORAGE_URL: sqlite:/// and memory:// work; CORS_ORIGINS is wired")
    func storageChoicesAndCORS() async throws {
        try await withTemporaryDirectory { folder in
            for url in ["sqlite:///\(folder)/limits.sqlite", "memory://"] {
                let app = try await build(
                    folder + "/\(url.hasPrefix("memory") ? "m" : "s")",
                    [
                        "RATELIMIT_STORAGE_URL": url, "RATELIMIT_DEFAULT": "1 per hour",
                        "CORS_ORIGINS": "https://a.example",
                    ]
                ).app
                let client = TestClient(app: app)
                let first = await client.get("/api/hello", headers: ["Origin": "https://a.example"])
                #expect(first.status == 200)
                #expect(first.headers["Access-Control-Allow-Origin"] == "https://a.example")
                let refused = await client.get("/api/hello", headers: ["Origin": "https://a.example"])
                #expect(refused.status == 429)
                #expect(refused.headers["Access-Control-Allow-Origin"] == "https://a.example")
            }
            #expect(FileManager.default.fileExists(atPath: folder + "/limits.sqlite"))
        }
    }

    @Test(
        "bad rate-limit settings stop start-up with a one-line message naming the key",
        arguments: [
            ("RATELIMIT_DEFAULT", "lots per day"), ("RATELIMIT_DEFAULT", "5 per fortnight"),
            ("RATELIMIT_STORAGE_URL", "redis://user:hunter2@cache:6379"), ("RATELIMIT_STORAGE_URL", "sqlite:///"),
            ("TRUSTED_PROXIES", "10.0.0.0/40"), ("RATELIMIT_IPV6_PREFIX", "0"), ("RATELIMIT_IPV6_PREFIX", "129"),
            ("RATELIMIT_IPV6_PREFIX", "/64"),
        ])
    func badSettings(key: String, value: String) async throws {
        let error = try await settingsError([key: value])
        #expect(error?.message.contains(key) == true)
        #expect(error?.message.contains("hunter2") == false)
        #expect(error?.message.contains("\n") == false)
    }

    @Test("RATELIMIT_STORAGE_URL is parsed")
    func storageParsed() async throws {
        #expect(try await loadSettings([:]).rateLimitStorage == .sharedMemory)
        #expect(try await loadSettings(["RATELIMIT_STORAGE_URL": "shm://"]).rateLimitStorage == .sharedMemory)
        #expect(try await loadSettings(["RATELIMIT_STORAGE_URL": "database://"]).rateLimitStorage == .database)
        #expect(try await loadSettings(["RATELIMIT_STORAGE_URL": "memory://"]).rateLimitStorage == .memory)
        #expect(
            try await loadSettings(["RATELIMIT_STORAGE_URL": "sqlite:////tmp/x.sqlite"]).rateLimitStorage
                == .sqlite(path: "/tmp/x.sqlite"))
        #expect(try await loadSettings([:]).trustedProxyNetworks.ipv6PrefixLength == 64)
        #expect(
            try await loadSettings(["RATELIMIT_IPV6_PREFIX": "56"]).trustedProxyNetworks.ipv6PrefixLength == 56)
        #expect(
            try await loadSettings([:]).rateLimitDefaultLimits == [
                RateLimit(200, per: .day), RateLimit(50, per: .hour),
            ])
    }
}
