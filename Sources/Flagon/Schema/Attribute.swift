// One attribute of a resource: its name, type, who writes it, its constraints and its key path.

/// One attribute of a ``ResourceDeclaration``: the JSON member and storage column `name`,
/// read and set on the model through its key path.
///
/// ```swift
/// Attribute<TaskItem>.integer("priority", \.priority, minimum: 1, maximum: 5, default: 3)
/// Attribute<TaskItem>.timestamp("created_at", \.createdAt)
/// Attribute<TaskItem>.integer("version", \.version, access: .hidden)
/// ```
public struct Attribute<Model>: Sendable {
    /// The value's type, in JSON and in storage.
    public enum Kind: Sendable {
        case string
        case integer
        case boolean
        /// RFC 3339 text, `2026-11-25T07:00:00Z`.
        case timestamp
        /// A list of strings, stored as one comma-separated text.
        case strings
    }

    /// Who writes the attribute and who sees it.
    public enum Access: Sendable {
        /// Clients write it, through the input schemas, and see it.
        case input
        /// The service sets it; clients see it.
        case readOnly
        /// The service sets and stores it; clients never see it.
        case hidden
    }

    public let name: String
    public let kind: Kind
    public let access: Access
    /// The validation of the value: its type and constraints, and its default in the input.
    let field: Field
    let get: @Sendable (Model) -> JSONValue
    let set: @Sendable (inout Model, JSONValue) -> Void

    /// The attribute's value in `model`, as JSON.
    public func value(of model: Model) -> JSONValue { get(model) }

    /// The input field clients write; nil for an attribute the service sets.
    public var input: Field? { access == .input ? field : nil }

    /// The JSON Schema of the value in a response: its type and constraints, no default.
    public var responseSchema: JSONValue {
        switch kind {
        case .timestamp: return JSONSchema.dateTime
        case .strings: return JSONSchema.array(of: JSONSchema.string)
        case .string, .integer, .boolean:
            guard case .object(var schema) = field.jsonSchema else { return field.jsonSchema }
            schema["default"] = nil
            return .object(schema)
        }
    }

    /// A string.
    public static func string(
        _ name: String, _ keyPath: WritableKeyPath<Model, String> & Sendable, access: Access = .input,
        required: Bool = false, minLength: Int? = nil, maxLength: Int? = nil, characters: CharacterClass? = nil,
        default defaultValue: String? = nil
    ) -> Attribute {
        Attribute(
            name: name, kind: .string, access: access,
            field: .string(
                name, required: required, minLength: minLength, maxLength: maxLength, characters: characters,
                default: defaultValue),
            get: { .string($0[keyPath: keyPath]) },
            set: { model, value in if case .string(let text) = value { model[keyPath: keyPath] = text } })
    }

    /// An integer of any width; the value must fit it.
    public static func integer<Value: FixedWidthInteger & Sendable>(
        _ name: String, _ keyPath: WritableKeyPath<Model, Value> & Sendable, access: Access = .input,
        required: Bool = false, minimum: Int64? = nil, maximum: Int64? = nil, default defaultValue: Int64? = nil
    ) -> Attribute {
        Attribute(
            name: name, kind: .integer, access: access,
            field: .integer(name, required: required, minimum: minimum, maximum: maximum, default: defaultValue),
            get: { .integer(Int64($0[keyPath: keyPath])) },
            set: { model, value in
                if case .integer(let number) = value, let number = Value(exactly: number) {
                    model[keyPath: keyPath] = number
                }
            })
    }

    /// A boolean.
    public static func boolean(
        _ name: String, _ keyPath: WritableKeyPath<Model, Bool> & Sendable, access: Access = .input,
        required: Bool = false, default defaultValue: Bool? = nil
    ) -> Attribute {
        Attribute(
            name: name, kind: .boolean, access: access,
            field: .boolean(name, required: required, default: defaultValue),
            get: { .bool($0[keyPath: keyPath]) },
            set: { model, value in if case .bool(let flag) = value { model[keyPath: keyPath] = flag } })
    }

    /// A time the service sets, RFC 3339 text.
    public static func timestamp(
        _ name: String, _ keyPath: WritableKeyPath<Model, String> & Sendable, access: Access = .readOnly
    ) -> Attribute {
        Attribute(
            name: name, kind: .timestamp, access: access, field: .string(name),
            get: { .string($0[keyPath: keyPath]) },
            set: { model, value in if case .string(let text) = value { model[keyPath: keyPath] = text } })
    }

    /// A list of strings the service sets, such as roles; input schemas have no list fields.
    public static func strings(
        _ name: String, _ keyPath: WritableKeyPath<Model, [String]> & Sendable, access: Access = .readOnly
    ) -> Attribute {
        precondition(access != .input, "a list attribute cannot be client-written: \(name)")
        return Attribute(
            name: name, kind: .strings, access: access, field: .string(name),
            get: { .array($0[keyPath: keyPath].map(JSONValue.string)) },
            set: { model, value in
                if case .array(let items) = value { model[keyPath: keyPath] = items.compactMap(\.stringValue) }
            })
    }
}
