// Schema validation of query strings: text read as typed values, errors under each name.

import Flagon
import Testing

@Suite("Schema query validation")
struct SchemaQueryTests {
    @Test("absent parameters take their defaults; unknown ones are ignored")
    func defaultsAndUnknown() throws {
        let query = try ListQuery.decode(query: QueryString.parse("utm_source=mail&page=2&x="))
        #expect(query == ListQuery(page: 2, perPage: 20, completed: nil, sort: "created_at", q: nil))
    }

    @Test(
        "integers must be plain decimal text that fits the range",
        arguments: [
            ("page=", "page", "Not a valid integer."),
            ("page=abc", "page", "Not a valid integer."),
            ("page=3.0", "page", "Not a valid integer."),
            ("page=3e0", "page", "Not a valid integer."),
            ("page=%203", "page", "Not a valid integer."),
            ("page=1.5e99999999999999999999", "page", "Not a valid integer."),
            ("page=99999999999999999999x", "page", "Not a valid integer."),
            ("page=--99999999999999999999", "page", "Not a valid integer."),
            ("page=+", "page", "Not a valid integer."),
            (
                "page=99999999999999999999", "page",
                "Must be greater than or equal to 1 and less than or equal to 9223372036854775807."
            ),
            ("page=-99999999999999999999", "page", "Must be greater than or equal to 1."),
            (
                "per_page=%2B99999999999999999999", "per_page",
                "Must be greater than or equal to 1 and less than or equal to 100."
            ),
            (
                "per_page=-99999999999999999999", "per_page",
                "Must be greater than or equal to 1 and less than or equal to 100."
            ),
            ("page=0", "page", "Must be greater than or equal to 1."),
            ("per_page=0", "per_page", "Must be greater than or equal to 1 and less than or equal to 100."),
            ("per_page=101", "per_page", "Must be greater than or equal to 1 and less than or equal to 100."),
            ("per_page=-5", "per_page", "Must be greater than or equal to 1 and less than or equal to 100."),
        ])
    func integerErrors(query: String, field: String, message: String) {
        #expect(queryErrors(ListQuery.schema, query) == [field: [message]])
    }

    @Test("integer text in range is accepted, a leading + (%2B) as Python's int() accepts it")
    func integersAccepted() throws {
        let query = try ListQuery.decode(query: QueryString.parse("page=%2B7&per_page=100"))
        #expect(query.page == 7)
        #expect(query.perPage == 100)
        #expect(try ListQuery.decode(query: QueryString.parse("per_page=1")).perPage == 1)
    }

    @Test(
        "booleans take marshmallow's truthy and falsy words",
        arguments: [
            ("true", true), ("True", true), ("TRUE", true), ("1", true), ("yes", true), ("on", true), ("t", true),
            ("false", false), ("False", false), ("FALSE", false), ("0", false), ("no", false), ("off", false),
            ("f", false),
        ])
    func booleans(text: String, expected: Bool) throws {
        #expect(try ListQuery.decode(query: QueryString.parse("completed=\(text)")).completed == expected)
    }

    @Test("other boolean text is Not a valid boolean.", arguments: ["", "maybe", "tRuE", "2", "yes please"])
    func badBooleans(text: String) {
        #expect(queryErrors(ListQuery.schema, "completed=\(text)") == ["completed": ["Not a valid boolean."]])
    }

    @Test("every bad parameter is reported at once, under its own name")
    func allAtOnce() {
        #expect(
            queryErrors(ListQuery.schema, "page=&per_page=101&completed=maybe&sort=name&other=1")
                == [
                    "page": ["Not a valid integer."],
                    "per_page": ["Must be greater than or equal to 1 and less than or equal to 100."],
                    "completed": ["Not a valid boolean."],
                    "sort": ["Must be one of: created_at, -created_at, priority, -priority."],
                ])
    }

    @Test(
        "a parameter holding U+0000 (%00) is refused under its name",
        arguments: ["q=a%00b", "q=%00", "sort=created_at%00", "q=%00&page=2"])
    func nulRefused(query: String) {
        let field = query.hasPrefix("sort") ? "sort" : "q"
        let errors = queryErrors(ListQuery.schema, query)
        #expect(errors?[field]?.first == "Must not contain the NUL character.")
        #expect(errors?.count == 1)
    }

    @Test("a NUL in an integer or boolean parameter is not a valid value of that type")
    func nulInTypedParameters() {
        #expect(queryErrors(ListQuery.schema, "page=1%00") == ["page": ["Not a valid integer."]])
        #expect(queryErrors(ListQuery.schema, "completed=true%00") == ["completed": ["Not a valid boolean."]])
    }

    @Test("the first value of a repeated parameter counts")
    func repeated() throws {
        #expect(try ListQuery.decode(query: QueryString.parse("page=2&page=abc")).page == 2)
        #expect(queryErrors(ListQuery.schema, "page=abc&page=2") == ["page": ["Not a valid integer."]])
    }

    @Test("a request's query is percent-decoded before validation")
    func throughRequest() throws {
        let request = Request(method: .get, target: "/api/tasks?q=caf%C3%A9+au+lait&sort=-priority")
        let query = try request.query(ListQuery.self)
        #expect(query.q == "café au lait")
        #expect(query.sort == "-priority")
    }

    @Test("an invalid query through a route is a 400 with the errors map")
    func throughClient() async {
        let api = Blueprint("api", prefix: "/api")
        api.get("/tasks") { request in
            let query = try request.query(ListQuery.self)
            return .json(["page": .integer(Int64(query.page)), "per_page": .integer(Int64(query.perPage))])
        }
        let client = TestClient(app: makeApp(api))
        #expect(await client.get("/api/tasks?per_page=5&page=3").text == #"{"page": 3, "per_page": 5}"#)
        let response = await client.get("/api/tasks?page=&per_page=101")
        #expect(response.status == 400)
        #expect(
            response.text
                == #"{"error": "Bad Request", "message": "Validation failed.", "status": 400, "errors": {"#
                + #""page": ["Not a valid integer."], "#
                + #""per_page": ["Must be greater than or equal to 1 and less than or equal to 100."]}}"#)
    }
}
