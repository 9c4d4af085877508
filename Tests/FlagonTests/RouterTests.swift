// Routing: typed path parameters, specificity, strict paths, 405 with Allow, HEAD and OPTIONS.

import Testing

@testable import Flagon

@Suite("Router")
struct RouterTests {
    static let notFoundBody =
        #"{"error": "Not Found", "message": "The requested URL was not found on the server.", "status": 404}"#

    /// `/items/{id:int}` (GET, PUT), `/items/new` (GET), `/items` (POST), `/files/{name}` (GET).
    static func itemsApp() -> App {
        let items = Blueprint("items")
        items.get("/items/{id:int}") { request in
            .json(["id": .integer(request.parameters.int("id") ?? -1)])
        }
        items.put("/items/{id:int}") { _ in .json(["updated": true]) }
        items.get("/items/new") { _ in .json(["form": "new"]) }
        items.post("/items") { _ in .json(["created": true], status: .created) }
        items.get("/files/{name}") { request in
            .json(["name": .string(request.parameters.string("name") ?? "")])
        }
        return makeApp(items)
    }

    @Test("a path splits into its segments; relative paths, empty segments and a trailing slash do not")
    func pathSegments() {
        #expect(Router.segments(of: "/") == [])
        #expect(Router.segments(of: "/api") == ["api"])
        #expect(Router.segments(of: "/api/tasks/12") == ["api", "tasks", "12"])
        #expect(Router.segments(of: "/caf\u{E9}/\u{1F600}x") == ["caf\u{E9}", "\u{1F600}x"])
        for path in ["", "api", "//", "/api/", "/api//tasks", "//api"] {
            #expect(Router.segments(of: path) == nil, "\(path)")
        }
    }

    @Test("literal segments compare by code points: a decomposed é is not the route's composed one")
    func literalsCompareByCodePoints() async {
        let blueprint = Blueprint("cafe")
        blueprint.get("/caf\u{E9}") { _ in .json(["ok": true]) }
        let client = TestClient(app: makeApp(blueprint))
        #expect(await client.get("/caf%C3%A9").status == 200)
        #expect(await client.get("/cafe%CC%81").status == 404)
    }

    @Test("an int parameter matches a positive integer and is typed")
    func intParameterMatches() async {
        let client = TestClient(app: Self.itemsApp())
        let response = await client.get("/items/42")
        #expect(response.status == 200)
        #expect(response.text == #"{"id": 42}"#)
    }

    @Test("the largest Int64 is a valid id")
    func intParameterMaximum() async {
        let client = TestClient(app: Self.itemsApp())
        let response = await client.get("/items/9223372036854775807")
        #expect(response.status == 200)
        #expect(response["id"] == .integer(Int64.max))
    }

    @Test(
        "an int parameter rejects anything but a positive 64-bit integer",
        arguments: ["0", "-1", "abc", "1.5", "+1", "1e3", "0x10", "99999999999999999999", "9223372036854775808"])
    func intParameterRejects(segment: String) async {
        let client = TestClient(app: Self.itemsApp())
        let response = await client.get("/items/\(segment)")
        #expect(response.status == 404)
        #expect(response["error"] == "Not Found")
    }

    @Test("a literal segment wins over a parameter, whatever the registration order")
    func literalWins() async {
        let client = TestClient(app: Self.itemsApp())
        #expect(await client.get("/items/new").text == #"{"form": "new"}"#)

        let reversed = Blueprint("reversed")
        reversed.get("/pages/{slug}") { _ in .json(["route": "slug"]) }
        reversed.get("/pages/about") { _ in .json(["route": "about"]) }
        let other = TestClient(app: makeApp(reversed))
        #expect(await other.get("/pages/about").text == #"{"route": "about"}"#)
        #expect(await other.get("/pages/contact").text == #"{"route": "slug"}"#)
    }

    @Test("a typed parameter wins over a string parameter")
    func typedBeatsString() async {
        let blueprint = Blueprint("mixed")
        blueprint.get("/things/{name}") { _ in .json(["route": "string"]) }
        blueprint.get("/things/{id:int}") { _ in .json(["route": "int"]) }
        let client = TestClient(app: makeApp(blueprint))
        #expect(await client.get("/things/7").text == #"{"route": "int"}"#)
        #expect(await client.get("/things/seven").text == #"{"route": "string"}"#)
    }

    @Test(
        "literal segments match percent-decoded, as werkzeug routes",
        arguments: ["/it%65ms/new", "/items/n%65w", "/%69%74%65%6D%73/new", "/ITEMS/new", "/items/ne"])
    func literalsDecoded(path: String) async {
        let response = await TestClient(app: Self.itemsApp()).get(path)
        if path.contains("%") {
            #expect(response.text == #"{"form": "new"}"#)
        } else {
            #expect(response.status == 404)
        }
    }

    @Test("a string parameter is percent-decoded, without reading + as a space")
    func stringParameterDecoded() async {
        let client = TestClient(app: Self.itemsApp())
        #expect(await client.get("/files/a%20b+c").text == #"{"name": "a b+c"}"#)
        #expect(await client.get("/files/caf%C3%A9")["name"] == "café")
    }

    @Test(
        "trailing slashes, empty segments and unknown paths are 404",
        arguments: ["/items/1/", "//items/1", "/items//1", "/items/", "/items/1/extra", "/nothing", "items/1", ""]
    )
    func strictPaths(path: String) async {
        let client = TestClient(app: Self.itemsApp())
        let response = await client.get(path)
        #expect(response.status == 404)
        #expect(response.text == Self.notFoundBody)
    }

