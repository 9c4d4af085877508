// A catalogue product, the fields an admin writes, and how a product appears in API responses.

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

    public init(id: Int64, fields: ProductFields, createdAt: String, updatedAt: String) {
        self.id = id
        self.name = fields.name
        self.description = fields.description
        self.priceCents = fields.priceCents
        self.currency = fields.currency
        self.stock = fields.stock
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Everything but the id and the timestamps.
    public var fields: ProductFields {
        ProductFields(
            name: name, description: description, priceCents: priceCents, currency: currency, stock: stock)
    }

    /// The public form: `{"id", "name", "description", "price_cents", "currency", "stock",
    /// "created_at", "updated_at"}`.
    public var json: JSONValue {
        [
            "id": .integer(id), "name": .string(name), "description": .string(description),
            "price_cents": .integer(priceCents), "currency": .string(currency), "stock": .integer(stock),
            "created_at": .string(createdAt), "updated_at": .string(updatedAt),
        ]
    }
}

/// The fields an admin writes, already validated: what `POST` creates and `PUT` replaces.
public struct ProductFields: Sendable, Equatable {
    public var name: String
    public var description: String
    public var priceCents: Int64
    public var currency: String
    public var stock: Int64

    public init(name: String, description: String, priceCents: Int64, currency: String, stock: Int64) {
        self.name = name
        self.description = description
        self.priceCents = priceCents
        self.currency = currency
        self.stock = stock
    }

    /// These fields with every change that `changes` carries.
    public func applying(_ changes: ProductChanges) -> ProductFields {
        ProductFields(
            name: changes.name ?? name, description: changes.description ?? description,
            priceCents: changes.priceCents ?? priceCents, currency: changes.currency ?? currency,
            stock: changes.stock ?? stock)
    }
}

/// The fields a `PATCH` sent, already validated; nil means "leave as it is".
public struct ProductChanges: Sendable, Equatable {
    public var name: String?
    public var description: String?
    public var priceCents: Int64?
    public var currency: String?
    public var stock: Int64?

    public init(
        name: String? = nil, description: String? = nil, priceCents: Int64? = nil, currency: String? = nil,
        stock: Int64? = nil
    ) {
        self.name = name
        self.description = description
        self.priceCents = priceCents
        self.currency = currency
        self.stock = stock
    }
}
