// One route as an OpenAPI operation: parameters, request body, responses and security.

/// What the operations refer to by `$ref`, gathered while they are built, so the document's
/// `components` hold exactly the schemas, parameters and responses in use.
struct Components {
    var schemas = JSONObject()
    var parameters = JSONObject()
    var responses = JSONObject()

    /// The schema's reference, after adding it under `components/schemas`.
    mutating func reference(_ component: SchemaComponent) -> JSONValue {
        schemas[component.name] = component.schema
        return component.reference
    }

    /// `{"$ref": "#/components/parameters/<name>"}`, after adding the parameter.
    mutating func parameter(_ name: String, _ parameter: JSONValue) -> JSONValue {
        parameters[name] = parameter
        return ["$ref": .string("#/components/parameters/\(name)")]
    }

    /// `{"$ref": "#/components/responses/<name>"}`, after adding the response.
    mutating func response(_ name: String, _ response: JSONValue) -> JSONValue {
        responses[name] = response
        return ["$ref": .string("#/components/responses/\(name)")]
    }
}

extension OpenAPI {
    func operation(for route: Route, components: inout Components) -> JSONValue {
        let metadata = route.metadata
        var operation = JSONObject()
        operation["operationId"] = .string(metadata.operationId)
        operation["tags"] = [.string(metadata.blueprint)]
        operation["summary"] = .string(metadata.summary.isEmpty ? metadata.name : metadata.summary)
        let parameters = parameters(of: route, components: &components)
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let body = metadata.body {
            let schema = body.name.map { components.reference(SchemaComponent($0, body.jsonSchema)) } ?? body.jsonSchema
            operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": schema]]]
        }
        var responses = JSONObject()
        let success = successResponse(of: route)
        for component in success.components { _ = components.reference(component) }
        responses[String(success.status.code)] = document(success, rateLimited: isRateLimited(route))
        for status in errorStatuses(of: route) {
            responses[String(status.code)] = errorResponse(status, for: route, components: &components)
        }
        operation["responses"] = .object(responses)
        switch metadata.auth {
        case .optional: operation["security"] = [[:], ["bearerAuth": []]]
        case let auth where auth.requiresToken: operation["security"] = [["bearerAuth": []]]
        default: break
        }
        return .object(operation)
    }

    /// Path parameters from the pattern, query parameters from the query schema, and the
    /// conditional request headers of a route with an `ETag`. The integer `id`, `page`,
    /// `per_page` and `If-Match`, alike on every route, are components.
    func parameters(of route: Route, components: inout Components) -> [JSONValue] {
        var parameters: [JSONValue] = []
        for case .parameter(let name, let type) in route.pattern.segments {
            let schema: JSONValue =
                switch type {
                case .int: ["type": "integer", "format": "int64", "minimum": 1]
                case .string: ["type": "string", "minLength": 1]
                }
            let parameter: JSONValue = ["name": .string(name), "in": "path", "required": true, "schema": schema]
            parameters.append(
                name == "id" && type == .int ? components.parameter(name, parameter) : parameter)
        }
        for field in route.metadata.query?.fields ?? [] {
            let parameter: JSONValue = [
                "name": .string(field.name), "in": "query", "required": .bool(field.isRequired),
                "schema": field.jsonSchema,
            ]
            let shared = PageQuery.fields.contains { $0.name == field.name && $0.jsonSchema == field.jsonSchema }
            parameters.append(shared ? components.parameter(field.name, parameter) : parameter)
        }
        if route.metadata.etag {
            if route.method != .get {
                parameters.append(
                    components.parameter(
                        "If-Match",
                        header("If-Match", "Apply the change only if the resource still has this strong ETag.")
                    ))
            }
            parameters.append(
                header(
                    "If-None-Match",
                    route.method == .get
                        ? "Answer 304 if the resource still has one of these ETags."
                        : "Apply the change only if the resource has none of these ETags."))
        }
        return parameters
    }

    private func header(_ name: String, _ description: String) -> JSONValue {
        [
            "name": .string(name), "in": "header", "required": false, "description": .string(description),
            "schema": JSONSchema.string,
        ]
    }

    /// The declared success response, or a plain `200`.
    func successResponse(of route: Route) -> RouteResponse {
        var response =
            route.metadata.response
            ?? RouteResponse(status: .ok, description: "Success.", contentType: nil)
        if route.metadata.etag && route.method != .delete {
            response.headers.append(ResponseHeader("ETag", "The strong entity tag of the resource."))
        }
        return response
    }

    func document(_ response: RouteResponse, rateLimited: Bool) -> JSONValue {
        var object = JSONObject([("description", .string(response.description))])
        var headers = response.headers.map { header in
            (header.name, ["description": .string(header.description), "schema": header.schema] as JSONValue)
        }
        if rateLimited { headers += Self.rateLimitHeaders.map(Self.reference) }
        if !headers.isEmpty { object["headers"] = .object(JSONObject(headers)) }
        if let contentType = response.contentType {
            object["content"] = .object(JSONObject([(contentType, ["schema": response.schema ?? [:]])]))
        }
        return .object(object)
    }

    /// A header of `components.headers`, by reference.
    static func reference(_ header: ResponseHeader) -> (String, JSONValue) {
        (header.name, ["$ref": .string("#/components/headers/\(header.name)")])
    }

    static let retryAfter = ResponseHeader(
        "Retry-After", "Seconds until the window ends.", schema: JSONSchema.integer)

    static let rateLimitHeaders = [
        ResponseHeader("X-RateLimit-Limit", "Requests allowed in the window.", schema: JSONSchema.integer),
        ResponseHeader("X-RateLimit-Remaining", "Requests left in the window.", schema: JSONSchema.integer),
        ResponseHeader("X-RateLimit-Reset", "When the window ends, in epoch seconds.", schema: JSONSchema.integer),
    ]
}
