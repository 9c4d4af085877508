// A field described as JSON Schema, for the OpenAPI document.

extension Field {
    /// The field as a JSON Schema (2020-12, as OpenAPI 3.1 uses it).
    ///
    /// ```swift
    /// Field.integer("priority", minimum: 1, maximum: 5, default: 3).jsonSchema
    /// // {"type": "integer", "minimum": 1, "maximum": 5, "default": 3}
    /// ```
    /// A field that allows `null` has the type `["integer", "null"]`.
    public var jsonSchema: JSONValue {
        var schema = JSONObject()
        schema["type"] = allowsNull ? [.string(kind.rawValue), "null"] : .string(kind.rawValue)
        if let choices { schema["enum"] = .array(choices.map(JSONValue.string)) }
        if let minLength { schema["minLength"] = .integer(Int64(minLength)) }
        if let maxLength { schema["maxLength"] = .integer(Int64(maxLength)) }
        if let characters { schema["pattern"] = .string(characters.pattern) }
        if let minimum { schema["minimum"] = .integer(minimum) }
        if let maximum { schema["maximum"] = .integer(maximum) }
        if let defaultValue { schema["default"] = defaultValue }
        return .object(schema)
    }
}
