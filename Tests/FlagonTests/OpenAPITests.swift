// The OpenAPI document of a small app: paths, parameters, bodies, responses, errors, security.

import Flagon
import Testing

extension JSONValue {
    /// A member of an object, or nil; for walking documents in assertions.
    fileprivate subscript(_ key: String) -> JSONValue? { objectValue?[key] }

    fileprivate var keys: [String] { objectValue?.keys ?? [] }

    fileprivate var array: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}

private let itemInput = ObjectSchema(
    .string("name", required: true, minLength: 1, maxLength: 50), .integer("count", minimum: 0, default: 0))
private let itemQuery = ObjectSchema(fields: PageQuery.fields + [.string("q", required: true)])
private let item = JSONSchema.object([("id", JSONSchema.integer), ("name", JSONSchema.string)])

/// `/api/items` with one route of each kind, and `/healthz` and `/` beside them.
private func itemsApp(limited: Bool = true) -> App {
    let items = Blueprint("items", prefix: "/api/items")
    items.get("", name: "list", summary: "Items", query: itemQuery, response: .page("A page.", item: item)) { _ in
        .json([:])
    }
    items.post(
        "", name: "create", auth: .accessToken, body: itemInput, response: .created("The item.", schema: item)
    ) { _ in .json([:]) }
    items.get("/{id:int}", name: "get", auth: .accessToken, response: .json("The item.", schema: item), etag: true) {
        _ in .json([:])
    }
    items.patch("/{id:int}", name: "update", auth: .accessToken(role: "admin"), body: itemInput.partial, etag: true) {
        _ in .json([:])
    }
    items.delete("/{name}", name: "delete", auth: .anyToken, limit: [], response: .noContent("Gone.")) { _ in
        .empty()
    }
    let site = Blueprint("site")
    site.get("/", name: "index", auth: .optional, response: .html("A page.")) { _ in .html("") }
    site.get("/healthz", name: "healthz", errors: [.serviceUnavailable]) { _ in .json([:]) }
    var app = makeApp(items, site)
    if limited {
        app.use(RateLimitMiddleware(defaultLimits: [RateLimit(5, per: .minute)], store: MemoryRateLimitStore()))
    }
    return app
}

private func document(limited: Bool = true) -> JSONValue {
    itemsApp(limited: limited).openAPIDocument(title: "items", version: "2.0")
}

/// The value, or what its `$ref` points to in the document's components.
private func resolved(_ value: JSONValue?, in document: JSONValue = document()) -> JSONValue? {
    guard let reference = value?["$ref"]?.stringValue, reference.hasPrefix("#/components/") else { return value }
    return reference.dropFirst(2).split(separator: "/").reduce(document) { $0?[String($1)] }
}

