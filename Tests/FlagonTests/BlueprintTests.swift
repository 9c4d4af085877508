// Blueprints: URL prefixes, middleware scoped to a blueprint's routes, endpoint names.

import Flagon
import Synchronization
import Testing

/// Adds `X-Stage: <name>` (appending, so the order stages ran in is visible).
private struct StageMiddleware: Middleware {
    let name: String

    func respond(to request: Request, next: Responder) async throws -> Response {
        var response = try await next(request)
        response.headers.add(name: "X-Stage", value: name)
        return response
    }
}

/// Refuses every request it sees with 403.
private struct DenyMiddleware: Middleware {
    func respond(to request: Request, next: Responder) async throws -> Response {
        throw HTTPError(.forbidden)
    }
}

@Suite("Blueprint")
struct BlueprintTests {
    @Test("routes are registered under the blueprint's prefix")
    func prefix() async {
        let api = Blueprint("api", prefix: "/api/v1")
        api.get("/hello") { _ in .json(["message": "hi"]) }
        api.get("/") { _ in .json(["root": true]) }
        let client = TestClient(app: makeApp(api))

        #expect(await client.get("/api/v1/hello").text == #"{"message": "hi"}"#)
        #expect(await client.get("/api/v1").text == #"{"root": true}"#)
        #expect(await client.get("/hello").status == 404)
        #expect(await client.get("/api/v1/").status == 404)
    }

    @Test("a blueprint without a prefix can serve the root")
    func rootWithoutPrefix() async {
        let site = Blueprint("site")
        site.get("/") { _ in .html("<p>home</p>") }
        let client = TestClient(app: makeApp(site))
        let response = await client.get("/")
        #expect(response.status == 200)
        #expect(response.text == "<p>home</p>")
        #expect(response.headers["Content-Type"] == "text/html; charset=utf-8")
    }

    @Test("blueprint middleware runs for its own routes only")
    func middlewareScope() async {
        let guarded = Blueprint("guarded", prefix: "/admin")
        guarded.use(StageMiddleware(name: "guarded"))
        guarded.get("/panel") { _ in .json(["panel": true]) }
        let open = Blueprint("open", prefix: "/public")
        open.get("/page") { _ in .json(["page": true]) }
        let client = TestClient(app: makeApp(guarded, open))

        #expect(await client.get("/admin/panel").headers.values(for: "X-Stage") == ["guarded"])
        #expect(await client.get("/public/page").headers.values(for: "X-Stage") == [])
        // A 404 under the prefix matched no route of the blueprint.
        #expect(await client.get("/admin/missing").headers.values(for: "X-Stage") == [])
    }

    @Test("a blueprint's refusing middleware does not affect other blueprints")
    func refusingMiddleware() async {
        let locked = Blueprint("locked", prefix: "/locked")
        locked.use(DenyMiddleware())
        locked.get("/thing") { _ in .json(["reached": true]) }
        let free = Blueprint("free", prefix: "/free")
        free.get("/thing") { _ in .json(["reached": true]) }
        let client = TestClient(app: makeApp(locked, free))

        let denied = await client.get("/locked/thing")
        #expect(denied.status == 403)
        #expect(denied["error"] == "Forbidden")
        #expect(await client.get("/free/thing").status == 200)
    }

    @Test("blueprint middleware runs in the order added, the first outermost")
    func middlewareOrder() async {
        let blueprint = Blueprint("ordered")
        blueprint.use(StageMiddleware(name: "first"))
        blueprint.use(StageMiddleware(name: "second"))
        blueprint.get("/x") { _ in .empty() }
        let response = await TestClient(app: makeApp(blueprint)).get("/x")
        // The innermost stage adds its header first.
        #expect(response.headers.values(for: "X-Stage") == ["second", "first"])
    }

    @Test("app middleware wraps blueprint middleware")
    func appMiddlewareOutside() async {
        let blueprint = Blueprint("inner")
        blueprint.use(StageMiddleware(name: "blueprint"))
        blueprint.get("/x") { _ in .empty() }
        var app = makeApp(blueprint)
        app.use(StageMiddleware(name: "app"))
        let response = await TestClient(app: app).get("/x")
        #expect(response.headers.values(for: "X-Stage") == ["blueprint", "app"])
    }

    @Test("endpoint names are blueprint.name, explicit or derived from method and path")
    func endpointNames() {
        let tasks = Blueprint("tasks", prefix: "/api/tasks")
        tasks.get("/", name: "list") { _ in .empty() }
        tasks.get("/{id:int}") { _ in .empty() }
        tasks.delete("/{id:int}/files/{name}") { _ in .empty() }
        tasks.post("/") { _ in .empty() }

        #expect(
            tasks.routes.map(\.metadata.name) == [
                "tasks.list", "tasks.get_by_id", "tasks.delete_by_id_files_by_name", "tasks.post",
            ])
        #expect(
            tasks.routes.map(\.pattern.description) == [
                "/api/tasks", "/api/tasks/{id:int}", "/api/tasks/{id:int}/files/{name}", "/api/tasks",
            ])
        #expect(tasks.routes.allSatisfy { $0.metadata.blueprint == "tasks" })
    }

    @Test("the matched route's metadata reaches the handler and the app's route table")
    func metadataOnRequest() async {
        let meta = Blueprint("meta", prefix: "/api")
        meta.get("/hello", name: "hello", summary: "A greeting") { request in
            .json(["endpoint": .string(request.route?.metadata.name ?? "")])
        }
        let app = makeApp(meta)
        #expect(await TestClient(app: app).get("/api/hello").text == #"{"endpoint": "meta.hello"}"#)
        #expect(app.router.routes.map(\.metadata.summary) == ["A greeting"])
        #expect(app.router.routes.map(\.method) == [.get])
    }
}

@Suite("Rounds of writes and routes")
struct WriteRoundRouteTests {
    /// Counts how often the open round of a batch is ended.
    final class Ends: Sendable {
        let count = Mutex<Int>(0)
        func open(_ batch: WriteSync.Batch) { batch.openedRound { [self] in count.withLock { $0 += 1 } } }
        var ended: Int { count.withLock { $0 } }
    }

    @Test("only a write route of a blueprint whose writes join rounds runs in an open round; others end it first")
    func otherRoutesEndTheRound() async {
        let writes = Blueprint("writes", prefix: "/writes")
        writes.writesJoinRounds = true
        writes.post("") { _ in .json([:], status: .created) }
        writes.get("") { _ in .json([:]) }
        let other = Blueprint("other", prefix: "/other")
        other.post("") { _ in .json([:], status: .created) }
        let client = TestClient(app: makeApp(writes, other))
        let batch = WriteSync.Batch()
        let ends = Ends()
        await WriteSync.$batch.withValue(batch) {
            ends.open(batch)
            #expect(await client.send(.post, "/writes", rawJSON: "{}").status == 201)
            #expect(ends.ended == 0)
            #expect(await client.get("/writes").status == 200)
            #expect(ends.ended == 1)
            ends.open(batch)
            #expect(await client.send(.post, "/other", rawJSON: "{}").status == 201)
            #expect(ends.ended == 2)
            ends.open(batch)
            #expect(await client.get("/nowhere").status == 404)
            #expect(ends.ended == 3)
        }
    }
}
