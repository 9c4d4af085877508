// A resource's storage mapping, from its declaration: rows to values, values to bound columns.

import Flagon

extension Resource {
    /// The value a result row holds, read by the declaration's column names; either
    /// backend's row will do.
    public init(row: some SQLRow) {
        self = Self.resource.model(from: row)
    }

    /// The client-written columns of a new or replaced row and their values, in declared
    /// order: what an `INSERT` or a full `UPDATE` binds.
    public static func writableColumns(_ input: Input<Self>) -> [(column: String, value: SQLValue)] {
        writableColumns(input.model)
    }

    /// The client-written columns of a stored value and their values, in declared order.
    public static func writableColumns(_ model: Self) -> [(column: String, value: SQLValue)] {
        resource.writable.map { ($0.name, SQLValue($0.value(of: model))) }
    }

    /// The client-written columns in declared order, each with the value the patch sets or
    /// `.null` where it sets none: what `SET column = coalesce(?, column)` binds.
    public static func patchColumns(_ patch: Patch<Self>) -> [(column: String, value: SQLValue)] {
        resource.writable.map { ($0.name, patch.values[$0.name].map(SQLValue.init) ?? .null) }
    }
}

extension ResourceDeclaration {
    /// The value a row holds: each attribute's column, read as its kind.
    public func model(from row: some SQLRow) -> Model {
        model(from: JSONObject(attributes.map { ($0.name, $0.jsonValue(row.value($0.name))) }))
    }
}

extension Attribute {
    /// A column's value as this attribute's JSON value: booleans from `0`/`1`, lists from
    /// comma-separated text.
    func jsonValue(_ value: SQLValue) -> JSONValue {
        switch (kind, value) {
        case (_, .null): return .null
        case (.boolean, .integer(let number)): return .bool(number != 0)
        case (.integer, .integer(let number)): return .integer(number)
        case (.string, .text(let text)), (.timestamp, .text(let text)): return .string(text)
        case (.strings, .text(let text)): return .array(text.split(separator: ",").map { .string(String($0)) })
        default: return .null
        }
    }
}

extension SQLValue {
    /// A JSON value as a column binds it: booleans as `0`/`1`, lists as comma-separated text.
    public init(_ json: JSONValue) {
        switch json {
        case .bool(let flag): self = .integer(flag ? 1 : 0)
        case .integer(let number): self = .integer(number)
        case .number(let number): self = .real(number)
        case .string(let text), .bigInteger(let text): self = .text(text)
        case .array(let items): self = .text(items.compactMap(\.stringValue).joined(separator: ","))
        case .null, .object: self = .null
        }
    }
}
