// Writes on the application database: one transaction per request, statements prepared once per connection.

import Flagon
import Foundation
import GRDB
import GRDBSQLite
import Synchronization
import Testing

@testable import TasksAPI

/// Counts the transactions committed on one connection, and the rows they changed: SQLite's
/// count of changed rows at each commit (`sqlite3_total_changes`). The stores run their writes
/// through SQLite's C API (`Statement.run`), which GRDB's change events do not see.
private final class CommitCounter: TransactionObserver, Sendable {
    private let counts = Mutex<(commits: Int, changes: Int64)>((0, 0))

    var commits: Int { counts.withLock { $0.commits } }
    var changes: Int64 { counts.withLock { $0.changes } }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: GRDB.Database) {
        let total = sqlite3_total_changes64(db.sqliteConnection)
        counts.withLock {
            $0.commits += 1
            $0.changes = total
        }
    }
    func databaseDidRollback(_ db: GRDB.Database) {}
}

/// The statements a connection holds prepared whose SQL starts with `prefix`, each with the
/// number of times it has run since it was prepared.
private func preparedStatements(_ db: GRDB.Database, startingWith prefix: String) -> [Int32] {
    var runs: [Int32] = []
    var statement = sqlite3_next_stmt(db.sqliteConnection, nil)
    while let current = statement {
        if let sql = sqlite3_sql(current), String(cString: sql).hasPrefix(prefix) {
            runs.append(sqlite3_stmt_status(current, SQLITE_STMTSTATUS_RUN, 0))
        }
        statement = sqlite3_next_stmt(db.sqliteConnection, current)
    }
    return runs
}

/// What one request did to the database.
private struct Commits: Equatable {
    let count: Int
    let changedRows: Bool
}

@Suite("Writes")
struct WritesTests {
    @Test("every hot statement is prepared once per connection: later calls run the same statement")
    func statementsPreparedOnce() async throws {
        try await withTemporaryDirectory { folder in
            let database = try TasksAPI.Database(path: folder + "/app.sqlite")
            try database.migrate()
            let accounts = SQLiteAccountStore(database: database)
            let tasks = SQLiteTaskStore(database: database)
            let owner = try accounts.createUser(username: "alice", passwordHash: "x", roles: []).id
            let calls = 3
            for index in 1...calls {
                let task = try tasks.create(
                    owner: owner, fields: TaskItem.resource.input(["title": .string("task \(index)")]))
                _ = try tasks.task(id: task.id, owner: owner)
                _ = try tasks.update(
                    id: task.id, owner: owner, changes: TaskItem.resource.patch(["title": "changed"]),
                    ifVersion: task.version)
                _ = try tasks.tasks(owner: owner, filter: TaskFilter(), sort: .createdAt, offset: 0, limit: 10)
                _ = try accounts.user(named: "alice")
                _ = try accounts.user(id: owner)
                try accounts.revoke(jti: "jti-\(index)", expiresAt: 2_000_000_000, now: 1_000_000_000)
                _ = try accounts.isRevoked(jti: "jti-\(index)")
            }
            let created = try tasks.create(owner: owner, fields: TaskItem.resource.input(["title": "to delete"]))
            try tasks.delete(id: created.id, owner: owner, ifVersion: nil)
            let statements: [(String, Int32)] = [
                ("INSERT INTO tasks", Int32(calls) + 1),
                ("UPDATE tasks", Int32(calls)),
                // Read back by update (twice: `task` and the write's own read) and by `task`.
                ("SELECT * FROM tasks WHERE id = ?", Int32(calls) * 2),
                ("SELECT count(*) FROM tasks", Int32(calls)),
                ("SELECT * FROM tasks WHERE owner_id", Int32(calls)),
                ("DELETE FROM tasks", 1),
                ("SELECT * FROM users WHERE username", Int32(calls)),
                ("SELECT * FROM users WHERE id", Int32(calls)),
                ("INSERT OR IGNORE INTO revoked_tokens", Int32(calls)),
                ("DELETE FROM revoked_tokens", Int32(calls)),
                ("SELECT 1 FROM revoked_tokens", Int32(calls)),
            ]
            try database.queue.inDatabase { db in
                for (prefix, runs) in statements {
                    // One prepared statement, run by every call: without the cache there would
                    // be none left on the connection after the call.
                    #expect(preparedStatements(db, startingWith: prefix) == [runs], "\(prefix)")
                }
            }
        }
    }

