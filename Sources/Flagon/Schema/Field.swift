// One field of an object schema: its JSON type, constraints, presence rules and default.

/// One field of an ``ObjectSchema``, as marshmallow's `fields.String(...)` and friends.
///
/// Make fields with ``string(_:required:minLength:maxLength:characters:oneOf:default:allowNull:)``,
/// ``integer(_:required:minimum:maximum:default:allowNull:)`` and
/// ``boolean(_:required:default:allowNull:)``:
///
/// ```swift
/// Field.string("title", required: true, minLength: 1, maxLength: 100)
/// Field.integer("priority", minimum: 1, maximum: 5, default: 3)
/// Field.boolean("completed", default: false)
/// ```
public struct Field: Sendable {
    /// The JSON type a value must have.
    public enum Kind: String, Sendable {
        case string
        case integer
        case boolean
    }

    public let name: String
    public let kind: Kind
    /// An absent required field is `Missing data for required field.`
    public internal(set) var isRequired: Bool
    /// Whether `null` is accepted (it is `Field may not be null.` otherwise).
    public let allowsNull: Bool
    /// The value used when the field is absent; never applied to `null`.
    public internal(set) var defaultValue: JSONValue?
    /// Length bounds of a string, in Unicode scalars (as Python's `len`).
    public let minLength: Int?
    public let maxLength: Int?
    /// The characters a string may contain.
    public let characters: CharacterClass?
    /// The only strings accepted, as marshmallow's `OneOf`.
    public let choices: [String]?
    /// Inclusive bounds of an integer.
    public let minimum: Int64?
    public let maximum: Int64?

    private init(
        name: String, kind: Kind, required: Bool, allowNull: Bool, defaultValue: JSONValue?,
        minLength: Int? = nil, maxLength: Int? = nil, characters: CharacterClass? = nil,
        choices: [String]? = nil, minimum: Int64? = nil, maximum: Int64? = nil
    ) {
        self.name = name
        self.kind = kind
        self.isRequired = required
        self.allowsNull = allowNull
        self.defaultValue = defaultValue
        self.minLength = minLength
        self.maxLength = maxLength
        self.characters = characters
        self.choices = choices
        self.minimum = minimum
        self.maximum = maximum
    }

    /// A JSON string.
    ///
    /// ```swift
    /// Field.string("username", required: true, minLength: 3, maxLength: 32, characters: "A-Za-z0-9_.-")
    /// Field.string("sort", oneOf: ["created_at", "-created_at"], default: "created_at")
    /// ```
    /// - Parameters:
    ///   - minLength: Fewest characters (Unicode scalars) allowed.
    ///   - maxLength: Most characters allowed.
    ///   - characters: The characters allowed; others are `String does not match expected pattern.`
    ///   - choices: The only values allowed (`Must be one of: a, b.`).
    ///   - default: The value of an absent field.
    public static func string(
        _ name: String, required: Bool = false, minLength: Int? = nil, maxLength: Int? = nil,
        characters: CharacterClass? = nil, oneOf choices: [String]? = nil, default defaultValue: String? = nil,
        allowNull: Bool = false
    ) -> Field {
        Field(
            name: name, kind: .string, required: required, allowNull: allowNull,
            defaultValue: defaultValue.map(JSONValue.string), minLength: minLength, maxLength: maxLength,
            characters: characters, choices: choices)
    }

    /// A JSON integer that fits in 64 bits: `3`, never `"3"`, `3.0` or `3e0`.
    ///
    /// ```swift
    /// Field.integer("per_page", minimum: 1, maximum: 100, default: 20)
    /// ```
    /// - Parameters:
    ///   - minimum: The smallest value allowed (inclusive).
    ///   - maximum: The largest value allowed (inclusive).
    ///   - default: The value of an absent field.
    public static func integer(
        _ name: String, required: Bool = false, minimum: Int64? = nil, maximum: Int64? = nil,
        default defaultValue: Int64? = nil, allowNull: Bool = false
    ) -> Field {
        Field(
            name: name, kind: .integer, required: required, allowNull: allowNull,
            defaultValue: defaultValue.map(JSONValue.integer), minimum: minimum, maximum: maximum)
    }

    /// A JSON boolean, `true` or `false` only (in a query string also marshmallow's
    /// `1`/`0`, `yes`/`no`, `on`/`off` and the like).
    ///
    /// ```swift
    /// Field.boolean("completed", default: false)
    /// ```
    public static func boolean(
        _ name: String, required: Bool = false, default defaultValue: Bool? = nil, allowNull: Bool = false
    ) -> Field {
        Field(
            name: name, kind: .boolean, required: required, allowNull: allowNull,
            defaultValue: defaultValue.map(JSONValue.bool))
    }
}
