// Input types of the schema tests, modelled on the API contract's tasks, products and lists.

import Flagon

/// The guide's `TaskSchema` (API.md section 8).
struct TaskInput: SchemaDecodable, Equatable {
    static let schema = ObjectSchema(
        .string("title", required: true, minLength: 1, maxLength: 100),
        .string("description", maxLength: 500, default: ""),
        .integer("priority", minimum: 1, maximum: 5, default: 3),
        .boolean("completed", default: false))

    var title: String
    var description: String
    var priority: Int
    var completed: Bool
}

/// A partial update of a task: only the fields sent.
struct TaskPatch: SchemaDecodable, Equatable {
    static let schema = TaskInput.schema.partial

    var title: String?
    var description: String?
    var priority: Int?
    var completed: Bool?
}

/// Fields covering the remaining validators: min-only and max-only bounds, characters,
/// choices, exact length, `null` allowed, snake_case names.
struct ProductInput: SchemaDecodable, Equatable {
    static let schema = ObjectSchema(
        .string("name", required: true, minLength: 3),
        .string("sku", characters: "A-Za-z0-9_.-"),
        .string("currency", minLength: 3, maxLength: 3, characters: "A-Z", default: "USD"),
        .integer("price_cents", required: true, minimum: 0),
        .integer("discount", maximum: 10),
        .string("color", oneOf: ["red", "green", "blue"]),
        .string("note", allowNull: true))

    var name: String
    var sku: String?
    var currency: String
    var priceCents: Int64
    var discount: Int?
    var color: Color?
    var note: String?

    enum Color: String, Decodable {
        case red
        case green
        case blue
    }

    enum CodingKeys: String, CodingKey {
        case name, sku, currency, discount, color, note
        case priceCents = "price_cents"
    }
}

/// The list parameters of API.md section 7, with the task filters of section 8.
struct ListQuery: SchemaDecodable, Equatable {
    static let schema = ObjectSchema(
        .integer("page", minimum: 1, default: 1),
        .integer("per_page", minimum: 1, maximum: 100, default: 20),
        .boolean("completed"),
        .string("sort", oneOf: ["created_at", "-created_at", "priority", "-priority"], default: "created_at"),
        .string("q"))

    var page: Int
    var perPage: Int
    var completed: Bool?
    var sort: String
    var q: String?

    enum CodingKeys: String, CodingKey {
        case page, completed, sort, q
        case perPage = "per_page"
    }
}

/// The field errors a schema reports for a JSON text, or nil if it is valid.
func fieldErrors(_ schema: ObjectSchema, _ json: String) throws -> [String: [String]]? {
    let value = try JSONParser.parse(json)
    do {
        _ = try schema.validate(value)
        return nil
    } catch {
        return error.fieldErrors
    }
}

/// The field errors a schema reports for a query string, or nil if it is valid.
func queryErrors(_ schema: ObjectSchema, _ query: String) -> [String: [String]]? {
    do {
        _ = try schema.validate(query: QueryString.parse(query))
        return nil
    } catch {
        return error.fieldErrors
    }
}
