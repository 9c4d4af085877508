// The tasks routes through the in-memory test client, on SQLite and on PostgreSQL (API contract §8 and §12).

import Flagon
import Foundation
import Testing

@testable import TasksAPI

/// One user's calls to the tasks API, each with that user's access token.
private struct TasksUser {
    let client: TestClient
    let token: String

    init(_ fixture: AccountsFixture, _ username: String) async throws {
        client = fixture.client
        token = try await fixture.tokens(for: username).access
    }

    private func authorized(_ headers: HTTPHeaders) -> HTTPHeaders {
        var headers = headers
        headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)")
        return headers
    }

    func get(_ target: String, _ headers: HTTPHeaders = [:]) async -> TestResponse {
        await client.get(target, headers: authorized(headers))
    }

    func head(_ target: String, _ headers: HTTPHeaders = [:]) async -> TestResponse {
        await client.head(target, headers: authorized(headers))
    }

    func send(
        _ method: HTTPMethod, _ target: String, _ json: JSONValue, _ headers: HTTPHeaders = [:]
    ) async
        -> TestResponse
    {
        await client.send(method, target, json: json, headers: authorized(headers))
    }

    func send(
        _ method: HTTPMethod, _ target: String, rawJSON: String, _ headers: HTTPHeaders = [:]
    ) async
        -> TestResponse
    {
        await client.send(method, target, rawJSON: rawJSON, headers: authorized(headers))
    }

    func delete(_ target: String, _ headers: HTTPHeaders = [:]) async -> TestResponse {
        await client.delete(target, headers: authorized(headers))
    }

    /// Creates a task and returns its id.
    @discardableResult
    func create(_ json: JSONValue) async throws -> Int64 {
        let response = await send(.post, "/api/tasks", json)
        try #require(response.status == 201, "\(response.text)")
        return try integer(response["id"])
    }
}

private func integer(_ value: JSONValue?) throws -> Int64 {
    guard case .integer(let number) = try #require(value) else {
        Issue.record("not an integer: \(String(describing: value))")
        return 0
    }
    return number
}

/// The ids of a list response's items, in order.
private func ids(_ response: TestResponse) -> [Int64] {
    guard case .array(let items) = response["items"] else { return [] }
    return items.compactMap { item in
        if case .integer(let id)? = item.objectValue?["id"] { return id }
        return nil
    }
}

private func errors(_ response: TestResponse) -> JSONObject? { response["errors"]?.objectValue }

/// Sets timestamps straight in the database: tests need distinct or past times without sleeping.
private func setTimes(_ fixture: AccountsFixture, id: Int64, createdAt: String, updatedAt: String? = nil) throws {
    try executeDirectly(
        fixture.application.database, "UPDATE tasks SET created_at = ?, updated_at = ? WHERE id = ?",
        [createdAt, updatedAt ?? createdAt, String(id)])
}

/// RFC 3339 UTC with `Z`, whole seconds, and within a minute of now.
private func isCurrentTimestamp(_ value: JSONValue?) -> Bool {
    guard let text = value?.stringValue, text.wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/#) != nil,
        let date = ISO8601DateFormatter().date(from: text)
    else { return false }
    return abs(date.timeIntervalSinceNow) < 60
}

