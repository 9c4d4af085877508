// Small builders for the JSON Schemas of response bodies (2020-12, as OpenAPI 3.1 uses it).

/// JSON Schema fragments for documenting responses; input schemas come from ``ObjectSchema``.
///
/// ```swift
/// let task = JSONSchema.object([
///     ("id", JSONSchema.integer), ("title", JSONSchema.string), ("created_at", JSONSchema.dateTime),
/// ])
/// // {"type": "object", "properties": {...}, "required": ["id", "title", "created_at"]}
/// ```
public enum JSONSchema {
    public static let string: JSONValue = ["type": "string"]
    public static let integer: JSONValue = ["type": "integer"]
    public static let boolean: JSONValue = ["type": "boolean"]
    public static let number: JSONValue = ["type": "number"]
    /// An RFC 3339 time, `2026-11-25T07:00:00Z`.
    public static let dateTime: JSONValue = ["type": "string", "format": "date-time"]

    /// A string that is always `value`.
    public static func constant(_ value: String) -> JSONValue {
        ["type": "string", "const": .string(value)]
    }

    /// `{"$ref": "#/components/schemas/<name>"}`: a schema of the document's components.
    public static func reference(_ name: String) -> JSONValue {
        ["$ref": .string("#/components/schemas/\(name)")]
    }

    public static func array(of items: JSONValue) -> JSONValue {
        ["type": "array", "items": items]
    }

    /// An object with these properties.
    ///
    /// - Parameter required: The properties that are always present; all of them by default.
    public static func object(_ properties: [(String, JSONValue)], required: [String]? = nil) -> JSONValue {
        var schema = JSONObject([("type", "object")])
        schema["properties"] = .object(JSONObject(properties))
        let required = required ?? properties.map(\.0)
        if !required.isEmpty { schema["required"] = .array(required.map(JSONValue.string)) }
        return .object(schema)
    }
}
