// Catalogue products in the embedded SQLite database; parameterised SQL only.

import Flagon
import GRDB

/// ``ProductStore`` on the service's SQLite database.
///
/// The name search is `instr(lower(name), lower(?)) > 0`: a plain substring test, so `%`
/// and `_` in the query are ordinary characters and nothing needs escaping. SQLite's
/// `lower()` folds ASCII letters only: `wid` finds "Widget", but a non-ASCII letter
/// matches only in the same case (`é` finds "café", not "CAFÉ"). A PostgreSQL store would
/// fold by its collation instead (`strpos(lower(name), lower($1)) > 0`).
///
/// Rows become products, and products bound columns, through ``Product/resource``.
public struct SQLiteProductStore: ProductStore {
    let database: Database

    public init(database: Database) { self.database = database }

    public func createProduct(_ fields: Input<Product>) throws -> Product {
        let now = Timestamps.now()
        // name, description, price_cents, currency, stock: the declaration's order.
        let columns = Product.writableColumns(fields).map(\.value)
        return try database.write(joiningRound: true) { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO products (name, description, price_cents, currency, stock, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).run(columns + [.text(now), .text(now)])
            var product = fields.model
            product.id = db.lastInsertedRowID
            product.createdAt = now
            product.updatedAt = now
            return product
        }
    }

    public func product(id: Int64) throws -> Product? {
        try database.read { db in try Self.product(id: id, in: db) }
    }

    public func products(matching query: String?, offset: Int, limit: Int) throws -> (products: [Product], total: Int) {
        // One read transaction: the count and the page come from the same snapshot.
        try database.read { db in
            guard let query else {
                let total = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM products")) ?? 0
                let rows = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT * FROM products ORDER BY id LIMIT ? OFFSET ?"),
                    arguments: [limit, offset])
                return (rows.map(Product.init(row:)), total)
            }
            let total =
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT count(*) FROM products WHERE instr(lower(name), lower(?)) > 0"),
                    arguments: [query]) ?? 0
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT * FROM products WHERE instr(lower(name), lower(?)) > 0 ORDER BY id LIMIT ? OFFSET ?"),
                arguments: [query, limit, offset])
            return (rows.map(Product.init(row:)), total)
        }
    }

    public func replaceProduct(id: Int64, with fields: Input<Product>) throws -> Product {
        try write(id: id, fields.patch)
    }

    public func updateProduct(id: Int64, with changes: Patch<Product>) throws -> Product {
        try write(id: id, changes)
    }

    public func deleteProduct(id: Int64) throws {
        try database.write(joiningRound: true) { db in
            try db.cachedStatement(sql: "DELETE FROM products WHERE id = ?").execute(arguments: [id])
            if db.changesCount == 0 { throw ProductError.notFound }
        }
    }

    /// Reads, changes and stores one product in a single write transaction, so two workers
    /// patching different fields at once both keep their change. `updated_at` moves only
    /// when a stored value changes, as an ORM's `onupdate` fires only for a real UPDATE.
    private func write(id: Int64, _ patch: Patch<Product>) throws -> Product {
        try database.write(joiningRound: true) { db in
            guard let product = try Self.product(id: id, in: db) else { throw ProductError.notFound }
            var changed = patch.applied(to: product)
            guard changed != product else { return product }
            let now = Timestamps.now()
            try db.cachedStatement(
                sql: """
                    UPDATE products SET name = ?, description = ?, price_cents = ?, currency = ?, stock = ?,
                        updated_at = ?
                    WHERE id = ?
                    """
            ).run(Product.writableColumns(changed).map(\.value) + [.text(now), .integer(id)])
            changed.updatedAt = now
            return changed
        }
    }

    private static func product(id: Int64, in db: GRDB.Database) throws -> Product? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM products WHERE id = ?"), arguments: [id]).map(
            Product.init(row:))
    }
}
