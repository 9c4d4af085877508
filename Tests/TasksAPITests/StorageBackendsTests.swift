// The stores' promises on both backends, SQLite and a real PostgreSQL: atomicity, order, case, search, limits.

import Flagon
import Foundation
import Testing

@testable import TasksAPI

@Suite("Storage on both backends")
struct StorageBackendsTests {
    @Test(
        "conditional updates on the same version from several connections: exactly one wins",
        arguments: Backend.allCases)
    func ifMatchAtomicity(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            let database = try backend.migratedDatabase(folder: folder)
            let owner = try Stores(database: database).accounts.createUser(
                username: "alice", passwordHash: "x", roles: []
            ).id
            let task = try Stores(database: database).tasks.create(
                owner: owner, fields: TaskItem.resource.input(["title": "race"]))
            let stores = try (0..<6).map { _ in Stores(database: try otherConnection(to: database)).tasks }
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask {
                        (try? store.update(
                            id: task.id, owner: owner,
                            changes: TaskItem.resource.patch(["title": .string("writer \(index)")]),
                            ifVersion: task.version)) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            let stored = try #require(try Stores(database: database).tasks.task(id: task.id, owner: owner))
            #expect(stored.version == 2)
            #expect(
                throws: TaskError.versionMismatch,
                performing: {
                    try Stores(database: database).tasks.delete(id: task.id, owner: owner, ifVersion: 1)
                })
            #expect(
                throws: TaskError.notFound,
                performing: {
                    try Stores(database: database).tasks.delete(id: task.id, owner: owner + 1, ifVersion: nil)
                })
        }
    }

    @Test(
        "a task for an account that no longer exists is refused as ownerNotFound, and nothing is stored",
        arguments: Backend.allCases)
    func createForMissingOwner(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            let database = try backend.migratedDatabase(folder: folder)
            let stores = Stores(database: database)
            let owner = try stores.accounts.createUser(username: "carol", passwordHash: "x", roles: []).id
            #expect(
                throws: TaskError.ownerNotFound,
                performing: {
                    try stores.tasks.create(owner: owner + 1, fields: TaskItem.resource.input(["title": "orphan"]))
                })
            let task = try stores.tasks.create(
                owner: owner, fields: TaskItem.resource.input(["title": "kept", "description": ""]))
            #expect(task.title == "kept")
            let listed = try stores.tasks.tasks(
                owner: owner, filter: TaskFilter(), sort: .createdAt, offset: 0, limit: 10)
            #expect(listed.total == 1)
            #expect(listed.tasks.first?.description == "")
        }
    }

    @Test(
        "ties in created_at and priority are broken by id, newest first under -created_at", arguments: Backend.allCases)
    func orderingAndTieBreaks(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            let database = try backend.migratedDatabase(folder: folder)
            let stores = Stores(database: database)
            let owner = try stores.accounts.createUser(username: "bob", passwordHash: "x", roles: []).id
            // Created within one second: equal created_at, so the id decides.
            var ids: [Int64] = []
            for (index, priority) in [3, 5, 3, 1, 5].enumerated() {
                ids.append(
                    try stores.tasks.create(
                        owner: owner,
                        fields: TaskItem.resource.input([
                            "title": .string("t\(index)"), "priority": .integer(Int64(priority)),
                        ])
                    ).id
                )
            }
            func order(_ sort: TaskSort, filter: TaskFilter = TaskFilter()) throws -> [Int64] {
                try stores.tasks.tasks(owner: owner, filter: filter, sort: sort, offset: 0, limit: 10).tasks.map(\.id)
            }
            let created = try stores.tasks.tasks(
                owner: owner, filter: TaskFilter(), sort: .createdAt, offset: 0, limit: 10
            ).tasks.map(\.createdAt)
            if Set(created).count == 1 {
                #expect(try order(.createdAt) == ids)
                #expect(try order(.createdAtDescending) == ids.reversed())
            }
            #expect(try order(.priority) == [ids[3], ids[0], ids[2], ids[1], ids[4]])
            #expect(try order(.priorityDescending) == [ids[1], ids[4], ids[0], ids[2], ids[3]])
            #expect(try order(.createdAt, filter: TaskFilter(priority: 5)) == [ids[1], ids[4]])
            let page = try stores.tasks.tasks(owner: owner, filter: TaskFilter(), sort: .priority, offset: 1, limit: 2)
            #expect(page.tasks.map(\.id) == [ids[0], ids[2]])
            #expect(page.total == 5)
        }
    }

    @Test("usernames are unique and found whatever their ASCII case, and only ASCII folds", arguments: Backend.allCases)
    func caseInsensitiveUsernames(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            let accounts = Stores(database: try backend.migratedDatabase(folder: folder)).accounts
            let alice = try accounts.createUser(username: "Alice", passwordHash: "x", roles: ["admin"])
            #expect(throws: AccountStoreError.usernameTaken) {
                try accounts.createUser(username: "aLICE", passwordHash: "y", roles: [])
            }
            #expect(try accounts.user(named: "ALICE")?.id == alice.id)
            #expect(try accounts.user(named: "alice")?.roles == ["admin"])
            _ = try accounts.createUser(username: "kate", passwordHash: "x", roles: [])
            // U+212A KELVIN SIGN lower-cases to "k" under Unicode rules, not under SQLite's NOCASE.
            #expect(try accounts.user(named: "\u{212A}ate") == nil)
            #expect(try accounts.users(offset: 0, limit: 10).total == 2)
        }
    }

    @Test("q is a case-insensitive substring in which % _ and \\ are ordinary characters", arguments: Backend.allCases)
    func productSearch(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            let products = Stores(database: try backend.migratedDatabase(folder: folder)).products
            for name in ["Widget", "100% cotton", "snake_case", "back\\slash", "café", "CAFÉ", "plain"] {
                _ = try products.createProduct(
                    Product.resource.input(["name": .string(name), "price_cents": 1, "currency": "USD"]))
            }
            func names(_ query: String) throws -> [String] {
                try products.products(matching: query, offset: 0, limit: 20).products.map(\.name)
            }
            #expect(try names("wid") == ["Widget"])
            #expect(try names("%") == ["100% cotton"])
            #expect(try names("_") == ["snake_case"])
            #expect(try names("\\") == ["back\\slash"])
            #expect(try names("é") == ["café"])
            #expect(try names("a%c") == [])
            #expect(try products.products(matching: "A", offset: 1, limit: 2).total == 5)
        }
    }

    @Test("a product patched from two connections keeps both changes", arguments: Backend.allCases)
    func concurrentPatches(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            let database = try backend.migratedDatabase(folder: folder)
            let product = try Stores(database: database).products.createProduct(
                Product.resource.input(["name": "p", "price_cents": 1, "currency": "USD"]))
            let first = Stores(database: try otherConnection(to: database)).products
            let second = Stores(database: try otherConnection(to: database)).products
            async let a = Task { try first.updateProduct(id: product.id, with: Product.resource.patch(["stock": 7])) }
                .value
            async let b = Task {
                try second.updateProduct(id: product.id, with: Product.resource.patch(["price_cents": 9]))
            }.value
            _ = try await (a, b)
            let stored = try #require(try Stores(database: database).products.product(id: product.id))
            #expect(stored.stock == 7 && stored.priceCents == 9)
        }
    }

    @Test("rate-limit hits from two connections count in one window", arguments: Backend.allCases)
    func rateLimitsShared(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            let database = try backend.migratedDatabase(folder: folder)
            func store(_ database: TasksAPI.Database) throws -> any CountingRateLimitStore {
                if let postgres = database.postgres { return PostgresRateLimitStore(database: postgres) }
                return try SQLiteRateLimitStore(path: database.path, sharesApplicationDatabase: true)
            }
            let first = try store(database)
            let second = try store(try otherConnection(to: database))
            #expect(try first.hit(key: "k", window: 60, now: 1_000).count == 1)
            #expect(try second.hit(key: "k", window: 60, now: 1_001) == RateLimitHit(count: 2, windowEnd: 1_020))
            #expect(try first.count(key: "k", now: 1_010) == 2)
            #expect(try first.count(key: "k", now: 1_020) == nil)
        }
    }
}
