// Rows and bound columns from each resource's declaration, for any backend's rows.

import Flagon
import GRDB
import Testing

@testable import TasksAPI

/// A row as any backend could return it: columns by name, booleans as 0/1, times as text.
private struct DictionaryRow: SQLRow {
    let columns: [String: SQLValue]
    func value(_ column: String) -> SQLValue { columns[column] ?? .null }
}

@Suite("Resource rows")
struct ResourceRowsTests {
    @Test("a task from any SQLRow: booleans from 0/1, every column including the hidden ones")
    func taskFromRow() {
        let row = DictionaryRow(columns: [
            "id": .integer(7), "owner_id": .integer(2), "title": .text("Write"), "description": .text(""),
            "priority": .integer(4), "completed": .integer(1), "created_at": .text("2026-11-25T07:00:00Z"),
            "updated_at": .text("2026-11-25T08:00:00Z"), "version": .integer(3),
        ])
        #expect(
            TaskItem(row: row)
                == TaskItem(
                    id: 7, ownerID: 2, title: "Write", description: "", priority: 4, completed: true,
                    createdAt: "2026-11-25T07:00:00Z", updatedAt: "2026-11-25T08:00:00Z", version: 3))
    }

    @Test("the writable columns of a task, in the declaration's order, as the INSERT binds them")
    func taskColumns() throws {
        let input = try TaskItem.resource.input(["title": "Write", "completed": true])
        let columns = TaskItem.writableColumns(input)
        #expect(columns.map(\.column) == ["title", "description", "priority", "completed"])
        #expect(columns.map(\.value) == [.text("Write"), .text(""), .integer(3), .integer(1)])
        let patch = try TaskItem.resource.patch(["priority": 5])
        #expect(TaskItem.patchColumns(patch).map(\.value) == [.null, .null, .integer(5), .null])
    }

    @Test("a product and its writable columns from the same declaration")
    func product() throws {
        let row = DictionaryRow(columns: [
            "id": .integer(1), "name": .text("Widget"), "description": .text("d"), "price_cents": .integer(250),
            "currency": .text("EUR"), "stock": .integer(9), "created_at": .text("a"), "updated_at": .text("b"),
        ])
        let product = Product(row: row)
        #expect(
            product
                == Product(
                    id: 1, name: "Widget", description: "d", priceCents: 250, currency: "EUR", stock: 9, createdAt: "a",
                    updatedAt: "b"))
        #expect(
            Product.writableColumns(product).map(\.column) == [
                "name", "description", "price_cents", "currency", "stock",
            ])
        #expect(
            product.json.objectValue?.keys == [
                "id", "name", "description", "price_cents", "currency", "stock", "created_at", "updated_at",
            ])
    }

    @Test("a user from a row: roles from comma-separated text, the hash kept but never in the JSON form")
    func user() {
        let row = DictionaryRow(columns: [
            "id": .integer(5), "username": .text("alice"), "roles": .text("admin,editor"),
            "password_hash": .text("$argon2id$..."), "created_at": .text("t"),
        ])
        let user = User(row: row)
        #expect(
            user
                == User(
                    id: 5, username: "alice", roles: ["admin", "editor"], passwordHash: "$argon2id$...", createdAt: "t")
        )
        #expect(user.json == ["id": 5, "username": "alice", "roles": ["admin", "editor"], "created_at": "t"])
        #expect(User(row: DictionaryRow(columns: ["roles": .text("")])).roles == [])
    }

    @Test("GRDB's rows are SQLRows: integers, text, real and null; a missing column is null")
    func grdbRow() throws {
        let queue = try DatabaseQueue()
        let row = try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT 1 AS flag, 'x' AS text, 2.5 AS real, NULL AS empty")
        }
        let values = try #require(row)
        #expect(values.value("flag") == .integer(1))
        #expect(values.value("text") == .text("x"))
        #expect(values.value("real") == .real(2.5))
        #expect(values.value("empty") == .null)
        #expect(values.value("absent") == .null)
        let bound = try queue.read { db in
            try Row.fetchOne(
                db, sql: "SELECT ? AS a, ? AS b, ? AS c",
                arguments: [SQLValue.integer(4), SQLValue.text("t"), SQLValue.null])
        }
        #expect(bound?.value("a") == .integer(4))
        #expect(bound?.value("b") == .text("t"))
        #expect(bound?.value("c") == .null)
    }
}
