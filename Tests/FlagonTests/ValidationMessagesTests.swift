// Every validation message of API.md §2, through a route and the test client.

import Flagon
import Testing

@Suite("Validation messages through the test client")
struct ValidationMessagesTests {
    /// A route that decodes the product input (every field kind and validator) and echoes nothing.
    static let client: TestClient = {
        let products = Blueprint("products", prefix: "/api/products")
        products.post("/") { request in
            _ = try request.decode(ProductInput.self)
            return .empty(status: .created)
        }
        let tasks = Blueprint("tasks", prefix: "/api/tasks")
        tasks.post("/") { request in
            _ = try request.decode(TaskInput.self)
            return .empty(status: .created)
        }
        var app = App(logger: quietLogger)
        app.register(products)
        app.register(tasks)
        return TestClient(app: app)
    }()

    struct Case: Sendable, CustomTestStringConvertible {
        let path: String
        let body: String
        let field: String
        let message: String
        var testDescription: String { "\(field): \(message) for \(body)" }
    }

    static let cases: [Case] = [
        Case(path: "/api/tasks", body: #"{}"#, field: "title", message: "Missing data for required field."),
        Case(path: "/api/tasks", body: #"{"title": null}"#, field: "title", message: "Field may not be null."),
        Case(path: "/api/tasks", body: #"{"title": 5}"#, field: "title", message: "Not a valid string."),
        Case(
            path: "/api/tasks", body: #"{"title": "t", "priority": "3"}"#, field: "priority",
            message: "Not a valid integer."),
        Case(
            path: "/api/tasks", body: #"{"title": "t", "priority": 3.0}"#, field: "priority",
            message: "Not a valid integer."),
        Case(
            path: "/api/tasks", body: #"{"title": "t", "priority": 3e0}"#, field: "priority",
            message: "Not a valid integer."),
        Case(
            path: "/api/tasks", body: #"{"title": "t", "priority": 100000000000000000000}"#, field: "priority",
            message: "Must be greater than or equal to 1 and less than or equal to 5."),
        Case(
            path: "/api/tasks", body: #"{"title": "t", "priority": -100000000000000000000}"#, field: "priority",
            message: "Must be greater than or equal to 1 and less than or equal to 5."),
        Case(
            path: "/api/products", body: #"{"name": "abc", "price_cents": 100000000000000000000}"#,
            field: "price_cents",
            message: "Must be greater than or equal to 0 and less than or equal to 9223372036854775807."),
        Case(
            path: "/api/tasks", body: #"{"title": "t", "completed": 1}"#, field: "completed",
            message: "Not a valid boolean."),
        Case(
            path: "/api/tasks", body: #"{"title": "t", "completed": "true"}"#, field: "completed",
            message: "Not a valid boolean."),
        Case(path: "/api/tasks", body: #"{"title": ""}"#, field: "title", message: "Length must be between 1 and 100."),
        Case(
            path: "/api/tasks", body: #"{"title": "t", "description": "\#(String(repeating: "d", count: 501))"}"#,
            field: "description", message: "Longer than maximum length 500."),
        Case(
            path: "/api/tasks", body: #"{"title": "t", "priority": 6}"#, field: "priority",
            message: "Must be greater than or equal to 1 and less than or equal to 5."),
        Case(
            path: "/api/products", body: #"{"name": "abc", "price_cents": -1}"#, field: "price_cents",
            message: "Must be greater than or equal to 0."),
        Case(path: "/api/tasks", body: #"{"title": "t", "owner": 1}"#, field: "owner", message: "Unknown field."),
        Case(
            path: "/api/tasks", body: #"{"title": "a\u0000b"}"#, field: "title",
            message: "Must not contain the NUL character."),
        Case(
            path: "/api/products", body: #"{"name": "abc", "price_cents": 1, "note": "\u0000"}"#, field: "note",
            message: "Must not contain the NUL character."),
        Case(path: "/api/tasks", body: #"[]"#, field: "_schema", message: "Invalid input type."),
        Case(path: "/api/tasks", body: #""title""#, field: "_schema", message: "Invalid input type."),
        Case(path: "/api/tasks", body: #"null"#, field: "_schema", message: "Invalid input type."),
    ]

    @Test("each case is a 400 with exactly that message under its field", arguments: cases)
    func message(_ testCase: Case) async {
        let response = await Self.client.send(.post, testCase.path, rawJSON: testCase.body)
        #expect(response.status == 400)
        #expect(response["error"] == "Bad Request")
        #expect(response["message"] == "Validation failed.")
        #expect(response["status"] == 400)
        #expect(response["errors"]?.objectValue?[testCase.field] == .array([.string(testCase.message)]))
    }

    @Test("all field errors of one body are reported together")
    func together() async {
        let response = await Self.client.send(
            .post, "/api/tasks", rawJSON: #"{"title": "", "priority": 9, "completed": "no", "x": 1}"#)
        #expect(response["errors"]?.objectValue?.keys.sorted() == ["completed", "priority", "title", "x"])
    }
}
