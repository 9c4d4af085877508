// Input types declared with a schema: validated first, then decoded into a typed value.

/// A `Decodable` input type with the ``ObjectSchema`` that validates it.
///
/// Handlers receive only values that passed the schema: ``Request/decode(_:)`` and
/// ``Request/query(_:)`` validate, throw a `400` with every field error, and only then
/// decode. Property names (or `CodingKeys`) are the field names; a field that may be
/// absent without a default, or `null`, needs an optional property.
///
/// ```swift
/// struct TaskInput: SchemaDecodable {
///     static let schema = ObjectSchema(
///         .string("title", required: true, minLength: 1, maxLength: 100),
///         .integer("priority", minimum: 1, maximum: 5, default: 3))
///     var title: String
///     var priority: Int
/// }
///
/// tasks.post("/") { request in
///     let input = try request.decode(TaskInput.self)
///     ...
/// }
/// ```
public protocol SchemaDecodable: Decodable {
    /// The fields of this input, their constraints and defaults.
    static var schema: ObjectSchema { get }
}

extension SchemaDecodable {
    /// Validates a JSON value against ``schema`` and decodes the result.
    ///
    /// - Throws: ``HTTPError`` `400` with every field error. A `DecodingError` means the
    ///   Swift type does not match its schema, a programming error that answers `500`.
    public static func decode(from json: JSONValue) throws -> Self {
        try Self(validated: schema.validate(json))
    }

    /// Validates query parameters against ``schema`` and decodes the result.
    public static func decode(query items: [(name: String, value: String)]) throws -> Self {
        try Self(validated: schema.validate(query: items))
    }

    private init(validated object: JSONObject) throws {
        try self.init(from: SchemaDecoder(value: .object(object), codingPath: []))
    }
}
