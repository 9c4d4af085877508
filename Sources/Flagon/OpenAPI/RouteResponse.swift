// The success response a route declares for its documentation: status, description, body schema.

/// What a route answers when it succeeds, as flask-smorest's `@blp.response(200, Schema)`.
///
/// Only documentation reads it; the handler still builds its own ``Response``.
///
/// ```swift
/// tasks.post("", body: TaskInput.schema, response: .created("The new task", schema: taskSchema)) { ... }
/// tasks.delete("/{id:int}", response: .noContent("The task is gone")) { ... }
/// ```
public struct RouteResponse: Sendable {
    public var status: HTTPStatus
    public var description: String
    /// The media type of the body; nil for a response without one (`204`).
    public var contentType: String?
    /// The JSON Schema of a JSON body; nil when the body is not JSON or not described.
    public var schema: JSONValue?
    /// Header fields worth documenting, name and description, such as `Location`.
    public var headers: [ResponseHeader]
    /// The named schemas `schema` refers to, for the document's `components`.
    public var components: [SchemaComponent] = []

    public init(
        status: HTTPStatus, description: String, contentType: String?, schema: JSONValue? = nil,
        headers: [ResponseHeader] = []
    ) {
        self.status = status
        self.description = description
        self.contentType = contentType
        self.schema = schema
        self.headers = headers
    }

    /// A JSON body, `200` by default.
    public static func json(
        _ description: String, schema: JSONValue, status: HTTPStatus = .ok, headers: [ResponseHeader] = []
    ) -> RouteResponse {
        RouteResponse(
            status: status, description: description, contentType: "application/json", schema: schema,
            headers: headers)
    }

    /// A JSON body of a named schema, referred to by `$ref`; `200` by default.
    public static func json(
        _ description: String, schema: SchemaComponent, status: HTTPStatus = .ok, headers: [ResponseHeader] = []
    ) -> RouteResponse {
        var response = json(description, schema: schema.reference, status: status, headers: headers)
        response.components = [schema]
        return response
    }

    /// `201` with the new resource and its `Location`.
    public static func created(_ description: String, schema: JSONValue) -> RouteResponse {
        .json(description, schema: schema, status: .created, headers: [location])
    }

    /// `201` with the new resource, of a named schema, and its `Location`.
    public static func created(_ description: String, schema: SchemaComponent) -> RouteResponse {
        .json(description, schema: schema, status: .created, headers: [location])
    }

    /// One page of a collection: the envelope of ``Pagination`` around items of `item`, and `Link`.
    public static func page(_ description: String, item: JSONValue) -> RouteResponse {
        .json(description, schema: Pagination.jsonSchema(item: item), headers: [link])
    }

    /// One page of a collection of a named schema: the envelope is the component
    /// `<item>Page` around references to `item`.
    public static func page(_ description: String, item: SchemaComponent) -> RouteResponse {
        let page = SchemaComponent(item.name + "Page", Pagination.jsonSchema(item: item.reference))
        var response = json(description, schema: page, headers: [link])
        response.components = [item, page]
        return response
    }

    private static let location = ResponseHeader("Location", "The path of the new resource.")
    private static let link = ResponseHeader("Link", #"The next and previous pages, `rel="next"` and `rel="prev"`."#)

    /// An HTML page.
    public static func html(_ description: String) -> RouteResponse {
        RouteResponse(
            status: .ok, description: description, contentType: "text/html",
            schema: JSONSchema.string)
    }

    /// No body, `204` by default.
    public static func noContent(_ description: String, status: HTTPStatus = .noContent) -> RouteResponse {
        RouteResponse(status: status, description: description, contentType: nil)
    }
}

/// A documented response header field.
public struct ResponseHeader: Sendable {
    public var name: String
    public var description: String
    public var schema: JSONValue

    public init(_ name: String, _ description: String, schema: JSONValue = JSONSchema.string) {
        self.name = name
        self.description = description
        self.schema = schema
    }
}
