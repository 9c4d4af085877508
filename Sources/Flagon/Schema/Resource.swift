// A resource declared once: the input schemas, decoding, the JSON form and its JSON Schema all come from it.

/// A model with one declaration of its attributes; everything else about it is derived.
///
/// ```swift
/// extension TaskItem: Resource {
///     static let resource = ResourceDeclaration<TaskItem>(
///         "Task", blank: TaskItem(),
///         .integer("id", \.id, access: .readOnly, minimum: 1),
///         .string("title", \.title, required: true, minLength: 1, maxLength: 100),
///         .boolean("completed", \.completed, default: false),
///         .timestamp("created_at", \.createdAt))
/// }
/// ```
public protocol Resource: Sendable {
    static var resource: ResourceDeclaration<Self> { get }
}

/// The attributes of a resource, in order, and what they give: the input schema (`POST`,
/// `PUT`) and its partial (`PATCH`), the decoded ``Input`` and ``Patch``, the public JSON
/// form and its JSON Schema, all named for the OpenAPI document.
///
/// Each attribute's name is both its JSON member and its storage column, so a store maps
/// rows with the same list (see ``model(from:)``).
public struct ResourceDeclaration<Model: Sendable>: Sendable {
    /// The resource's name in the OpenAPI document, `Task`.
    public let name: String
    public let attributes: [Attribute<Model>]
    /// The value every decoding starts from; the attributes then set what they hold.
    let blank: Model
    /// What clients send to create or replace one, named `<name>Input`.
    public let inputSchema: ObjectSchema
    /// What clients send to change some attributes, named `<name>Patch`.
    public let patchSchema: ObjectSchema
    /// The attributes clients write, in declared order.
    public let writable: [Attribute<Model>]
    /// The attributes of the public JSON form: all but the hidden ones, in declared order.
    let shown: [Attribute<Model>]

    public init(_ name: String, blank: Model, _ attributes: Attribute<Model>...) {
        self.name = name
        self.blank = blank
        self.attributes = attributes
        let input = ObjectSchema(fields: attributes.compactMap(\.input))
        self.inputSchema = input.named(name + "Input")
        self.patchSchema = input.partial.named(name + "Patch")
        // Filtered once here: every response and every write reads them.
        self.writable = attributes.filter { $0.access == .input }
        self.shown = attributes.filter { $0.access != .hidden }
    }

    /// The public JSON form: every attribute but the hidden ones, in declared order.
    public func json(_ model: Model) -> JSONValue {
        .object(JSONObject(shown.map { ($0.name, $0.get(model)) }))
    }

    /// The JSON Schema of ``json(_:)``, as the component `name`.
    public var schema: SchemaComponent {
        SchemaComponent(name, JSONSchema.object(shown.map { ($0.name, $0.responseSchema) }))
    }

    /// A model from attribute values by name; an absent or `null` one keeps the blank value.
    public func model(from values: JSONObject) -> Model {
        var model = blank
        for attribute in attributes {
            if let value = values[attribute.name] { attribute.set(&model, value) }
        }
        return model
    }

    /// Validates a create or replace body; defaults fill what it leaves out.
    /// - Throws: ``HTTPError`` `400` with every field's messages.
    public func input(_ json: JSONValue) throws(HTTPError) -> Input<Model> {
        Input(values: try inputSchema.validate(json), declaration: self)
    }

    /// Validates a partial update's body: only what it carries.
    /// - Throws: ``HTTPError`` `400` with every field's messages.
    public func patch(_ json: JSONValue) throws(HTTPError) -> Patch<Model> {
        Patch(values: try patchSchema.validate(json), declaration: self)
    }
}

/// Every client-written attribute of a new or replaced resource, validated, defaults applied.
public struct Input<Model: Sendable>: Sendable {
    /// Attribute name to value, in declared order.
    public let values: JSONObject
    public let declaration: ResourceDeclaration<Model>

    /// A model with these values over the blank one; the service-set attributes stay blank.
    public var model: Model { declaration.model(from: values) }

    /// The same values as a change of every writable attribute (a `PUT`).
    public var patch: Patch<Model> { Patch(values: values, declaration: declaration) }
}

/// The client-written attributes a partial update sets; the others stay as they are.
public struct Patch<Model: Sendable>: Sendable {
    /// Attribute name to value, only those sent, in declared order.
    public let values: JSONObject
    public let declaration: ResourceDeclaration<Model>

    /// Sets every value this patch carries on `model`.
    public func apply(to model: inout Model) {
        for attribute in declaration.attributes {
            if let value = values[attribute.name] { attribute.set(&model, value) }
        }
    }

    /// `model` with this patch applied.
    public func applied(to model: Model) -> Model {
        var model = model
        apply(to: &model)
        return model
    }
}

/// A named JSON Schema, published under `components/schemas` and referred to by `$ref`.
public struct SchemaComponent: Sendable {
    public let name: String
    public let schema: JSONValue

    public init(_ name: String, _ schema: JSONValue) {
        self.name = name
        self.schema = schema
    }

    /// `{"$ref": "#/components/schemas/<name>"}`.
    public var reference: JSONValue { JSONSchema.reference(name) }
}

extension Request {
    /// Validates the JSON body as the resource's input (`POST`, `PUT`).
    /// - Throws: ``HTTPError`` `415`, `400` as ``decode(_:)`` does.
    public func input<Model>(_ declaration: ResourceDeclaration<Model>) throws -> Input<Model> {
        try declaration.input(jsonBody() ?? .object(JSONObject()))
    }

    /// Validates the JSON body as a partial update of the resource (`PATCH`).
    /// - Throws: ``HTTPError`` `415`, `400` as ``decode(_:)`` does.
    public func patch<Model>(_ declaration: ResourceDeclaration<Model>) throws -> Patch<Model> {
        try declaration.patch(jsonBody() ?? .object(JSONObject()))
    }
}
