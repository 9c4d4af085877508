// Schemas described as JSON Schema, for the OpenAPI document.

import Flagon
import Testing

@Suite("Schema JSON Schema")
struct SchemaJSONSchemaTests {
    @Test("the task schema has types, bounds, defaults, required and no additional properties")
    func taskSchema() {
        #expect(
            TaskInput.schema.jsonSchema.jsonText
                == #"{"type": "object", "properties": {"#
                + #""title": {"type": "string", "minLength": 1, "maxLength": 100}, "#
                + #""description": {"type": "string", "maxLength": 500, "default": ""}, "#
                + #""priority": {"type": "integer", "minimum": 1, "maximum": 5, "default": 3}, "#
                + #""completed": {"type": "boolean", "default": false}}, "#
                + #""required": ["title"], "additionalProperties": false}"#)
    }

    @Test("the partial schema requires nothing and has no defaults")
    func partialSchema() {
        #expect(
            TaskInput.schema.partial.jsonSchema.jsonText
                == #"{"type": "object", "properties": {"#
                + #""title": {"type": "string", "minLength": 1, "maxLength": 100}, "#
                + #""description": {"type": "string", "maxLength": 500}, "#
                + #""priority": {"type": "integer", "minimum": 1, "maximum": 5}, "#
                + #""completed": {"type": "boolean"}}, "additionalProperties": false}"#)
    }

    @Test("characters become a pattern, choices an enum, a nullable field a type list")
    func otherConstraints() {
        let properties = ProductInput.schema.jsonSchema.objectValue?["properties"]?.objectValue
        #expect(properties?["sku"]?.jsonText == #"{"type": "string", "pattern": "^[A-Za-z0-9_.-]*$"}"#)
        #expect(
            properties?["currency"]?.jsonText
                == #"{"type": "string", "minLength": 3, "maxLength": 3, "pattern": "^[A-Z]*$", "default": "USD"}"#)
        #expect(properties?["price_cents"]?.jsonText == #"{"type": "integer", "minimum": 0}"#)
        #expect(properties?["discount"]?.jsonText == #"{"type": "integer", "maximum": 10}"#)
        #expect(properties?["color"]?.jsonText == #"{"type": "string", "enum": ["red", "green", "blue"]}"#)
        #expect(properties?["note"]?.jsonText == #"{"type": ["string", "null"]}"#)
        #expect(ProductInput.schema.jsonSchema.objectValue?["required"] == ["name", "price_cents"])
    }

    @Test("a character class allows exactly its characters and ranges; - at the end is literal")
    func characterClass() {
        let username: CharacterClass = "A-Za-z0-9_.-"
        #expect(username.allows("Ada.Lovelace-1_x"))
        #expect(username.allows(""))
        #expect(!username.allows("a b"))
        #expect(!username.allows("é"))
        #expect(!username.allows("a/b"))
        #expect(username.pattern == "^[A-Za-z0-9_.-]*$")
        let digits = CharacterClass("0-9")
        #expect(digits.allows("0189"))
        #expect(!digits.allows("-"))
    }
}
