// Hostile JSON input through the real application: NUL in strings, integers beyond 64 bits, huge objects.

import Flagon
import TasksAPI
import Testing

@Suite("Hostile input through the application")
struct HostileInputTests {
    private static func errors(_ response: TestResponse) -> JSONObject? { response["errors"]?.objectValue }

    @Test(
        "a NUL in a task's title or description is a 400 under that field, and nothing is stored",
        arguments: Backend.allCases)
    func nulInTask(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let token = try await fixture.tokens(for: "alice").access
            let auth: HTTPHeaders = ["Authorization": "Bearer \(token)"]
            let title = await fixture.client.send(
                .post, "/api/tasks", rawJSON: #"{"title": "a\u0000b"}"#, headers: auth)
            #expect(title.status == 400)
            #expect(Self.errors(title) == JSONObject([("title", ["Must not contain the NUL character."])]))
            let description = await fixture.client.send(
                .post, "/api/tasks", json: ["title": "ok", "description": "x\u{0}"], headers: auth)
            #expect(Self.errors(description) == JSONObject([("description", ["Must not contain the NUL character."])]))
            #expect(await fixture.client.get("/api/tasks", headers: auth)["total"] == 0)

            let created = await fixture.client.send(.post, "/api/tasks", json: ["title": "ok"], headers: auth)
            let id = try #require(created["id"]?.jsonText)
            let patch = await fixture.client.send(
                .patch, "/api/tasks/\(id)", rawJSON: #"{"title": "\u0000"}"#, headers: auth)
            #expect(patch.status == 400)
            #expect(Self.errors(patch) == JSONObject([("title", ["Must not contain the NUL character."])]))
            #expect(await fixture.client.get("/api/tasks/\(id)", headers: auth)["title"] == "ok")
        }
    }

    @Test("a NUL in a username or password is a 400 under that field", arguments: Backend.allCases)
    func nulInCredentials(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let register = await fixture.register("bob", "a good password\u{0}x")
            #expect(register.status == 400)
            #expect(Self.errors(register) == JSONObject([("password", ["Must not contain the NUL character."])]))
            let login = await fixture.login("bob\u{0}", "a good password")
            #expect(login.status == 400)
            #expect(Self.errors(login) == JSONObject([("username", ["Must not contain the NUL character."])]))
        }
    }

    @Test("an integer beyond 64 bits answers the range message of priority, in a body and a query")
    func bigPriority() async throws {
        try await AccountsFixture.with { fixture in
            let token = try await fixture.tokens(for: "carol").access
            let auth: HTTPHeaders = ["Authorization": "Bearer \(token)"]
            let range = "Must be greater than or equal to 1 and less than or equal to 5."
            for number in ["100000000000000000000", "-100000000000000000000"] {
                let body = await fixture.client.send(
                    .post, "/api/tasks", rawJSON: #"{"title": "t", "priority": \#(number)}"#, headers: auth)
                #expect(body.status == 400)
                #expect(Self.errors(body) == JSONObject([("priority", [.string(range)])]))
                let query = await fixture.client.get("/api/tasks?priority=\(number)", headers: auth)
                #expect(query.status == 400)
                #expect(Self.errors(query) == JSONObject([("priority", [.string(range)])]))
            }
        }
    }

    @Test("an object with 100,000 members is not valid JSON")
    func hugeObject() async throws {
        try await AccountsFixture.with { fixture in
            let token = try await fixture.tokens(for: "dave").access
            let body = #"{"title":"x""# + String(repeating: #","a":0"#, count: 99_999) + "}"
            let response = await fixture.client.send(
                .post, "/api/tasks", rawJSON: body, headers: ["Authorization": "Bearer \(token)"])
            #expect(response.status == 400)
            #expect(response["message"] == "The request body is not valid JSON.")
        }
    }
}
