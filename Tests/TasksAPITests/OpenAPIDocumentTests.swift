// The application's OpenAPI document: every route in it, served at /openapi.json, rendered at /docs.

import Flagon
import TasksAPI
import Testing

extension JSONValue {
    /// A member of an object, or nil; for walking documents in assertions.
    fileprivate subscript(_ key: String) -> JSONValue? { objectValue?[key] }

    fileprivate var keys: [String] { objectValue?.keys ?? [] }
}

/// The document of an application as `GET /openapi.json` serves it.
private func document(of application: Application) -> JSONValue {
    application.app.openAPIDocument(title: Application.title, version: Application.version)
}

/// The value, or what its `$ref` points to in the document's components.
private func resolved(_ value: JSONValue?, in document: JSONValue) -> JSONValue? {
    guard let reference = value?["$ref"]?.stringValue, reference.hasPrefix("#/components/") else { return value }
    return reference.dropFirst(2).split(separator: "/").reduce(document) { $0?[String($1)] }
}

/// `(path, method)` of every operation in a document, in document order.
private func operations(in document: JSONValue) -> [String] {
    document["paths"]?.objectValue?.flatMap { path, item in item.keys.map { "\($0.uppercased()) \(path)" } } ?? []
}

@Suite("OpenAPI document of the application")
struct OpenAPIDocumentTests {
    @Test("every route of the router is in the document with its method, and nothing else")
    func everyRoute() async throws {
        try await AccountsFixture.with(["TESTING": "true"]) { fixture in
            let routes = fixture.application.app.router.routes
            let expected = routes.map { "\($0.method.rawValue) \($0.pattern.openAPIPath)" }
            let documented = operations(in: document(of: fixture.application))
            #expect(documented.sorted() == expected.sorted())
            #expect(documented.count == routes.count)
            for required in ["GET /", "GET /docs", "GET /openapi.json", "GET /healthz", "GET /_testing/sleep"] {
                #expect(documented.contains(required), "\(required)")
            }
        }
    }

    @Test("operationIds are camelCase, unique, and name what the operation does")
    func operationIDs() async throws {
        try await AccountsFixture.with(["TESTING": "true"]) { fixture in
            let document = document(of: fixture.application)
            let ids =
                document["paths"]?.objectValue?.flatMap { _, item in
                    item.objectValue?.map { _, operation in operation["operationId"]?.stringValue ?? "" } ?? []
                } ?? []
            #expect(Set(ids).count == ids.count)
            #expect(Set(ids) == Set(fixture.application.app.router.routes.map(\.metadata.operationId)))
            #expect(ids.allSatisfy { id in !id.isEmpty && id.allSatisfy { $0.isLetter } && id.first!.isLowercase })
            func id(_ path: String, _ method: String) -> String? {
                document["paths"]?[path]?[method]?["operationId"]?.stringValue
            }
            #expect(id("/api/tasks", "get") == "listTasks")
            #expect(id("/api/tasks", "post") == "createTask")
            #expect(id("/api/tasks/{id}", "get") == "getTask")
            #expect(id("/api/tasks/{id}", "put") == "replaceTask")
            #expect(id("/api/tasks/{id}", "patch") == "updateTask")
            #expect(id("/api/tasks/{id}", "delete") == "deleteTask")
            #expect(id("/api/products", "get") == "listProducts")
            #expect(id("/api/products/{id}", "patch") == "updateProduct")
            #expect(id("/api/auth/register", "post") == "register")
            #expect(id("/api/auth/login", "post") == "login")
            #expect(id("/api/users", "get") == "listUsers")
        }
    }