@Suite("Tasks endpoints")
struct TasksEndpointsTests {
    @Test("POST answers 201 with the task, defaults filled in, Location and an ETag", arguments: Backend.allCases)
    func createWithDefaults(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            let response = await alice.send(.post, "/api/tasks", ["title": "Write tests"])
            #expect(response.status == 201)
            #expect(response.headers["Location"] == "/api/tasks/1")
            #expect(response.headers["ETag"] == "\"1-1\"")
            let body = try #require(response.json?.objectValue)
            #expect(body.keys == ["id", "title", "description", "priority", "completed", "created_at", "updated_at"])
            #expect(body["id"] == 1)
            #expect(body["title"] == "Write tests")
            #expect(body["description"] == "")
            #expect(body["priority"] == 3)
            #expect(body["completed"] == false)
            #expect(isCurrentTimestamp(body["created_at"]))
            #expect(body["updated_at"] == body["created_at"])

            let full = await alice.send(
                .post, "/api/tasks", ["title": "Ship", "description": "on Friday", "priority": 5, "completed": true])
            #expect(full.status == 201)
            #expect(full.headers["Location"] == "/api/tasks/2")
            #expect(full["description"] == "on Friday")
            #expect(full["priority"] == 5)
            #expect(full["completed"] == true)
        }
    }

    @Test("invalid bodies are 400 with every field's marshmallow message", arguments: Backend.allCases)
    func validation(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            let response = await alice.send(
                .post, "/api/tasks", ["title": "", "priority": 6, "completed": "yes", "owner_id": 2])
            #expect(response.status == 400)
            #expect(response["error"] == "Bad Request")
            #expect(response["message"] == "Validation failed.")
            #expect(
                errors(response)
                    == JSONObject([
                        ("completed", ["Not a valid boolean."]), ("owner_id", ["Unknown field."]),
                        ("priority", ["Must be greater than or equal to 1 and less than or equal to 5."]),
                        ("title", ["Length must be between 1 and 100."]),
                    ]))

            let missing = await alice.send(.post, "/api/tasks", [:])
            #expect(errors(missing) == JSONObject([("title", ["Missing data for required field."])]))
            let long = await alice.send(
                .post, "/api/tasks",
                [
                    "title": .string(String(repeating: "x", count: 101)),
                    "description": .string(String(repeating: "y", count: 501)),
                ])
            #expect(errors(long)?["title"] == ["Length must be between 1 and 100."])
            #expect(errors(long)?["description"] == ["Longer than maximum length 500."])
            let types = await alice.send(.post, "/api/tasks", ["title": 1, "priority": "3", "description": nil])
            #expect(errors(types)?["title"] == ["Not a valid string."])
            #expect(errors(types)?["priority"] == ["Not a valid integer."])
            #expect(errors(types)?["description"] == ["Field may not be null."])
            let fraction = await alice.send(.post, "/api/tasks", rawJSON: #"{"title": "x", "priority": 3.0}"#)
            #expect(errors(fraction)?["priority"] == ["Not a valid integer."])
            let array = await alice.send(.post, "/api/tasks", ["title"])
            #expect(errors(array) == JSONObject([("_schema", ["Invalid input type."])]))
            let notJSON = await alice.send(.post, "/api/tasks", rawJSON: "{title")
            #expect(notJSON.status == 400)
            let text = await alice.send(.post, "/api/tasks", rawJSON: "{}", ["Content-Type": "text/plain"])
            #expect(text.status == 415)

            let list = await alice.get("/api/tasks")
            #expect(list["total"] == 0, "nothing invalid was stored")
        }
    }

    @Test("GET answers the task with a strong ETag; HEAD the same headers without a body", arguments: Backend.allCases)
    func getOne(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            let created = await alice.send(.post, "/api/tasks", ["title": "Read"])
            let response = await alice.get("/api/tasks/1")
            #expect(response.status == 200)
            #expect(response.text == created.text)
            let etag = try #require(response.headers["ETag"])
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""), "a strong tag: no W/")
            #expect(etag == created.headers["ETag"])
            let head = await alice.head("/api/tasks/1")
            #expect(head.status == 200)
            #expect(head.text.isEmpty)
            #expect(head.headers["ETag"] == etag)
        }
    }

    @Test(
        "If-None-Match gives 304 with the ETag and no body for an exact, weak, * or listed match, else 200",
        arguments: Backend.allCases)
    func ifNoneMatch(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "Cache me"])
            let etag = try #require(await alice.get("/api/tasks/1").headers["ETag"])
            for header in [etag, "W/\(etag)", "*", "\"nope\", \(etag)", " W/\"x\" ,\(etag) "] {
                let response = await alice.get("/api/tasks/1", ["If-None-Match": header])
                #expect(response.status == 304, "If-None-Match: \(header)")
                #expect(response.text.isEmpty)
                #expect(response.headers["ETag"] == etag)
            }
            let head = await alice.head("/api/tasks/1", ["If-None-Match": etag])
            #expect(head.status == 304)
            for header in ["\"nope\"", "W/\"nope\", \"1-2\"", "1-1", ""] {
                let response = await alice.get("/api/tasks/1", ["If-None-Match": header])
                #expect(response.status == 200, "If-None-Match: \(header)")
                #expect(response["title"] == "Cache me")
                #expect(response.headers["ETag"] == etag)
            }
            // After a change the old tag no longer matches.
            _ = await alice.send(.patch, "/api/tasks/1", ["completed": true])
            let changed = await alice.get("/api/tasks/1", ["If-None-Match": etag])
            #expect(changed.status == 200)
            #expect(changed.headers["ETag"] != etag)
        }
    }

    @Test("PATCH changes only the fields sent, answers 200 with the task and a new ETag", arguments: Backend.allCases)
    func patch(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "Draft", "description": "keep me", "priority": 2])
            let before = await alice.get("/api/tasks/1")
            let response = await alice.send(.patch, "/api/tasks/1", ["completed": true, "priority": 4])
            #expect(response.status == 200)
            #expect(response["title"] == "Draft")
            #expect(response["description"] == "keep me")
            #expect(response["priority"] == 4)
            #expect(response["completed"] == true)
            #expect(response["created_at"] == before["created_at"])
            let etag = try #require(response.headers["ETag"])
            #expect(etag != before.headers["ETag"])
            let after = await alice.get("/api/tasks/1")
            #expect(after.text == response.text)
            #expect(after.headers["ETag"] == etag)
            let empty = await alice.send(.patch, "/api/tasks/1", [:])
            #expect(empty.status == 200)
            #expect(empty["title"] == "Draft")
        }
    }

    @Test("PATCH validates each field sent: 400 with the messages, the task unchanged", arguments: Backend.allCases)
    func patchValidation(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "Stay"])
            let etag = await alice.get("/api/tasks/1").headers["ETag"]
            let response = await alice.send(.patch, "/api/tasks/1", ["title": "", "priority": 6, "color": "red"])
            #expect(response.status == 400)
            #expect(response["message"] == "Validation failed.")
            #expect(errors(response)?["title"] == ["Length must be between 1 and 100."])
            #expect(
                errors(response)?["priority"] == ["Must be greater than or equal to 1 and less than or equal to 5."])
            #expect(errors(response)?["color"] == ["Unknown field."])
            let null = await alice.send(.patch, "/api/tasks/1", ["title": nil])
            #expect(errors(null)?["title"] == ["Field may not be null."])
            let unchanged = await alice.get("/api/tasks/1")
            #expect(unchanged["title"] == "Stay")
            #expect(unchanged.headers["ETag"] == etag)
        }
    }

    @Test(
        "If-Match: a stale or weak tag is 412 and changes nothing; the current tag, * or a list with it is 200",
        arguments: Backend.allCases)
    func ifMatch(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "v1"])
            let first = try #require(await alice.get("/api/tasks/1").headers["ETag"])
            let second = await alice.send(.patch, "/api/tasks/1", ["title": "v2"], ["If-Match": first])
            #expect(second.status == 200)
            let current = try #require(second.headers["ETag"])
            #expect(current != first)

            let stale = await alice.send(.patch, "/api/tasks/1", ["title": "lost"], ["If-Match": first])
            #expect(stale.status == 412)
            #expect(stale["error"] == "Precondition Failed")
            #expect(stale["status"] == 412)
            let weak = await alice.send(.patch, "/api/tasks/1", ["title": "lost"], ["If-Match": "W/\(current)"])
            #expect(weak.status == 412)
            let stalePut = await alice.send(.put, "/api/tasks/1", ["title": "lost"], ["If-Match": first])
            #expect(stalePut.status == 412)
            let staleDelete = await alice.delete("/api/tasks/1", ["If-Match": first])
            #expect(staleDelete.status == 412)
            let unchanged = await alice.get("/api/tasks/1")
            #expect(unchanged["title"] == "v2")
            #expect(unchanged.headers["ETag"] == current)

            let listed = await alice.send(.patch, "/api/tasks/1", ["title": "v3"], ["If-Match": "\(first), \(current)"])
            #expect(listed.status == 200)
            let any = await alice.send(.put, "/api/tasks/1", ["title": "v4"], ["If-Match": "*"])
            #expect(any.status == 200)
            #expect(any["title"] == "v4")
            let latest = try #require(any.headers["ETag"])
            #expect(await alice.delete("/api/tasks/1", ["If-Match": latest]).status == 204)
        }
    }

    @Test(
        "If-None-Match on a write is 412 when it matches the current task, and * always does",
        arguments: Backend.allCases)
    func ifNoneMatchOnWrites(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "Exists"])
            let etag = try #require(await alice.get("/api/tasks/1").headers["ETag"])
            #expect(await alice.send(.put, "/api/tasks/1", ["title": "x"], ["If-None-Match": "*"]).status == 412)
            #expect(await alice.send(.patch, "/api/tasks/1", ["title": "x"], ["If-None-Match": etag]).status == 412)
            #expect(await alice.delete("/api/tasks/1", ["If-None-Match": "W/\(etag)"]).status == 412)
            #expect(
                await alice.send(.patch, "/api/tasks/1", ["title": "y"], ["If-None-Match": "\"0-0\""]).status == 200)
        }
    }

    @Test(
        "PATCHes with the same If-Match, all checked before any writes: exactly one succeeds, the rest are 412",
        arguments: Backend.allCases)
    func concurrentIfMatch(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "Race"])
            let etag = try #require(await alice.get("/api/tasks/1").headers["ETag"])
            // The worst interleaving of eight writers, forced instead of hoped for: every
            // handler's If-Match check sees the task as it was before the first write, so only
            // the version condition inside the write itself can turn the late ones into 412s.
            let store = ChecksBeforeWrites(Stores(database: fixture.application.database).tasks)
            var app = App(logger: quietLogger)
            app.use(Caller(id: 1))
            app.register(Blueprints.tasks(store: store))
            let writers = TestClient(app: app)
            var statuses: [Int] = []
            for index in 0..<8 {
                let response = await writers.send(
                    .patch, "/api/tasks/1", json: ["title": .string("writer \(index)")], headers: ["If-Match": etag])
                statuses.append(response.status)
            }
            #expect(statuses == [200] + Array(repeating: 412, count: 7))
            #expect(store.checks == 8)
            let stored = await alice.get("/api/tasks/1")
            #expect(stored["title"]?.stringValue == "writer 0")
            let version = try Stores(database: fixture.application.database).tasks.task(id: 1, owner: 1)?.version
            #expect(version == 2)
        }
    }

    @Test(
        "the version check is in the write itself: connections of several workers, one expected version, one success",
        arguments: Backend.allCases)
    func concurrentWritersAcrossConnections(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "Race"])
            // Each writer has its own connection, as each worker process has.
            let stores = try (0..<6).map { _ in
                Stores(database: try otherConnection(to: fixture.application.database)).tasks
            }
            let outcomes = await withTaskGroup(of: String.self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask {
                        do {
                            let changes = try TaskItem.resource.patch(["title": .string("writer \(index)")])
                            _ = try store.update(id: 1, owner: 1, changes: changes, ifVersion: 1)
                            return "updated"
                        } catch TaskError.versionMismatch {
                            return "mismatch"
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.sorted() == ["mismatch", "mismatch", "mismatch", "mismatch", "mismatch", "updated"])
            let task = try #require(try stores[0].task(id: 1, owner: 1))
            #expect(task.version == 2)
            let nothing = try TaskItem.resource.patch([:])
            #expect(throws: TaskError.notFound) {
                try stores[0].update(id: 1, owner: 2, changes: nothing, ifVersion: 2)
            }
            #expect(throws: TaskError.versionMismatch) { try stores[0].delete(id: 1, owner: 1, ifVersion: 1) }
        }
    }

    @Test(
        "PUT replaces the task: absent optional fields go back to their defaults; the same rules as POST",
        arguments: Backend.allCases)
    func put(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "Old", "description": "details", "priority": 5, "completed": true])
            let before = await alice.get("/api/tasks/1")
            let response = await alice.send(.put, "/api/tasks/1", ["title": "New"])
            #expect(response.status == 200)
            #expect(response["id"] == 1)
            #expect(response["title"] == "New")
            #expect(response["description"] == "")
            #expect(response["priority"] == 3)
            #expect(response["completed"] == false)
            #expect(response["created_at"] == before["created_at"])
            #expect(response.headers["ETag"] != nil)
            #expect(response.headers["ETag"] != before.headers["ETag"])
            #expect(await alice.get("/api/tasks/1").text == response.text)

            let missing = await alice.send(.put, "/api/tasks/1", ["priority": 2])
            #expect(missing.status == 400)
            #expect(errors(missing) == JSONObject([("title", ["Missing data for required field."])]))
            let unknown = await alice.send(.put, "/api/tasks/1", ["title": "x", "id": 7])
            #expect(errors(unknown) == JSONObject([("id", ["Unknown field."])]))
            #expect(await alice.get("/api/tasks/1")["title"] == "New")
        }
    }

    @Test("DELETE answers 204 with no body; the task is gone", arguments: Backend.allCases)
    func delete(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "Bye"])
            try await alice.create(["title": "Stay"])
            let response = await alice.delete("/api/tasks/1")
            #expect(response.status == 204)
            #expect(response.text.isEmpty)
            #expect(await alice.get("/api/tasks/1").status == 404)
            #expect(await alice.delete("/api/tasks/1").status == 404)
            #expect(await alice.send(.patch, "/api/tasks/1", ["title": "x"]).status == 404)
            #expect(ids(await alice.get("/api/tasks")) == [2])
        }
    }

    @Test(
        "another user's task is 404 on every route, whatever the conditional headers; it stays untouched",
        arguments: Backend.allCases)
    func otherUsersTask(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            let bob = try await TasksUser(fixture, "bob")
            try await alice.create(["title": "Alice's"])
            let etag = try #require(await alice.get("/api/tasks/1").headers["ETag"])
            for headers: HTTPHeaders in [[:], ["If-Match": "*"], ["If-Match": etag], ["If-None-Match": "\"0-0\""]] {
                let get = await bob.get("/api/tasks/1", headers)
                #expect(get.status == 404)
                #expect(get["message"] == "The requested URL was not found on the server.")
                #expect(await bob.send(.put, "/api/tasks/1", ["title": "Bob's"], headers).status == 404)
                #expect(await bob.send(.patch, "/api/tasks/1", ["title": "Bob's"], headers).status == 404)
                #expect(await bob.delete("/api/tasks/1", headers).status == 404)
            }
            #expect(await bob.get("/api/tasks/1", ["If-None-Match": "*"]).status == 404)
            #expect(await bob.get("/api/tasks/1", ["If-None-Match": etag]).status == 404)
            let list = await bob.get("/api/tasks")
            #expect(list["total"] == 0)
            #expect(ids(list).isEmpty)
            let untouched = await alice.get("/api/tasks/1")
            #expect(untouched["title"] == "Alice's")
            #expect(untouched.headers["ETag"] == etag)
        }
    }

    @Test("a missing task or an id that is not a positive integer is 404", arguments: Backend.allCases)
    func missingAndMalformedIDs(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            for target in [
                "/api/tasks/1", "/api/tasks/0", "/api/tasks/-1", "/api/tasks/abc", "/api/tasks/1.0",
                "/api/tasks/99999999999999999999",
            ] {
                #expect(await alice.get(target).status == 404, "\(target)")
                #expect(await alice.send(.put, target, ["title": "x"]).status == 404, "\(target)")
                #expect(await alice.send(.patch, target, ["title": "x"]).status == 404, "\(target)")
                #expect(await alice.delete(target).status == 404, "\(target)")
            }
        }
    }

    @Test("no token or a refresh token is 401 with WWW-Authenticate on every route", arguments: Backend.allCases)
    func unauthorized(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "Mine"])
            let refresh = try await fixture.tokens(for: "alice").refresh
            for authorization: String? in [nil, "Bearer \(refresh)", "Bearer not-a-token"] {
                let headers: HTTPHeaders = authorization.map { ["Authorization": $0] } ?? [:]
                let responses = [
                    await fixture.client.get("/api/tasks", headers: headers),
                    await fixture.client.send(.post, "/api/tasks", json: ["title": "x"], headers: headers),
                    await fixture.client.get("/api/tasks/1", headers: headers),
                    await fixture.client.send(.put, "/api/tasks/1", json: ["title": "x"], headers: headers),
                    await fixture.client.send(.patch, "/api/tasks/1", json: ["title": "x"], headers: headers),
                    await fixture.client.delete("/api/tasks/1", headers: headers),
                ]
                for response in responses {
                    #expect(response.status == 401, "\(authorization ?? "no token")")
                    #expect(response.headers["WWW-Authenticate"]?.hasPrefix("Bearer") == true)
                }
            }
            #expect(await alice.get("/api/tasks/1")["title"] == "Mine")
        }
    }

    @Test(
        "the list is paginated: page, per_page, total, pages and Link keeping the other parameters",
        arguments: Backend.allCases)
    func pagination(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            for index in 1...25 { try await alice.create(["title": .string("task \(index)")]) }
            let first = await alice.get("/api/tasks?per_page=10")
            #expect(first.status == 200)
            #expect(first["page"] == 1)
            #expect(first["per_page"] == 10)
            #expect(first["total"] == 25)
            #expect(first["pages"] == 3)
            #expect(ids(first) == Array(1...10))
            #expect(first.headers["Link"] == "</api/tasks?per_page=10&page=2>; rel=\"next\"")

            let middle = await alice.get("/api/tasks?completed=false&sort=created_at&per_page=10&page=2&utm=x")
            #expect(ids(middle) == Array(11...20))
            #expect(
                middle.headers["Link"]
                    == "</api/tasks?completed=false&sort=created_at&per_page=10&page=3&utm=x>; rel=\"next\", "
                    + "</api/tasks?completed=false&sort=created_at&per_page=10&page=1&utm=x>; rel=\"prev\"")

            let last = await alice.get("/api/tasks?per_page=10&page=3")
            #expect(ids(last) == Array(21...25))
            #expect(last.headers["Link"] == "</api/tasks?per_page=10&page=2>; rel=\"prev\"")

            let past = await alice.get("/api/tasks?per_page=10&page=4")
            #expect(past.status == 200)
            #expect(past["items"] == [])
            #expect(past["total"] == 25)
            #expect(past["pages"] == 3)

            let defaults = await alice.get("/api/tasks")
            #expect(defaults["per_page"] == 20)
            #expect(ids(defaults).count == 20)
        }
    }

    @Test(
        "an empty collection has 0 pages; bad or empty query values are 400 under their own names",
        arguments: Backend.allCases)
    func queryValidation(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            let empty = await alice.get("/api/tasks")
            #expect(empty.text == #"{"items": [], "page": 1, "per_page": 20, "total": 0, "pages": 0}"#)
            #expect(empty.headers["Link"] == nil)
            let cases: [(String, String, String)] = [
                ("page=", "page", "Not a valid integer."),
                ("page=0", "page", "Must be greater than or equal to 1."),
                ("per_page=101", "per_page", "Must be greater than or equal to 1 and less than or equal to 100."),
                ("completed=maybe", "completed", "Not a valid boolean."),
                ("completed=", "completed", "Not a valid boolean."),
                ("priority=6", "priority", "Must be greater than or equal to 1 and less than or equal to 5."),
                ("priority=high", "priority", "Not a valid integer."),
                ("sort=title", "sort", "Must be one of: created_at, -created_at, priority, -priority."),
                ("sort=", "sort", "Must be one of: created_at, -created_at, priority, -priority."),
            ]
            for (query, field, message) in cases {
                let response = await alice.get("/api/tasks?\(query)")
                #expect(response.status == 400, "\(query)")
                #expect(response["message"] == "Validation failed.")
                #expect(errors(response) == JSONObject([(field, [.string(message)])]), "\(query)")
            }
            #expect(await alice.get("/api/tasks?unknown=1&q=").status == 200)
        }
    }

    @Test(
        "filters completed and priority, alone and together, with the total of the matches", arguments: Backend.allCases
    )
    func filters(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            try await alice.create(["title": "a", "priority": 1])
            try await alice.create(["title": "b", "priority": 5, "completed": true])
            try await alice.create(["title": "c", "priority": 5])
            try await alice.create(["title": "d", "priority": 3, "completed": true])
            let bob = try await TasksUser(fixture, "bob")
            try await bob.create(["title": "bob's", "priority": 5, "completed": true])

            let done = await alice.get("/api/tasks?completed=true")
            #expect(ids(done) == [2, 4])
            #expect(done["total"] == 2)
            #expect(ids(await alice.get("/api/tasks?completed=false")) == [1, 3])
            #expect(ids(await alice.get("/api/tasks?completed=1")) == [2, 4])
            #expect(ids(await alice.get("/api/tasks?priority=5")) == [2, 3])
            let both = await alice.get("/api/tasks?priority=5&completed=true")
            #expect(ids(both) == [2])
            #expect(both["total"] == 1)
            #expect(ids(await alice.get("/api/tasks?priority=2")).isEmpty)
            #expect(ids(await bob.get("/api/tasks?priority=5")) == [5])
        }
    }

    @Test("each sort order, with the id breaking ties", arguments: Backend.allCases)
    func sortOrders(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            // Creation times deliberately out of id order, with one tie (ids 2 and 4).
            let tasks: [(priority: Int64, createdAt: String)] = [
                (2, "2026-01-03T00:00:00Z"), (5, "2026-01-01T00:00:00Z"), (2, "2026-01-04T00:00:00Z"),
                (5, "2026-01-01T00:00:00Z"), (1, "2026-01-02T00:00:00Z"),
            ]
            for (index, task) in tasks.enumerated() {
                let id = try await alice.create([
                    "title": .string("t\(index + 1)"), "priority": .integer(task.priority),
                ])
                try setTimes(fixture, id: id, createdAt: task.createdAt)
            }
            #expect(ids(await alice.get("/api/tasks")) == [2, 4, 5, 1, 3])
            #expect(ids(await alice.get("/api/tasks?sort=created_at")) == [2, 4, 5, 1, 3])
            #expect(ids(await alice.get("/api/tasks?sort=-created_at")) == [3, 1, 5, 4, 2])
            #expect(ids(await alice.get("/api/tasks?sort=priority")) == [5, 1, 3, 2, 4])
            #expect(ids(await alice.get("/api/tasks?sort=-priority")) == [2, 4, 1, 3, 5])
            // Pages of a sorted list neither overlap nor skip.
            let page1 = await alice.get("/api/tasks?sort=-priority&per_page=2")
            let page2 = await alice.get("/api/tasks?sort=-priority&per_page=2&page=2")
            let page3 = await alice.get("/api/tasks?sort=-priority&per_page=2&page=3")
            #expect(ids(page1) + ids(page2) + ids(page3) == [2, 4, 1, 3, 5])
            #expect(
                page2.headers["Link"]
                    == "</api/tasks?sort=-priority&per_page=2&page=3>; rel=\"next\", "
                    + "</api/tasks?sort=-priority&per_page=2&page=1>; rel=\"prev\"")
            let filtered = await alice.get("/api/tasks?priority=2&sort=-created_at")
            #expect(ids(filtered) == [3, 1])
        }
    }

    @Test(
        "created_at and updated_at are RFC 3339 UTC; an update moves updated_at and keeps created_at",
        arguments: Backend.allCases)
    func timestamps(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let alice = try await TasksUser(fixture, "alice")
            let id = try await alice.create(["title": "Clock"])
            let fresh = await alice.get("/api/tasks/\(id)")
            #expect(isCurrentTimestamp(fresh["created_at"]))
            #expect(isCurrentTimestamp(fresh["updated_at"]))
            // In the past, so that an update in the same second still shows.
            try setTimes(fixture, id: id, createdAt: "2001-02-03T04:05:06Z")
            let patched = await alice.send(.patch, "/api/tasks/\(id)", ["priority": 4])
            #expect(patched["created_at"] == "2001-02-03T04:05:06Z")
            #expect(isCurrentTimestamp(patched["updated_at"]))
            try setTimes(fixture, id: id, createdAt: "2001-02-03T04:05:06Z")
            let put = await alice.send(.put, "/api/tasks/\(id)", ["title": "Clock"])
            #expect(put["created_at"] == "2001-02-03T04:05:06Z")
            #expect(isCurrentTimestamp(put["updated_at"]))
        }
    }
}