/// The response codes of an operation, as strings in document order.
private func codes(_ path: String, _ method: String, in document: JSONValue = document()) -> [String] {
    document["paths"]?[path]?[method]?["responses"]?.keys ?? []
}

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test("the document is OpenAPI 3.1 with info, tags, the ErrorResponse schema and bearer auth")
    func topLevel() {
        let document = document()
        #expect(document["openapi"] == "3.1.0")
        #expect(document["info"] == ["title": "items", "version": "2.0"])
        #expect(document["tags"] == [["name": "items"], ["name": "site"]])
        #expect(
            document["components"]?["securitySchemes"]?["bearerAuth"]
                == ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"])
        #expect(document["components"]?["schemas"]?["Error"] == nil)
        let error = document["components"]?["schemas"]?["ErrorResponse"]
        #expect(error?["required"] == ["error", "message", "status"])
        #expect(error?["properties"]?.keys == ["error", "message", "status", "errors"])
    }

    @Test("every route is an operation under its OpenAPI path, its operationId the endpoint name in camelCase")
    func paths() {
        let paths = document()["paths"]
        #expect(paths?.keys == ["/api/items", "/api/items/{id}", "/api/items/{name}", "/", "/healthz"])
        #expect(paths?["/api/items"]?.keys == ["get", "post"])
        #expect(paths?["/api/items/{id}"]?.keys == ["get", "patch"])
        let list = paths?["/api/items"]?["get"]
        #expect(list?["operationId"] == "itemsList")
        #expect(list?["tags"] == ["items"])
        #expect(list?["summary"] == "Items")
        // Without a summary, the endpoint name stands in.
        #expect(paths?["/healthz"]?["get"]?["summary"] == "site.healthz")
    }

    @Test("path parameters: {id:int} is an integer of at least 1, {name} a non-empty string")
    func pathParameters() {
        let paths = document()["paths"]
        let id = paths?["/api/items/{id}"]?["get"]?["parameters"]?.array?.first
        #expect(id == ["$ref": "#/components/parameters/id"])
        #expect(
            resolved(id) == [
                "name": "id", "in": "path", "required": true,
                "schema": ["type": "integer", "format": "int64", "minimum": 1],
            ])
        let name = paths?["/api/items/{name}"]?["delete"]?["parameters"]?.array?.first
        #expect(
            name == ["name": "name", "in": "path", "required": true, "schema": ["type": "string", "minLength": 1]])
    }

    @Test("query parameters come from the query schema, each with its schema and required flag")
    func queryParameters() {
        let parameters = (document()["paths"]?["/api/items"]?["get"]?["parameters"]?.array ?? []).map {
            resolved($0) ?? $0
        }
        #expect(parameters.map { $0["name"] } == ["page", "per_page", "q"])
        #expect(parameters.allSatisfy { $0["in"] == "query" })
        #expect(parameters.map { $0["required"] } == [false, false, true])
        #expect(parameters[1]["schema"] == ["type": "integer", "minimum": 1, "maximum": 100, "default": 20])
    }

    @Test("the request body is required JSON with the body schema")
    func requestBody() {
        let body = document()["paths"]?["/api/items"]?["post"]?["requestBody"]
        #expect(body == ["required": true, "content": ["application/json": ["schema": itemInput.jsonSchema]]])
        #expect(document()["paths"]?["/api/items"]?["get"]?["requestBody"] == nil)
    }

    @Test("the success response: status, schema, and Location, Link, ETag and X-RateLimit-* headers")
    func successResponses() {
        let paths = document()["paths"]
        let created = paths?["/api/items"]?["post"]?["responses"]?["201"]
        #expect(created?["content"]?["application/json"]?["schema"] == item)
        #expect(
            created?["headers"]?.keys == [
                "Location", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
            ])
        let page = paths?["/api/items"]?["get"]?["responses"]?["200"]
        #expect(page?["content"]?["application/json"]?["schema"] == Pagination.jsonSchema(item: item))
        #expect(page?["headers"]?["Link"] != nil)
        #expect(paths?["/api/items/{id}"]?["get"]?["responses"]?["200"]?["headers"]?["ETag"] != nil)
        // 204: no content; exempt from limits: no X-RateLimit-* headers.
        #expect(paths?["/api/items/{name}"]?["delete"]?["responses"]?["204"] == ["description": "Gone."])
        #expect(paths?["/"]?["get"]?["responses"]?["200"]?["content"]?["text/html"] != nil)
        // No declared response: a plain 200.
        #expect(paths?["/healthz"]?["get"]?["responses"]?["200"]?["description"] == "Success.")
    }

    @Test("error responses follow the route's declarations")
    func errorResponses() {
        #expect(codes("/api/items", "get") == ["200", "400", "429"])
        #expect(codes("/api/items", "post") == ["201", "400", "401", "413", "415", "429"])
        #expect(codes("/api/items/{id}", "get") == ["200", "304", "401", "404", "429"])
        #expect(codes("/api/items/{id}", "patch") == ["200", "400", "401", "403", "404", "412", "413", "415", "429"])
        #expect(codes("/api/items/{name}", "delete") == ["204", "401", "404"])
        #expect(codes("/", "get") == ["200", "429"])
        #expect(codes("/healthz", "get") == ["200", "503"])
        let notFound = resolved(document()["paths"]?["/api/items/{id}"]?["get"]?["responses"]?["404"])
        #expect(notFound?["content"]?["application/json"]?["schema"] == ["$ref": "#/components/schemas/ErrorResponse"])
        let unauthorized = resolved(document()["paths"]?["/api/items/{id}"]?["get"]?["responses"]?["401"])
        #expect(unauthorized?["headers"]?["WWW-Authenticate"] != nil)
        let tooMany = resolved(document()["paths"]?["/api/items"]?["get"]?["responses"]?["429"])
        #expect(tooMany?["headers"]?["Retry-After"] == ["$ref": "#/components/headers/Retry-After"])
    }

    @Test("without an enabled rate limiter no route documents 429")
    func withoutLimiter() {
        let document = document(limited: false)
        #expect(codes("/api/items", "get", in: document) == ["200", "400"])
        #expect(document["paths"]?["/api/items"]?["get"]?["responses"]?["200"]?["headers"]?.keys == ["Link"])
    }

    @Test("conditional headers: If-None-Match on GET, If-Match and If-None-Match on writes")
    func conditionalHeaders() {
        let paths = document()["paths"]
        let get = (paths?["/api/items/{id}"]?["get"]?["parameters"]?.array ?? []).map { resolved($0) ?? $0 }
        #expect(get.map { $0["name"] } == ["id", "If-None-Match"])
        let patch = (paths?["/api/items/{id}"]?["patch"]?["parameters"]?.array ?? []).map { resolved($0) ?? $0 }
        #expect(patch.map { $0["name"] } == ["id", "If-Match", "If-None-Match"])
        #expect(patch.dropFirst().allSatisfy { $0["in"] == "header" && $0["required"] == false })
    }

    @Test("security: bearerAuth on token routes, optional on optional ones, none on public ones")
    func security() {
        let paths = document()["paths"]
        let bearer: JSONValue = [["bearerAuth": []]]
        #expect(paths?["/api/items"]?["post"]?["security"] == bearer)
        #expect(paths?["/api/items/{id}"]?["patch"]?["security"] == bearer)
        #expect(paths?["/api/items/{name}"]?["delete"]?["security"] == bearer)
        #expect(paths?["/"]?["get"]?["security"] == [[:], ["bearerAuth": []]])
        #expect(paths?["/api/items"]?["get"]?["security"] == nil)
    }

    @Test("auth requirements describe themselves for the route listing")
    func authDescriptions() {
        #expect(AuthRequirement.none.description == "none")
        #expect(AuthRequirement.optional.description == "optional")
        #expect(AuthRequirement.accessToken.description == "token")
        #expect(AuthRequirement.accessToken(allowProxy: true).description == "token+proxy")
        #expect(AuthRequirement.accessToken(role: "admin").description == "role admin")
        #expect(AuthRequirement.refreshToken.description == "refresh")
        #expect(AuthRequirement.anyToken.description == "any token")
    }

    @Test("APIDocs answers 503 until the document is published, then the document as JSON")
    func apiDocs() async throws {
        let docs = APIDocs()
        let site = Blueprint("site")
        site.get("/openapi.json") { _ in try docs.documentResponse() }
        site.get("/docs") { _ in .html("<p>docs</p>") }
        let app = makeApp(site)
        let client = TestClient(app: app)
        #expect(await client.get("/openapi.json").status == 503)
        docs.publish(app.openAPIDocument(title: "items", version: "1"))
        let response = await client.get("/openapi.json")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response["paths"]?.keys == ["/openapi.json", "/docs"])
    }
    @Test("the responses and parameters every route shares are components, referred to by $ref")
    func sharedComponents() {
        let document = document()
        #expect(
            document["components"]?["responses"]?.keys.sorted() == [
                "NotFound", "PreconditionFailed", "TooManyRequests", "Unauthorized", "ValidationError",
            ])
        #expect(document["components"]?["parameters"]?.keys.sorted() == ["If-Match", "id", "page", "per_page"])
        let patch = document["paths"]?["/api/items/{id}"]?["patch"]
        #expect(patch?["responses"]?["412"] == ["$ref": "#/components/responses/PreconditionFailed"])
        #expect(patch?["responses"]?["400"] == ["$ref": "#/components/responses/ValidationError"])
        // The role's 403 names the role: it stays with its route.
        #expect(patch?["responses"]?["403"]?["$ref"] == nil)
        #expect(patch?["parameters"]?.array?[1] == ["$ref": "#/components/parameters/If-Match"])
        // A path parameter other than an integer id is the route's own.
        #expect(document["paths"]?["/api/items/{name}"]?["delete"]?["parameters"]?.array?.first?["$ref"] == nil)
    }

    @Test("named schemas: a named body, a response schema and its page are components under their names")
    func namedSchemas() {
        let thing = SchemaComponent("Thing", item)
        let input = itemInput.named("ThingInput")
        let things = Blueprint("things", prefix: "/api/things")
        things.get("", operationId: "listThings", response: .page("A page.", item: thing)) { _ in .json([:]) }
        things.post("", operationId: "createThing", body: input, response: .created("The thing.", schema: thing)) {
            _ in .json([:])
        }
        things.patch(
            "/{id:int}", operationId: "updateThing", body: input.partial, response: .json("It.", schema: thing)
        ) {
            _ in .json([:])
        }
        let document = makeApp(things).openAPIDocument(title: "things", version: "1")
        let schemas = document["components"]?["schemas"]
        #expect(schemas?.keys.sorted() == ["ErrorResponse", "Thing", "ThingInput", "ThingPage"])
        #expect(schemas?["Thing"] == item)
        #expect(schemas?["ThingInput"] == itemInput.jsonSchema)
        #expect(schemas?["ThingPage"] == Pagination.jsonSchema(item: ["$ref": "#/components/schemas/Thing"]))
        let paths = document["paths"]
        #expect(
            paths?["/api/things"]?["get"]?["responses"]?["200"]?["content"]?["application/json"]?["schema"]
                == ["$ref": "#/components/schemas/ThingPage"])
        #expect(
            paths?["/api/things"]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"]
                == ["$ref": "#/components/schemas/ThingInput"])
        #expect(
            paths?["/api/things"]?["post"]?["responses"]?["201"]?["content"]?["application/json"]?["schema"]
                == ["$ref": "#/components/schemas/Thing"])
        // The partial of a named schema has no name: inline.
        #expect(
            paths?["/api/things/{id}"]?["patch"]?["requestBody"]?["content"]?["application/json"]?["schema"]
                == itemInput.partial.jsonSchema)
        #expect(paths?["/api/things"]?["get"]?["operationId"] == "listThings")
        #expect(paths?["/api/things"]?["post"]?["operationId"] == "createThing")
    }
}