    @Test("a known path with the wrong method is 405 with the Allow header")
    func methodNotAllowed() async {
        let client = TestClient(app: Self.itemsApp())
        let delete = await client.delete("/items/1")
        #expect(delete.status == 405)
        #expect(delete.headers["Allow"] == "GET, HEAD, PUT, OPTIONS")
        #expect(delete["error"] == "Method Not Allowed")

        let get = await client.get("/items")
        #expect(get.status == 405)
        #expect(get.headers["Allow"] == "POST, OPTIONS")

        let brew = await client.request(HTTPMethod("BREW"), "/items/new")
        #expect(brew.status == 405)
        #expect(brew.headers["Allow"] == "GET, HEAD, OPTIONS")
    }

    @Test("a 405 for a path whose parameter does not match is a 404 instead")
    func methodNotAllowedNeedsAMatch() async {
        let client = TestClient(app: Self.itemsApp())
        #expect(await client.delete("/items/0").status == 404)
    }

    @Test("HEAD answers like GET: same status and headers, no body, the GET body's length")
    func headLikeGet() async {
        let client = TestClient(app: Self.itemsApp())
        let get = await client.get("/items/42")
        let head = await client.head("/items/42")
        #expect(head.status == 200)
        #expect(head.response.body.isEmpty)
        #expect(head.headers["Content-Length"] == String(get.response.body.count))
        #expect(head.headers["Content-Length"] == "10")
        #expect(head.headers["Content-Type"] == "application/json")
        #expect(head.headers["X-Content-Type-Options"] == "nosniff")
    }

    @Test("HEAD on an unknown path is a bodiless 404")
    func headNotFound() async {
        let client = TestClient(app: Self.itemsApp())
        let get = await client.get("/nothing")
        let head = await client.head("/nothing")
        #expect(head.status == 404)
        #expect(head.response.body.isEmpty)
        #expect(head.headers["Content-Length"] == String(get.response.body.count))
    }

    @Test("OPTIONS is answered automatically with 204 and Allow")
    func automaticOptions() async {
        let client = TestClient(app: Self.itemsApp())
        let options = await client.request(.options, "/items/3")
        #expect(options.status == 204)
        #expect(options.headers["Allow"] == "GET, HEAD, PUT, OPTIONS")
        #expect(options.response.body.isEmpty)
        #expect(options.headers["X-Content-Type-Options"] == "nosniff")
        #expect(isGeneratedRequestID(options.headers["X-Request-Id"]))

        #expect(await client.request(.options, "/items").headers["Allow"] == "POST, OPTIONS")
        #expect(await client.request(.options, "/nothing").status == 404)
    }

    @Test("an explicit OPTIONS route replaces the automatic answer")
    func explicitOptions() async {
        let blueprint = Blueprint("custom")
        blueprint.get("/thing") { _ in .json(["ok": true]) }
        blueprint.route(.options, "/thing") { _ in .empty(status: .ok, headers: ["X-Custom": "yes"]) }
        let client = TestClient(app: makeApp(blueprint))
        let response = await client.request(.options, "/thing")
        #expect(response.status == 200)
        #expect(response.headers["X-Custom"] == "yes")
        #expect(response.headers["Allow"] == nil)
    }

    @Test("Router.resolve reports each outcome")
    func resolveOutcomes() {
        var router = Router()
        let handler: Responder = { _ in .empty() }
        router.add(
            Route(method: .get, pattern: PathPattern("/a/{id:int}"), metadata: RouteMetadata(), responder: handler))
        router.add(Route(method: .post, pattern: PathPattern("/a"), metadata: RouteMetadata(), responder: handler))

        guard case .matched(let route, let parameters) = router.resolve(method: .get, path: "/a/5") else {
            Issue.record("GET /a/5 did not match")
            return
        }
        #expect(route.pattern.description == "/a/{id:int}")
        #expect(parameters.int("id") == 5)
        #expect(parameters.string("id") == "5")

        guard case .matched(let headRoute, _) = router.resolve(method: .head, path: "/a/5") else {
            Issue.record("HEAD /a/5 did not fall back to GET")
            return
        }
        #expect(headRoute.method == .get)

        guard case .methodNotAllowed(let allow) = router.resolve(method: .put, path: "/a/5") else {
            Issue.record("PUT /a/5 was not a 405")
            return
        }
        #expect(allow == [.get, .head, .options])

        guard case .automaticOptions(let optionsAllow) = router.resolve(method: .options, path: "/a") else {
            Issue.record("OPTIONS /a was not answered automatically")
            return
        }
        #expect(optionsAllow == [.post, .options])

        guard case .notFound = router.resolve(method: .get, path: "/a/5/") else {
            Issue.record("GET /a/5/ was not a 404")
            return
        }
    }

    @Test("a pattern prints as written and in OpenAPI form")
    func patternDescriptions() {
        let pattern = PathPattern("/api/tasks/{id:int}/files/{name}")
        #expect(pattern.description == "/api/tasks/{id:int}/files/{name}")
        #expect(pattern.openAPIPath == "/api/tasks/{id}/files/{name}")
        #expect(
            pattern.segments == [
                .literal("api"), .literal("tasks"), .parameter(name: "id", type: .int), .literal("files"),
                .parameter(name: "name", type: .string),
            ])
    }
}
