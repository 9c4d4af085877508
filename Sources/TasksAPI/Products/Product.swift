// A catalogue product, declared once: what an admin writes, its JSON form, row mapping and OpenAPI schemas.

import Flagon

/// A product of the public catalogue (API contract §9).
public struct Product: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var description: String
    /// The price in the currency's minor unit (cents), never negative.
    public var priceCents: Int64
    /// An ISO 4217-style code of three upper-case letters, `USD`.
    public var currency: String
    public var stock: Int64
    /// RFC 3339 UTC, `2026-11-25T07:00:00Z`.
    public var createdAt: String
    /// RFC 3339 UTC; changes whenever a write changes a stored value.
    public var updatedAt: String

    public init(
        id: Int64 = 0, name: String = "", description: String = "", priceCents: Int64 = 0, currency: String = "USD",
        stock: Int64 = 0, createdAt: String = "", updatedAt: String = ""
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.priceCents = priceCents
        self.currency = currency
        self.stock = stock
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The public form: `{"id", "name", "description", "price_cents", "currency", "stock",
    /// "created_at", "updated_at"}`.
    public var json: JSONValue { Self.resource.json(self) }
}

extension Product: Resource {
    /// The columns of the `products` table, in the order of the JSON form.
    public static let resource = ResourceDeclaration<Product>(
        "Product", blank: Product(),
        .integer("id", \.id, access: .readOnly, minimum: 1),
        .string("name", \.name, required: true, minLength: 1, maxLength: 200),
        .string("description", \.description, maxLength: 2000, default: ""),
        .integer("price_cents", \.priceCents, required: true, minimum: 0),
        .string("currency", \.currency, minLength: 3, maxLength: 3, characters: "A-Z", default: "USD"),
        .integer("stock", \.stock, minimum: 0, default: 0),
        .timestamp("created_at", \.createdAt),
        .timestamp("updated_at", \.updatedAt))
}