    @Test("product statements and the health check are prepared once per connection too")
    func productStatementsPreparedOnce() async throws {
        try await withTemporaryDirectory { folder in
            let database = try TasksAPI.Database(path: folder + "/app.sqlite")
            try database.migrate()
            let products = SQLiteProductStore(database: database)
            let calls = 3
            for index in 1...calls {
                let fields = try Product.resource.input([
                    "name": .string("Widget \(index)"), "description": "", "price_cents": 100, "currency": "EUR",
                    "stock": 1,
                ])
                let product = try products.createProduct(fields)
                _ = try products.updateProduct(id: product.id, with: Product.resource.patch(["stock": 2]))
                _ = try products.products(matching: nil, offset: 0, limit: 10)
                _ = try products.products(matching: "wid", offset: 0, limit: 10)
                try products.deleteProduct(id: product.id)
                #expect(database.isHealthy())
            }
            // Prefix, statements prepared, runs of each: the plain count and the search's count
            // are two statements starting alike.
            let statements: [(String, Int, Int32)] = [
                ("INSERT INTO products", 1, Int32(calls)),
                ("UPDATE products", 1, Int32(calls)),
                ("SELECT * FROM products WHERE id", 1, Int32(calls)),
                ("SELECT * FROM products WHERE instr", 1, Int32(calls)),
                ("SELECT * FROM products ORDER BY id", 1, Int32(calls)),
                ("SELECT count(*) FROM products", 2, Int32(calls)),
                ("DELETE FROM products", 1, Int32(calls)),
                ("SELECT count(*) FROM grdb_migrations", 1, Int32(calls)),
            ]
            try database.queue.inDatabase { db in
                for (prefix, count, runs) in statements {
                    let found = preparedStatements(db, startingWith: prefix)
                    #expect(found == Array(repeating: runs, count: count), "\(prefix)")
                }
            }
        }
    }

    @Test("the rate-limit hit is prepared once on its own connection")
    func rateLimitHitPreparedOnce() async throws {
        try await withTemporaryDirectory { folder in
            let store = try SQLiteRateLimitStore(path: folder + "/limits.sqlite", sharesApplicationDatabase: false)
            for _ in 0..<5 { _ = try store.hit(key: "k", window: 60, now: 100) }
            try store.queue.inDatabase { db in
                #expect(preparedStatements(db, startingWith: "INSERT INTO rate_limits") == [5])
            }
        }
    }

    @Test("each write request commits exactly one transaction; reads commit none")
    func oneTransactionPerWriteRequest() async throws {
        try await AccountsFixture.with(["RATELIMIT_ENABLED": "false"]) { fixture in
            let counter = CommitCounter()
            try await fixture.application.database.queue.writeWithoutTransaction { db in
                db.add(transactionObserver: counter, extent: .databaseLifetime)
            }
            /// The transactions `request` committed, and whether they changed any row.
            func commits(_ request: () async -> TestResponse, status: Int) async -> Commits {
                let before = (counter.commits, counter.changes)
                let response = await request()
                #expect(response.status == status, "\(response.text)")
                return Commits(count: counter.commits - before.0, changedRows: counter.changes > before.1)
            }
            let client = fixture.client
            let credentials: JSONValue = ["username": "alice", "password": "a good password"]
            let register = await commits(
                { await client.send(.post, "/api/auth/register", json: credentials) }, status: 201)
            #expect(register == Commits(count: 1, changedRows: true))
            var access = ""
            let login = await commits(
                {
                    let response = await client.send(.post, "/api/auth/login", json: credentials)
                    access = response["access_token"]?.stringValue ?? ""
                    return response
                }, status: 200)
            #expect(login == Commits(count: 0, changedRows: false))

            let bearer: HTTPHeaders = ["Authorization": "Bearer \(access)"]
            let task: JSONValue = ["title": "one", "priority": 2]
            let requests: [(HTTPMethod, String, JSONValue?, Int, Int)] = [
                (.post, "/api/tasks", task, 201, 1),
                (.get, "/api/tasks", nil, 200, 0),
                (.get, "/api/tasks/1", nil, 200, 0),
                (.put, "/api/tasks/1", task, 200, 1),
                (.patch, "/api/tasks/1", ["completed": true], 200, 1),
                (.delete, "/api/tasks/1", nil, 204, 1),
                (.post, "/api/auth/logout", nil, 204, 1),
            ]
            for (method, target, json, status, expected) in requests {
                let seen = await commits(
                    {
                        if let json { return await client.send(method, target, json: json, headers: bearer) }
                        return await client.request(method, target, headers: bearer)
                    }, status: status)
                #expect(seen == Commits(count: expected, changedRows: expected > 0), "\(method) \(target)")
            }
        }
    }
}