/// A task store whose reads answer with the task as it was at its first read: as if every
/// request had passed its precondition check before any of them wrote.
private final class ChecksBeforeWrites: TaskStore, @unchecked Sendable {
    private let base: any TaskStore
    private let lock = NSLock()
    private var firstReads: [Int64: TaskItem] = [:]
    private var reads = 0

    init(_ base: any TaskStore) { self.base = base }

    /// How many times a handler read the task to check its preconditions.
    var checks: Int { lock.withLock { reads } }

    func task(id: Int64, owner: Int64) throws -> TaskItem? {
        try lock.withLock {
            reads += 1
            if let task = firstReads[id] { return task }
            let task = try base.task(id: id, owner: owner)
            firstReads[id] = task
            return task
        }
    }

    func create(owner: Int64, fields: Input<TaskItem>) throws -> TaskItem {
        try base.create(owner: owner, fields: fields)
    }

    func tasks(
        owner: Int64, filter: TaskFilter, sort: TaskSort, offset: Int, limit: Int
    ) throws -> (tasks: [TaskItem], total: Int) {
        try base.tasks(owner: owner, filter: filter, sort: sort, offset: offset, limit: limit)
    }

    func update(id: Int64, owner: Int64, changes: Patch<TaskItem>, ifVersion version: Int64?) throws -> TaskItem {
        try base.update(id: id, owner: owner, changes: changes, ifVersion: version)
    }

    func delete(id: Int64, owner: Int64, ifVersion version: Int64?) throws {
        try base.delete(id: id, owner: owner, ifVersion: version)
    }
}

/// Identifies every request as the given user's access token would, so that the tasks
/// blueprint can run on its own.
private struct Caller: Middleware {
    let id: Int64

    func respond(to request: Request, next: Responder) async throws -> Response {
        var request = request
        request.identity = Identity(id: String(id), name: "alice", roles: [], method: .jwt)
        return try await next(request)
    }
}
