// The OpenAPI 3.1 document of an application's routes, assembled as a JSONValue.

// Built by hand rather than with an OpenAPI package: the document is a few hundred lines
// of JSON assembly over schemas that already produce JSON Schema (``ObjectSchema/jsonSchema``),
// and CI validates the result with openapi-spec-validator (`scripts/check-openapi`).

/// Describes routes as an OpenAPI 3.1 document, as APIFlask and flask-smorest generate theirs.
///
/// Every route contributes one operation: its ``RouteMetadata/operationId``, its blueprint
/// as tag, path parameters from its pattern, query parameters and request body from its
/// schemas, its success response, and the error responses its declarations imply (see
/// ``errorStatuses(of:)``). Named schemas (``SchemaComponent``, a named ``ObjectSchema``),
/// the responses and parameters every route shares, and `ErrorResponse` are components,
/// referred to by `$ref`, so a generated client has one class per shape.
///
/// ```swift
/// let document = OpenAPI(title: "tasks-api", version: "1.0.0").document(for: app.router.routes)
/// print(document.jsonText)
/// ```
public struct OpenAPI: Sendable {
    public var title: String
    public var version: String
    /// Paths never rate limited; nil when rate limiting is off, so no route documents `429`.
    public var rateLimitExemptPaths: Set<String>?

    public init(title: String, version: String, rateLimitExemptPaths: Set<String>? = nil) {
        self.title = title
        self.version = version
        self.rateLimitExemptPaths = rateLimitExemptPaths
    }

    /// The document: `openapi`, `info`, `tags`, `paths` and `components`.
    public func document(for routes: [Route]) -> JSONValue {
        var paths = JSONObject()
        var tags: [String] = []
        var components = Components()
        components.schemas["ErrorResponse"] = Self.errorSchema
        for route in routes {
            let path = route.pattern.openAPIPath
            var item = paths[path]?.objectValue ?? JSONObject()
            item[route.method.rawValue.lowercased()] = operation(for: route, components: &components)
            paths[path] = .object(item)
            if !tags.contains(route.metadata.blueprint) { tags.append(route.metadata.blueprint) }
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": .string(title), "version": .string(version)],
            "tags": .array(tags.map { ["name": .string($0)] }),
            "paths": .object(paths),
            "components": [
                "schemas": .object(components.schemas),
                "parameters": .object(components.parameters),
                "responses": .object(components.responses),
                "headers": .object(
                    JSONObject(
                        (Self.rateLimitHeaders + [Self.retryAfter]).map { header in
                            (header.name, ["description": .string(header.description), "schema": header.schema])
                        })),
                "securitySchemes": [
                    "bearerAuth": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]
                ],
            ],
        ]
    }

    /// Whether `429` (and the `X-RateLimit-*` headers) apply to the route.
    func isRateLimited(_ route: Route) -> Bool {
        guard let exempt = rateLimitExemptPaths else { return false }
        return route.metadata.rateLimit != [] && !exempt.contains(route.pattern.description)
    }

    /// The JSON error body of API contract §2; `errors` only on validation failures. Other
    /// members may appear (`/healthz` adds `database`).
    static let errorSchema = JSONSchema.object(
        [
            ("error", ["type": "string", "description": "The reason phrase of the status."]),
            ("message", ["type": "string", "description": "A human sentence."]),
            ("status", ["type": "integer", "minimum": 400, "maximum": 599]),
            (
                "errors",
                [
                    "type": "object", "description": "Field name to messages, on validation failures.",
                    "additionalProperties": JSONSchema.array(of: JSONSchema.string),
                ]
            ),
        ], required: ["error", "message", "status"])
}
