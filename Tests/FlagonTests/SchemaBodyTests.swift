// JSON bodies through routes: media types (415), malformed JSON (400), validation, typed handlers.

import Flagon
import Testing

@Suite("Schema request bodies")
struct SchemaBodyTests {
    static let notJSON = #"{"error": "Bad Request", "message": "The request body is not valid JSON.", "status": 400}"#

    /// A tasks blueprint whose handlers see only decoded input.
    static func client() -> TestClient {
        let tasks = Blueprint("tasks", prefix: "/api/tasks")
        tasks.post("/") { request in
            let input = try request.decode(TaskInput.self)
            return .json(
                [
                    "title": .string(input.title), "description": .string(input.description),
                    "priority": .integer(Int64(input.priority)), "completed": .bool(input.completed),
                ], status: .created)
        }
        tasks.patch("/{id:int}") { request in
            let patch = try request.decode(TaskPatch.self)
            var changed = JSONObject()
            if let title = patch.title { changed["title"] = .string(title) }
            if let priority = patch.priority { changed["priority"] = .integer(Int64(priority)) }
            return .json(.object(changed))
        }
        return TestClient(app: makeApp(tasks))
    }

    @Test("a valid body reaches the handler as a typed value, defaults applied")
    func endToEnd() async {
        let response = await Self.client().send(.post, "/api/tasks", json: ["title": "Write tests", "priority": 4])
        #expect(response.status == 201)
        #expect(
            response.text == #"{"title": "Write tests", "description": "", "priority": 4, "completed": false}"#)
    }

