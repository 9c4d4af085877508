// Catalogue products in PostgreSQL; parameterised SQL only.

/// ``ProductStore`` on the service's PostgreSQL database.
///
/// The name search is `lower(name) LIKE '%' || $1 || '%' ESCAPE '\'` with `\`, `%` and `_` of
/// the query escaped, so they are ordinary characters; the name is `COLLATE "C"`, so `lower()`
/// folds ASCII letters only, as SQLite's does (`é` finds "café", not "CAFÉ").
public struct PostgresProductStore: ProductStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    public func createProduct(_ fields: ProductFields) throws -> Product {
        let now = Timestamps.now()
        let rows = try database.transaction { connection in
            try connection.query(
                """
                INSERT INTO products (name, description, price_cents, currency, stock, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *
                """, Self.values(fields) + [.text(now), .text(now)])
        }
        guard let row = rows.first else { throw PostgresError(sqlState: nil, message: "INSERT returned no row") }
        return Self.product(row)
    }

    public func product(id: Int64) throws -> Product? {
        try database.withConnection { connection in
            try connection.query("SELECT * FROM products WHERE id = $1", [.integer(id)]).first.map(Self.product)
        }
    }

    public func products(matching query: String?, offset: Int, limit: Int) throws -> (products: [Product], total: Int) {
        let page: [SQLValue] = [.integer(Int64(limit)), .integer(Int64(offset))]
        return try database.snapshot { connection in
            guard let query else {
                let total = try connection.query("SELECT count(*) FROM products").first?.first
                let rows = try connection.query("SELECT * FROM products ORDER BY id LIMIT $1 OFFSET $2", page)
                return (rows.map(Self.product), total?.integer.map(Int.init) ?? 0)
            }
            let match = "lower(name) LIKE '%' || lower($1 COLLATE \"C\") || '%' ESCAPE '\\'"
            let pattern = SQLValue.text(Self.escapedForLike(query))
            let total = try connection.query("SELECT count(*) FROM products WHERE \(match)", [pattern]).first?.first
            let rows = try connection.query(
                "SELECT * FROM products WHERE \(match) ORDER BY id LIMIT $2 OFFSET $3", [pattern] + page)
            return (rows.map(Self.product), total?.integer.map(Int.init) ?? 0)
        }
    }

    public func replaceProduct(id: Int64, with fields: ProductFields) throws -> Product? {
        try write(id: id) { _ in fields }
    }

    public func updateProduct(id: Int64, with changes: ProductChanges) throws -> Product? {
        try write(id: id) { $0.applying(changes) }
    }

    public func deleteProduct(id: Int64) throws -> Bool {
        try database.transaction { connection in
            try connection.execute("DELETE FROM products WHERE id = $1", [.integer(id)]) > 0
        }
    }

    /// Reads with `FOR UPDATE`, changes and stores one product in one transaction, so two
    /// workers patching different fields at once both keep their change (the second waits
    /// for the first's commit). `updated_at` moves only when a stored value changes.
    private func write(id: Int64, _ change: (ProductFields) -> ProductFields) throws -> Product? {
        try database.transaction { connection in
            guard
                let product = try connection.query("SELECT * FROM products WHERE id = $1 FOR UPDATE", [.integer(id)])
                    .first.map(Self.product)
            else { return nil }
            let fields = change(product.fields)
            guard fields != product.fields else { return product }
            let now = Timestamps.now()
            try connection.execute(
                """
                UPDATE products SET name = $1, description = $2, price_cents = $3, currency = $4, stock = $5,
                    updated_at = $6
                WHERE id = $7
                """, Self.values(fields) + [.text(now), .integer(id)])
            return Product(id: id, fields: fields, createdAt: product.createdAt, updatedAt: now)
        }
    }

    private static func values(_ fields: ProductFields) -> [SQLValue] {
        [
            .text(fields.name), .text(fields.description), .integer(fields.priceCents), .text(fields.currency),
            .integer(fields.stock),
        ]
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

    /// The one mapping of a `products` row.
    static func product(_ row: some SQLRow) -> Product {
        Product(
            id: row.int64("id") ?? 0,
            fields: ProductFields(
                name: row.string("name") ?? "", description: row.string("description") ?? "",
                priceCents: row.int64("price_cents") ?? 0, currency: row.string("currency") ?? "",
                stock: row.int64("stock") ?? 0),
            createdAt: row.string("created_at") ?? "", updatedAt: row.string("updated_at") ?? "")
    }
}