    @Test("each resource's schemas are components, referred to by $ref, one per shape")
    func namedSchemas() async throws {
        try await AccountsFixture.with { fixture in
            let document = document(of: fixture.application)
            let schemas = document["components"]?["schemas"]
            for name in [
                "Task", "TaskInput", "TaskPatch", "TaskPage", "Product", "ProductInput", "ProductPatch", "ProductPage",
                "User", "UserPage", "Credentials", "TokenPair", "ErrorResponse",
            ] {
                #expect(schemas?[name] != nil, "\(name)")
            }
            #expect(schemas?["Error"] == nil)
            #expect(schemas?["Task"] == TaskItem.resource.schema.schema)
            #expect(
                schemas?["Task"]?["properties"]?.keys == [
                    "id", "title", "description", "priority", "completed", "created_at", "updated_at",
                ])
            #expect(schemas?["TaskInput"] == TaskItem.resource.inputSchema.jsonSchema)
            #expect(schemas?["TaskPatch"]?["required"] == nil)
            #expect(schemas?["User"]?["properties"]?.keys == ["id", "username", "roles", "created_at"])
            #expect(schemas?["TaskPage"]?["properties"]?["items"]?["items"] == ["$ref": "#/components/schemas/Task"])
            let paths = document["paths"]
            func schema(_ value: JSONValue?) -> JSONValue? { value?["content"]?["application/json"]?["schema"] }
            #expect(schema(paths?["/api/tasks"]?["post"]?["requestBody"]) == ["$ref": "#/components/schemas/TaskInput"])
            #expect(
                schema(paths?["/api/tasks/{id}"]?["patch"]?["requestBody"]) == [
                    "$ref": "#/components/schemas/TaskPatch"
                ])
            #expect(
                schema(paths?["/api/tasks/{id}"]?["get"]?["responses"]?["200"]) == ["$ref": "#/components/schemas/Task"]
            )
            #expect(
                schema(paths?["/api/products"]?["get"]?["responses"]?["200"])
                    == ["$ref": "#/components/schemas/ProductPage"])
            #expect(
                schema(paths?["/api/auth/login"]?["post"]?["responses"]?["200"])
                    == ["$ref": "#/components/schemas/TokenPair"])
            #expect(
                schema(paths?["/api/auth/register"]?["post"]?["requestBody"])
                    == ["$ref": "#/components/schemas/Credentials"])
            // The shared responses and parameters.
            #expect(
                paths?["/api/tasks/{id}"]?["get"]?["responses"]?["404"] == ["$ref": "#/components/responses/NotFound"])
            #expect(
                schema(resolved(paths?["/api/tasks/{id}"]?["get"]?["responses"]?["404"], in: document))
                    == ["$ref": "#/components/schemas/ErrorResponse"])
            #expect(
                document["components"]?["parameters"]?.keys.sorted() == ["If-Match", "id", "page", "per_page"])
        }
    }

    @Test("the error responses of the contract's routes")
    func errorResponses() async throws {
        try await AccountsFixture.with { fixture in
            let paths = document(of: fixture.application)["paths"]
            func codes(_ path: String, _ method: String) -> [String] {
                paths?[path]?[method]?["responses"]?.keys ?? []
            }
            #expect(codes("/api/hello", "get") == ["200", "429"])
            #expect(codes("/healthz", "get") == ["200", "503"])
            #expect(codes("/openapi.json", "get") == ["200"])
            #expect(codes("/docs", "get") == ["200"])
            #expect(codes("/api/auth/register", "post") == ["201", "400", "409", "413", "415", "429"])
            #expect(codes("/api/auth/login", "post") == ["200", "400", "401", "413", "415", "429"])
            #expect(codes("/api/users", "get") == ["200", "400", "401", "403", "429"])
            #expect(codes("/api/tasks", "post") == ["201", "400", "401", "413", "415", "429"])
            #expect(codes("/api/tasks/{id}", "get") == ["200", "304", "401", "404", "429"])
            #expect(codes("/api/tasks/{id}", "patch") == ["200", "400", "401", "404", "412", "413", "415", "429"])
            #expect(codes("/api/tasks/{id}", "delete") == ["204", "401", "404", "412", "429"])
            #expect(codes("/api/products/{id}", "get") == ["200", "404", "429"])
            #expect(codes("/api/products/{id}", "put") == ["200", "400", "401", "403", "404", "413", "415", "429"])
            guard case .array(let parameters)? = paths?["/api/tasks"]?["get"]?["parameters"] else {
                Issue.record("GET /api/tasks has no parameters")
                return
            }
            #expect(
                parameters.map { resolved($0, in: document(of: fixture.application))?["name"] } == [
                    "page", "per_page", "completed", "priority", "sort",
                ])
            #expect(paths?["/api/tasks"]?["get"]?["responses"]?["200"]?["headers"]?["Link"] != nil)
            #expect(paths?["/api/tasks"]?["post"]?["responses"]?["201"]?["headers"]?["Location"] != nil)
            #expect(paths?["/api/users/me"]?["get"]?["security"] == [["bearerAuth": []]])
            #expect(paths?["/"]?["get"]?["security"] == [[:], ["bearerAuth": []]])
        }
    }

    @Test("with RATELIMIT_ENABLED=false no route documents 429")
    func withoutRateLimits() async throws {
        try await AccountsFixture.with(["RATELIMIT_ENABLED": "false"]) { fixture in
            let paths = document(of: fixture.application)["paths"]?.objectValue
            let codes = paths?.flatMap { _, item in
                item.objectValue?.flatMap { _, op in op["responses"]?.keys ?? [] } ?? []
            }
            #expect(codes?.contains("429") == false)
        }
    }

    @Test("GET /openapi.json answers the document, exempt from rate limits")
    func served() async throws {
        try await AccountsFixture.with { fixture in
            let response = await fixture.client.get("/openapi.json")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(response.headers["X-RateLimit-Limit"] == nil)
            #expect(response.json == document(of: fixture.application))
            #expect(response["openapi"] == "3.1.0")
            #expect(response["info"] == ["title": "tasks-api", "version": .string(Application.version)])
        }
    }

    @Test("GET /docs is an HTML page rendering /openapi.json, exempt from rate limits")
    func docsPage() async throws {
        try await AccountsFixture.with { fixture in
            let response = await fixture.client.get("/docs")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "text/html; charset=utf-8")
            #expect(response.headers["X-RateLimit-Limit"] == nil)
            #expect(response.text.hasPrefix("<!doctype html>"))
            #expect(response.text.contains(#"data-spec-url="/openapi.json""#))
            #expect(response.headers["Content-Security-Policy"] == Templates.docsContentSecurityPolicy)
        }
    }
}
