// An object schema: the fields of one input, validated all at once as marshmallow does.

/// The fields of a JSON object body or of a query string, as a marshmallow `Schema`.
///
/// One declaration serves three uses: ``validate(_:)`` checks input and reports every
/// field error at once, ``SchemaDecodable`` turns the result into a typed value, and
/// ``jsonSchema`` describes it for the OpenAPI document.
///
/// ```swift
/// let taskSchema = ObjectSchema(
///     .string("title", required: true, minLength: 1, maxLength: 100),
///     .string("description", maxLength: 500, default: ""),
///     .integer("priority", minimum: 1, maximum: 5, default: 3),
///     .boolean("completed", default: false))
/// let valid = try taskSchema.validate(["title": "Write tests"])
/// // {"title": "Write tests", "description": "", "priority": 3, "completed": false}
/// ```
public struct ObjectSchema: Sendable {
    public let fields: [Field]
    /// The name of the schema under `components/schemas` when the OpenAPI document refers
    /// to it; nil to describe it inline.
    public private(set) var name: String?
    /// The position of each field by name, so checking every key of a large body stays linear.
    private let positions: [String: Int]

    /// The most `Unknown field.` errors one body reports, for its first unknown keys in
    /// document order. A body may have up to ``JSONParser/maximumMembers`` keys; echoing
    /// them all would turn one bad request into a response as large as the body, and a
    /// client that sent that many wrong keys learns enough from the first few.
    public static let maximumUnknownFieldErrors = 20

    public init(_ fields: Field...) { self.init(fields: fields) }

    public init(fields: [Field]) {
        self.fields = fields
        var positions: [String: Int] = [:]
        for (index, field) in fields.enumerated() where positions[field.name] == nil { positions[field.name] = index }
        self.positions = positions
    }

    /// The field of that name, if the schema has one.
    public func field(named name: String) -> Field? {
        positions[name].map { fields[$0] }
    }

    /// The same schema, published in the OpenAPI document as the component `name`.
    public func named(_ name: String) -> ObjectSchema {
        var schema = self
        schema.name = name
        return schema
    }

    /// The same fields for a partial update (`PATCH`), as marshmallow's `partial=True`:
    /// nothing is required and no defaults are applied, so only the fields sent are
    /// validated and returned. The partial schema has no name of its own.
    ///
    /// ```swift
    /// struct TaskPatch: SchemaDecodable {
    ///     static let schema = TaskInput.schema.partial
    ///     var title: String?
    /// }
    /// ```
    public var partial: ObjectSchema {
        ObjectSchema(
            fields: fields.map { field in
                var field = field
                field.isRequired = false
                field.defaultValue = nil
                return field
            })
    }

    /// Validates a JSON body: it must be an object, every field valid, no unknown fields.
    /// Unknown fields are reported up to ``maximumUnknownFieldErrors``.
    ///
    /// - Returns: The fields present or defaulted, in schema order.
    /// - Throws: ``HTTPError/validation(_:)`` with every field's messages, or with
    ///   `_schema: ["Invalid input type."]` if the value is not an object.
    public func validate(_ input: JSONValue) throws(HTTPError) -> JSONObject {
        guard case .object(let object) = input else {
            throw .validation([ValidationMessage.schemaKey: [ValidationMessage.invalidInput]])
        }
        return try validate(object, rejectingUnknown: true)
    }

    /// Validates query parameters: text is read as each field's type (`page=3` is the
    /// integer 3; `page=`, `page=3.0` and `page=abc` are `Not a valid integer.`). The first
    /// value of a repeated name counts, and names not in the schema are ignored.
    ///
    /// ```swift
    /// let query = try listSchema.validate(query: request.queryItems)
    /// ```
    public func validate(query items: [(name: String, value: String)]) throws(HTTPError) -> JSONObject {
        var object = JSONObject()
        for item in items where object[item.name] == nil {
            if let field = field(named: item.name) { object[item.name] = field.value(fromQuery: item.value) }
        }
        return try validate(object, rejectingUnknown: false)
    }

    private func validate(_ object: JSONObject, rejectingUnknown: Bool) throws(HTTPError) -> JSONObject {
        var valid = JSONObject()
        var errors: [String: [String]] = [:]
        for field in fields {
            if let value = object[field.name] {
                let problems = field.problems(with: value)
                if problems.isEmpty { valid[field.name] = value } else { errors[field.name] = problems }
            } else if field.isRequired {
                errors[field.name] = [ValidationMessage.required]
            } else if let defaultValue = field.defaultValue {
                valid[field.name] = defaultValue
            }
        }
        if rejectingUnknown {
            var reported = 0
            for (key, _) in object where positions[key] == nil {
                errors[key] = [ValidationMessage.unknownField]
                reported += 1
                if reported == Self.maximumUnknownFieldErrors { break }
            }
        }
        guard errors.isEmpty else { throw .validation(errors) }
        return valid
    }

    /// The schema as JSON Schema: `{"type": "object", "properties": {...}, "required": [...],
    /// "additionalProperties": false}`, each property with its constraints and default.
    /// `required` is left out when no field is required.
    public var jsonSchema: JSONValue {
        var schema = JSONObject([("type", "object")])
        schema["properties"] = .object(JSONObject(fields.map { ($0.name, $0.jsonSchema) }))
        let required = fields.filter(\.isRequired).map { JSONValue.string($0.name) }
        if !required.isEmpty { schema["required"] = .array(required) }
        schema["additionalProperties"] = false
        return .object(schema)
    }
}
