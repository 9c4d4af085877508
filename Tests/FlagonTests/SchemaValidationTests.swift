// Schema validation of JSON bodies: marshmallow's messages, all errors at once, strict types.

import Flagon
import Testing

@Suite("Schema validation")
struct SchemaValidationTests {
    @Test("a valid body comes back in schema order with defaults for the absent fields")
    func validWithDefaults() throws {
        let valid = try TaskInput.schema.validate(["priority": 5, "title": "Write tests"])
        #expect(
            JSONValue.object(valid).jsonText
                == #"{"title": "Write tests", "description": "", "priority": 5, "completed": false}"#)
    }

    @Test(
        "each case of the contract's table has marshmallow's message",
        arguments: [
            (#"{}"#, "title", "Missing data for required field."),
            (#"{"title": null}"#, "title", "Field may not be null."),
            (#"{"title": 5}"#, "title", "Not a valid string."),
            (#"{"title": ["x"]}"#, "title", "Not a valid string."),
            (#"{"title": "x", "priority": "3"}"#, "priority", "Not a valid integer."),
            (#"{"title": "x", "priority": true}"#, "priority", "Not a valid integer."),
            (#"{"title": "x", "completed": 1}"#, "completed", "Not a valid boolean."),
            (#"{"title": "x", "completed": 0}"#, "completed", "Not a valid boolean."),
            (#"{"title": "x", "completed": "true"}"#, "completed", "Not a valid boolean."),
            (#"{"title": ""}"#, "title", "Length must be between 1 and 100."),
            (#"{"title": "\#(String(repeating: "a", count: 101))"}"#, "title", "Length must be between 1 and 100."),
            (
                #"{"title": "x", "description": "\#(String(repeating: "d", count: 501))"}"#, "description",
                "Longer than maximum length 500."
            ),
            (
                #"{"title": "x", "priority": 0}"#, "priority",
                "Must be greater than or equal to 1 and less than or equal to 5."
            ),
            (
                #"{"title": "x", "priority": 6}"#, "priority",
                "Must be greater than or equal to 1 and less than or equal to 5."
            ),
            (#"{"title": "x", "owner": 1}"#, "owner", "Unknown field."),
        ])
    func taskMessages(body: String, field: String, message: String) throws {
        #expect(try fieldErrors(TaskInput.schema, body) == [field: [message]])
    }

    @Test(
        "min-only, max-only, exact length, characters and choices have marshmallow's messages",
        arguments: [
            (#"{"name": "ab"}"#, "name", "Shorter than minimum length 3."),
            (#"{"price_cents": -1}"#, "price_cents", "Must be greater than or equal to 0."),
            (#"{"discount": 11}"#, "discount", "Must be less than or equal to 10."),
            (#"{"currency": "EURO"}"#, "currency", "Length must be 3."),
            (#"{"currency": "eur"}"#, "currency", "String does not match expected pattern."),
            (#"{"sku": "a b"}"#, "sku", "String does not match expected pattern."),
            (#"{"color": "pink"}"#, "color", "Must be one of: red, green, blue."),
            (#"{"note": 1}"#, "note", "Not a valid string."),
        ])
    func productMessages(body: String, field: String, message: String) throws {
        let base: JSONObject = JSONObject([("name", "Lamp"), ("price_cents", 100)])
        var object = try #require(try JSONParser.parse(body).objectValue)
        for (key, value) in base where object[key] == nil { object[key] = value }
        #expect(try fieldErrors(ProductInput.schema, JSONValue.object(object).jsonText) == [field: [message]])
    }

    @Test("every field error of one body is reported together")
    func allErrorsAtOnce() throws {
        let errors = try fieldErrors(
            TaskInput.schema, #"{"description": 7, "priority": 9, "completed": "yes", "id": 1, "owner": null}"#)
        #expect(
            errors == [
                "title": ["Missing data for required field."],
                "description": ["Not a valid string."],
                "priority": ["Must be greater than or equal to 1 and less than or equal to 5."],
                "completed": ["Not a valid boolean."],
                "id": ["Unknown field."],
                "owner": ["Unknown field."],
            ])
    }

    @Test("one field reports every validator it fails")
    func severalMessagesForOneField() throws {
        let schema = ObjectSchema(.string("username", minLength: 3, maxLength: 32, characters: "A-Za-z0-9_.-"))
        #expect(
            try fieldErrors(schema, #"{"username": "a!"}"#)
                == ["username": ["Length must be between 3 and 32.", "String does not match expected pattern."]])
        #expect(try fieldErrors(schema, #"{"username": "Ada.Lovelace_1-x"}"#) == nil)
    }

    @Test(
        "a body that is JSON but not an object is _schema: Invalid input type.",
        arguments: [
            "[]", #"[{"title": "x"}]"#, #""title""#, "null", "3", "true",
        ])
    func notAnObject(body: String) throws {
        #expect(try fieldErrors(TaskInput.schema, body) == ["_schema": ["Invalid input type."]])
    }

    @Test(
        "numbers with a fraction or an exponent are not valid integers",
        arguments: ["3.0", "3e0", "3E+0", "0.5", "-1.5", "1e2"])
    func notIntegers(number: String) throws {
        #expect(
            try fieldErrors(TaskInput.schema, #"{"title": "x", "priority": \#(number)}"#)
                == ["priority": ["Not a valid integer."]])
    }

    @Test(
        "an integer beyond 64 bits, of either sign, answers the field's range message",
        arguments: [
            "100000000000000000000", "9223372036854775808", "-9223372036854775809", "-100000000000000000000",
            "123456789012345678901234567890", "-\(String(repeating: "9", count: 5000))",
        ])
    func bigIntegersOutOfRange(number: String) throws {
        #expect(
            try fieldErrors(TaskInput.schema, #"{"title": "x", "priority": \#(number)}"#)
                == ["priority": ["Must be greater than or equal to 1 and less than or equal to 5."]])
    }

    @Test(
        "a big integer past an open bound names the 64-bit limit that stands in for it",
        arguments: [
            (
                "price_cents", "100000000000000000000",
                "Must be greater than or equal to 0 and less than or equal to 9223372036854775807."
            ),
            ("price_cents", "-100000000000000000000", "Must be greater than or equal to 0."),
            ("discount", "100000000000000000000", "Must be less than or equal to 10."),
            (
                "discount", "-100000000000000000000",
                "Must be greater than or equal to -9223372036854775808 and less than or equal to 10."
            ),
        ])
    func bigIntegersOpenBounds(field: String, number: String, message: String) throws {
        let body = #"{"name": "Lamp", "price_cents": 1, "\#(field)": \#(number)}"#
        #expect(try fieldErrors(ProductInput.schema, body) == [field: [message]])
    }

    @Test("a big integer on a field without bounds names the 64-bit range")
    func bigIntegerUnbounded() throws {
        let schema = ObjectSchema(.integer("count"))
        let message =
            "Must be greater than or equal to -9223372036854775808 and less than or equal to 9223372036854775807."
        #expect(try fieldErrors(schema, #"{"count": 9223372036854775808}"#) == ["count": [message]])
        #expect(try fieldErrors(schema, #"{"count": -9223372036854775809}"#) == ["count": [message]])
    }

    @Test(
        "a string holding U+0000 is refused under its field, wherever the NUL is",
        arguments: [#""a\u0000b""#, #""\u0000""#, #""title\u0000""#, #""\u0000\u0000\u0000""#])
    func nulRefused(text: String) throws {
        #expect(
            try fieldErrors(TaskInput.schema, #"{"title": \#(text)}"#)
                == ["title": ["Must not contain the NUL character."]])
        #expect(
            try fieldErrors(TaskInput.schema, #"{"title": "t", "description": \#(text)}"#)
                == ["description": ["Must not contain the NUL character."]])
    }

    @Test("a NUL is reported first, with the other validators the text fails")
    func nulWithOtherProblems() throws {
        #expect(
            try fieldErrors(ProductInput.schema, #"{"name": "Lamp", "price_cents": 1, "sku": "ab\u0000"}"#)
                == ["sku": ["Must not contain the NUL character.", "String does not match expected pattern."]])
        #expect(
            try fieldErrors(ProductInput.schema, #"{"name": "Lamp", "price_cents": 1, "color": "red\u0000"}"#)
                == ["color": ["Must not contain the NUL character.", "Must be one of: red, green, blue."]])
        #expect(
            try fieldErrors(TaskInput.schema, #"{"title": "\u0000"}"#) == [
                "title": ["Must not contain the NUL character."]
            ])
    }

    @Test("other control characters are kept: only NUL is refused")
    func otherControlsAccepted() throws {
        let valid = try TaskInput.schema.validate(try JSONParser.parse(#"{"title": "a\u0001\u001f\u007fb"}"#))
        #expect(valid["title"] == .string("a\u{1}\u{1F}\u{7F}b"))
    }

    @Test("at most 20 unknown fields are reported, the first ones in document order")
    func unknownFieldsCapped() throws {
        let count = JSONParser.maximumMembers - 1
        var body = #"{"title": "t""#
        for index in 0..<count { body += #", "k\#(index)": 0"# }
        body += "}"
        let errors = try #require(try fieldErrors(TaskInput.schema, body))
        #expect(ObjectSchema.maximumUnknownFieldErrors == 20)
        #expect(errors == Dictionary(uniqueKeysWithValues: (0..<20).map { ("k\($0)", ["Unknown field."]) }))
    }

    @Test("field errors and unknown fields are both reported when the cap is reached")
    func unknownFieldsCappedWithFieldErrors() throws {
        var body = #"{"priority": 0"#
        for index in 0..<50 { body += #", "k\#(index)": 0"# }
        body += "}"
        let errors = try #require(try fieldErrors(TaskInput.schema, body))
        #expect(errors.count == 22)
        #expect(errors["title"] == ["Missing data for required field."])
        #expect(errors["priority"] == ["Must be greater than or equal to 1 and less than or equal to 5."])
        #expect(errors["k19"] == ["Unknown field."])
        #expect(errors["k20"] == nil)
    }

    @Test("the 64-bit integer limits themselves are integers, checked against the range")
    func integerLimits() throws {
        #expect(try fieldErrors(ProductInput.schema, #"{"name": "Lamp", "price_cents": 9223372036854775807}"#) == nil)
        #expect(
            try fieldErrors(ProductInput.schema, #"{"name": "Lamp", "price_cents": -9223372036854775808}"#)
                == ["price_cents": ["Must be greater than or equal to 0."]])
    }

    @Test("lengths count Unicode scalars, as Python's len does")
    func lengthInScalars() throws {
        let hundred = String(repeating: "é", count: 100)
        #expect(try fieldErrors(TaskInput.schema, #"{"title": "\#(hundred)"}"#) == nil)
        #expect(
            try fieldErrors(TaskInput.schema, #"{"title": "\#(hundred)🎉"}"#)
                == ["title": ["Length must be between 1 and 100."]])
    }

    @Test("null is accepted only where allowed, and a default never replaces it")
    func nulls() throws {
        let valid = try ProductInput.schema.validate(["name": "Lamp", "price_cents": 1, "note": nil])
        #expect(valid["note"] == .null)
        #expect(valid["currency"] == "USD")
        #expect(
            try fieldErrors(TaskInput.schema, #"{"title": "x", "description": null}"#)
                == ["description": ["Field may not be null."]])
    }

    @Test("partial: only the fields sent are validated, nothing is required, no defaults")
    func partial() throws {
        let schema = TaskInput.schema.partial
        #expect(try schema.validate([:]) == JSONObject())
        #expect(try schema.validate(["priority": 2]) == JSONObject([("priority", 2)]))
        #expect(try fieldErrors(schema, #"{"title": ""}"#) == ["title": ["Length must be between 1 and 100."]])
        #expect(try fieldErrors(schema, #"{"title": null}"#) == ["title": ["Field may not be null."]])
        #expect(
            try fieldErrors(schema, #"{"priority": 3.0, "id": 4}"#) == [
                "priority": ["Not a valid integer."], "id": ["Unknown field."],
            ])
        #expect(try fieldErrors(schema, "[]") == ["_schema": ["Invalid input type."]])
    }

    @Test("a validation failure is the contract's 400 body")
    func errorBody() throws {
        do {
            _ = try TaskInput.schema.validate(["priority": 0])
            Issue.record("expected a validation error")
        } catch {
            #expect(error.status.code == 400)
            #expect(
                error.body.jsonText
                    == #"{"error": "Bad Request", "message": "Validation failed.", "status": 400, "errors": "#
                    + #"{"priority": ["Must be greater than or equal to 1 and less than or equal to 5."], "#
                    + #""title": ["Missing data for required field."]}}"#)
        }
    }
}
