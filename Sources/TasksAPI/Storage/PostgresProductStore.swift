// Catalogue products in PostgreSQL; parameterised SQL only.

import Flagon

/// ``ProductStore`` on the service's PostgreSQL database.
///
/// The name search is `lower(name) LIKE '%' || $1 || '%' ESCAPE '\'` with `\`, `%` and `_` of
/// the query escaped, so they are ordinary characters; the name is `COLLATE "C"`, so `lower()`
/// folds ASCII letters only, as SQLite's does (`é` finds "café", not "CAFÉ").
public struct PostgresProductStore: ProductStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    public func createProduct(_ fields: Input<Product>) throws -> Product {
        let now = Timestamps.now()
        let rows = try database.transaction { connection in
            try connection.query(
                """
                INSERT INTO products (name, description, price_cents, currency, stock, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *
                """, Product.writableColumns(fields).map(\.value) + [.text(now), .text(now)])
        }
        guard let row = rows.first else { throw PostgresError(sqlState: nil, message: "INSERT returned no row") }
        return Product(row: row)
    }

    public func product(id: Int64) throws -> Product? {
        try database.withConnection { connection in
            try connection.query("SELECT * FROM products WHERE id = $1", [.integer(id)]).first.map(Product.init(row:))
        }
    }

    public func products(matching query: String?, offset: Int, limit: Int) throws -> (products: [Product], total: Int) {
        let page: [SQLValue] = [.integer(Int64(limit)), .integer(Int64(offset))]
        return try database.snapshot { connection in
            guard let query else {
                let total = try connection.query("SELECT count(*) FROM products").first?.first
                let rows = try connection.query("SELECT * FROM products ORDER BY id LIMIT $1 OFFSET $2", page)
                return (rows.map(Product.init(row:)), total?.integer.map(Int.init) ?? 0)
            }
            let match = "lower(name) LIKE '%' || lower($1 COLLATE \"C\") || '%' ESCAPE '\\'"
            let pattern = SQLValue.text(Self.escapedForLike(query))
            let total = try connection.query("SELECT count(*) FROM products WHERE \(match)", [pattern]).first?.first
            let rows = try connection.query(
                "SELECT * FROM products WHERE \(match) ORDER BY id LIMIT $2 OFFSET $3", [pattern] + page)
            return (rows.map(Product.init(row:)), total?.integer.map(Int.init) ?? 0)
        }
    }

    public func replaceProduct(id: Int64, with fields: Input<Product>) throws -> Product {
        try write(id: id, fields.patch)
    }

    public func updateProduct(id: Int64, with changes: Patch<Product>) throws -> Product {
        try write(id: id, changes)
    }

    public func deleteProduct(id: Int64) throws {
        try database.transaction { connection in
            if try connection.execute("DELETE FROM products WHERE id = $1", [.integer(id)]) == 0 {
                throw ProductError.notFound
            }
        }
    }

    /// Reads with `FOR UPDATE`, changes and stores one product in one transaction, so two
    /// workers patching different fields at once both keep their change (the second waits
    /// for the first's commit). `updated_at` moves only when a stored value changes.
    private func write(id: Int64, _ patch: Patch<Product>) throws -> Product {
        try database.transaction { connection in
            guard
                let product = try connection.query("SELECT * FROM products WHERE id = $1 FOR UPDATE", [.integer(id)])
                    .first.map(Product.init(row:))
            else { throw ProductError.notFound }
            var changed = patch.applied(to: product)
            guard changed != product else { return product }
            let now = Timestamps.now()
            try connection.execute(
                """
                UPDATE products SET name = $1, description = $2, price_cents = $3, currency = $4, stock = $5,
                    updated_at = $6
                WHERE id = $7
                """, Product.writableColumns(changed).map(\.value) + [.text(now), .integer(id)])
            changed.updatedAt = now
            return changed
        }
    }

    /// `query` as a LIKE pattern matching itself only: its `\`, `%` and `_` escaped by `\`.
    static func escapedForLike(_ query: String) -> String {
        var escaped = ""
        for character in query {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

}
