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
            get: { [property = Property(keyPath)] in .string(property.get($0)) },
            set: { [property = Property(keyPath)] model, value in
                if case .string(let text) = value { property.set(&model, text) }
            })
    }

    /// An integer of any width; the value must fit it.
    public static func integer<Value: FixedWidthInteger & Sendable>(
        _ name: String, _ keyPath: WritableKeyPath<Model, Value> & Sendable, access: Access = .input,
        required: Bool = false, minimum: Int64? = nil, maximum: Int64? = nil, default defaultValue: Int64? = nil
    ) -> Attribute {
        Attribute(
            name: name, kind: .integer, access: access,
            field: .integer(name, required: required, minimum: minimum, maximum: maximum, default: defaultValue),
            get: { [property = Property(keyPath)] in .integer(Int64(property.get($0))) },
            set: { [property = Property(keyPath)] model, value in
                if case .integer(let number) = value, let number = Value(exactly: number) {
                    property.set(&model, number)
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
            get: { [property = Property(keyPath)] in .bool(property.get($0)) },
            set: { [property = Property(keyPath)] model, value in
                if case .bool(let flag) = value { property.set(&model, flag) }
            })
    }

    /// A time the service sets, RFC 3339 text.
    public static func timestamp(
        _ name: String, _ keyPath: WritableKeyPath<Model, String> & Sendable, access: Access = .readOnly
    ) -> Attribute {
        Attribute(
            name: name, kind: .timestamp, access: access, field: .string(name),
            get: { [property = Property(keyPath)] in .string(property.get($0)) },
            set: { [property = Property(keyPath)] model, value in
                if case .string(let text) = value { property.set(&model, text) }
            })
    }

    /// A list of strings the service sets, such as roles; input schemas have no list fields.
    public static func strings(
        _ name: String, _ keyPath: WritableKeyPath<Model, [String]> & Sendable, access: Access = .readOnly
    ) -> Attribute {
        precondition(access != .input, "a list attribute cannot be client-written: \(name)")
        return Attribute(
            name: name, kind: .strings, access: access, field: .string(name),
            get: { [property = Property(keyPath)] in .array(property.get($0).map(JSONValue.string)) },
            set: { [property = Property(keyPath)] model, value in
                if case .array(let items) = value { property.set(&model, items.compactMap(\.stringValue)) }
            })
    }
}

/// One property of a model, read and written through its byte offset when the key path names
/// a stored property of a struct: a load or a store, where applying a key path costs a runtime
/// projection (and a generic metadata lookup) of several hundred instructions, a dozen times
/// per written resource. Any other key path is applied as it is.
struct Property<Model, Value>: Sendable {
    let keyPath: WritableKeyPath<Model, Value> & Sendable
    let offset: Int?

    init(_ keyPath: WritableKeyPath<Model, Value> & Sendable) {
        self.keyPath = keyPath
        offset = MemoryLayout<Model>.offset(of: keyPath)
    }

    func get(_ model: Model) -> Value {
        guard let offset else { return model[keyPath: keyPath] }
        return withUnsafePointer(to: model) { pointer in
            UnsafeRawPointer(pointer).advanced(by: offset).assumingMemoryBound(to: Value.self).pointee
        }
    }

    func set(_ model: inout Model, _ value: Value) {
        guard let offset else {
            model[keyPath: keyPath] = value
            return
        }
        withUnsafeMutablePointer(to: &model) { pointer in
            UnsafeMutableRawPointer(pointer).advanced(by: offset).assumingMemoryBound(to: Value.self).pointee = value
        }
    }
}