    @Test("an invalid body is a 400 with every field error; the handler never runs")
    func invalidBody() async {
        let response = await Self.client().send(
            .post, "/api/tasks", rawJSON: #"{"title": "", "priority": 3.0, "done": true}"#)
        #expect(response.status == 400)
        #expect(
            response.text
                == #"{"error": "Bad Request", "message": "Validation failed.", "status": 400, "errors": {"#
                + #""done": ["Unknown field."], "priority": ["Not a valid integer."], "#
                + #""title": ["Length must be between 1 and 100."]}}"#)
    }

    @Test("an empty body validates as {} (webargs), whatever its Content-Type")
    func emptyBody() async {
        for headers: HTTPHeaders in [[:], ["Content-Type": "text/plain"], ["Content-Type": "application/json"]] {
            let response = await Self.client().request(.post, "/api/tasks", headers: headers)
            #expect(response.status == 400)
            #expect(response["errors"] == ["title": ["Missing data for required field."]])
        }
    }

    @Test(
        "an integer beyond 64 bits answers the field's range message, never a 5xx",
        arguments: ["100000000000000000000", "-100000000000000000000", "123456789012345678901234567890"])
    func bigInteger(number: String) async {
        let response = await Self.client().send(
            .post, "/api/tasks", rawJSON: #"{"title": "x", "priority": \#(number)}"#)
        #expect(response.status == 400)
        #expect(response["errors"] == ["priority": ["Must be greater than or equal to 1 and less than or equal to 5."]])
    }

    @Test("a NUL in a string is a 400 under its field, in a POST and a PATCH")
    func nulInString() async {
        let client = Self.client()
        let post = await client.send(.post, "/api/tasks", rawJSON: #"{"title": "a\u0000b"}"#)
        #expect(post.status == 400)
        #expect(post["errors"] == ["title": ["Must not contain the NUL character."]])
        let patch = await client.send(.patch, "/api/tasks/1", json: ["title": "a\u{0}"])
        #expect(patch.status == 400)
        #expect(patch["errors"] == ["title": ["Must not contain the NUL character."]])
    }

    /// An object of `count` members `"k0": 0, "k1": 0, ...` with `title` first.
    static func wideBody(members count: Int) -> String {
        var body = #"{"title": "x""#
        for index in 1..<count { body += #", "k\#(index)": 0"# }
        return body + "}"
    }

    @Test("an object with more members than the cap is not valid JSON; at the cap it is validated")
    func memberCap() async {
        let client = Self.client()
        let atCap = await client.send(.post, "/api/tasks", rawJSON: Self.wideBody(members: JSONParser.maximumMembers))
        #expect(atCap.status == 400)
        #expect(atCap["message"] == "Validation failed.")
        #expect(atCap["errors"]?.objectValue?.count == ObjectSchema.maximumUnknownFieldErrors)
        let overCap = await client.send(
            .post, "/api/tasks", rawJSON: Self.wideBody(members: JSONParser.maximumMembers + 1))
        #expect(overCap.status == 400)
        #expect(overCap.text == Self.notJSON)
    }

    @Test("100,000 members under the body limit are not valid JSON, repeated keys counted")
    func hundredThousandMembers() async {
        let body = #"{"title":"x""# + String(repeating: #","a":0"#, count: 99_999) + "}"
        #expect(body.utf8.count < 1 << 20)
        let response = await Self.client().send(.post, "/api/tasks", rawJSON: body)
        #expect(response.status == 400)
        #expect(response.text == Self.notJSON)
    }

    @Test("nesting 100,000 deep is not valid JSON, in arrays and in objects")
    func deepNesting() async {
        let client = Self.client()
        let arrays =
            #"{"title": "# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        let objects = String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        for body in [arrays, objects] {
            #expect(body.utf8.count < 1 << 20)
            let response = await client.send(.post, "/api/tasks", rawJSON: body)
            #expect(response.status == 400)
            #expect(response.text == Self.notJSON)
        }
    }

    @Test(
        "a body whose media type is not application/json is 415",
        arguments: [
            "text/plain", "application/merge-patch+json", "application/vnd.api+json", "application/*+json",
            "application/x-www-form-urlencoded", "application/jsonp", "json", "",
        ])
    func unsupportedMediaType(contentType: String) async {
        let response = await Self.client().send(
            .post, "/api/tasks", rawJSON: #"{"title": "x"}"#, headers: ["Content-Type": contentType])
        #expect(response.status == 415)
        #expect(response["error"] == "Unsupported Media Type")
        #expect(response["message"] == "The request body must be JSON, sent as Content-Type: application/json.")
    }

    @Test("a body without any Content-Type is 415")
    func missingContentType() async {
        let response = await Self.client().request(.post, "/api/tasks", body: Array(#"{"title": "x"}"#.utf8))
        #expect(response.status == 415)
    }

    @Test(
        "application/json in any case, with parameters, is JSON",
        arguments: [
            "application/json", "Application/JSON; charset=utf-8", "APPLICATION/JSON;charset=UTF-8",
            " application/json ; charset=utf-8", "application/json;",
        ])
    func acceptedMediaTypes(contentType: String) async {
        let response = await Self.client().send(
            .post, "/api/tasks", rawJSON: #"{"title": "x"}"#, headers: ["Content-Type": contentType])
        #expect(response.status == 201)
    }

    @Test(
        "malformed JSON is a 400 that says so and nothing more",
        arguments: [
            #"{"title": }"#, #"{"title": "x",}"#, #"{"title": "x"} trailing"#, "{'title': 'x'}", "{", "NaN",
            #"{"title": "x", "priority": 01}"#,
        ])
    func malformed(body: String) async {
        let response = await Self.client().send(.post, "/api/tasks", rawJSON: body)
        #expect(response.status == 400)
        #expect(response.text == Self.notJSON)
    }

    @Test(
        "invalid UTF-8 is a 400, inside a string or out of one",
        arguments: [
            Array(#"{"title": ""#.utf8) + [0xFF] + Array(#""}"#.utf8),
            Array(#"{"title": "caf"#.utf8) + [0xC3] + Array(#""}"#.utf8),
            Array(#"{"title": "x"}"#.utf8) + [0xC3, 0xA9],
            [0xEF, 0xBB, 0xBF] + Array(#"{"title": "x"}"#.utf8),
        ])
    func invalidUTF8(body: [UInt8]) async {
        let response = await Self.client().request(
            .post, "/api/tasks", headers: ["Content-Type": "application/json"], body: body)
        #expect(response.status == 400)
        #expect(response.text == Self.notJSON)
    }

    @Test("PATCH validates only the fields sent and applies no defaults")
    func patch() async {
        let client = Self.client()
        #expect(await client.send(.patch, "/api/tasks/1", json: ["priority": 2]).text == #"{"priority": 2}"#)
        #expect(await client.send(.patch, "/api/tasks/1", json: [:]).text == "{}")
        let bad = await client.send(.patch, "/api/tasks/1", json: ["title": nil, "priority": "2"])
        #expect(bad.status == 400)
        #expect(bad["errors"] == ["priority": ["Not a valid integer."], "title": ["Field may not be null."]])
    }

    @Test("jsonBody gives nil for an empty body and the parsed value otherwise")
    func jsonBody() throws {
        #expect(try Request(method: .post, target: "/").jsonBody() == nil)
        let request = Request(
            method: .post, target: "/", headers: ["Content-Type": "application/json"], body: Array("[1, 2.5]".utf8))
        #expect(try request.jsonBody() == [1, 2.5])
    }
}

@Suite("JSON media type")
struct JSONMediaTypeTests {
    /// The check by Character that the byte check stands in for on ASCII text.
    private func reference(_ contentType: String) -> Bool {
        let mediaType = contentType.prefix { $0 != ";" }
            .drop { $0 == " " || $0 == "\t" }
            .reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        return String(mediaType).lowercased() == "application/json"
    }

    @Test("the byte check answers as the check by Character, ASCII or not")
    func sameAsReference() {
        let cases = [
            "application/json", "APPLICATION/JSON", "Application/Json; charset=utf-8", " \tapplication/json \t;x",
            "application/json ", "application/jsonp", "application/json\r\n", "application\\json", "application/json;",
            ";application/json", "", " ", ";", "text/json", "application/problem+json", "applicati\u{F6}n/json",
            "application/json;charset=\u{E9}", "application/j\u{212A}son", "\u{C9}application/json",
            "application/json\u{301}", "application/@son", "application/json\u{7F}", "APPLICATION/JSON\t\t",
        ]
        for contentType in cases {
            #expect(Request.isJSON(contentType: contentType) == reference(contentType), "\(contentType)")
        }
        #expect(!Request.isJSON(contentType: nil))
    }
}
