// A resource declared once: its input and patch schemas, decoding, JSON form and JSON Schema.

import Flagon
import Testing

/// A small resource with an attribute of every kind and access.
private struct Note: Resource, Equatable {
    var id: Int64 = 0
    var secret: String = ""
    var title: String = ""
    var stars: Int = 0
    var pinned: Bool = false
    var tags: [String] = []
    var createdAt: String = ""

    static let resource = ResourceDeclaration<Note>(
        "Note", blank: Note(),
        .integer("id", \.id, access: .readOnly, minimum: 1),
        .string("secret", \.secret, access: .hidden),
        .string("title", \.title, required: true, minLength: 1, maxLength: 20),
        .integer("stars", \.stars, minimum: 0, maximum: 5, default: 1),
        .boolean("pinned", \.pinned, default: false),
        .strings("tags", \.tags),
        .timestamp("created_at", \.createdAt))
}

@Suite("Resource declarations")
struct ResourceTests {
    @Test("the input schema holds the client-written attributes with their rules; the patch is its partial")
    func schemas() {
        let input = Note.resource.inputSchema
        #expect(input.name == "NoteInput")
        #expect(input.fields.map(\.name) == ["title", "stars", "pinned"])
        #expect(input.field(named: "title")?.isRequired == true)
        #expect(input.field(named: "stars")?.defaultValue == 1)
        let patch = Note.resource.patchSchema
        #expect(patch.name == "NotePatch")
        #expect(patch.fields.map(\.name) == ["title", "stars", "pinned"])
        #expect(patch.fields.allSatisfy { !$0.isRequired && $0.defaultValue == nil })
        #expect(Note.resource.writable.map(\.name) == ["title", "stars", "pinned"])
    }

    @Test("an input is validated, defaults applied, and becomes a model with blank service attributes")
    func input() throws {
        let input = try Note.resource.input(["title": "Shopping"])
        #expect(input.values == JSONObject([("title", "Shopping"), ("stars", 1), ("pinned", false)]))
        #expect(input.model == Note(title: "Shopping", stars: 1))
        #expect(throws: HTTPError.self) { try Note.resource.input(["stars": 9]) }
        #expect(throws: HTTPError.self) { try Note.resource.input(["title": "x", "id": 4]) }
        do {
            _ = try Note.resource.input(["stars": 9])
        } catch {
            #expect(error.fieldErrors?.keys.sorted() == ["stars", "title"])
        }
    }

    @Test("a patch changes only what it carries")
    func patch() throws {
        let note = Note(id: 3, secret: "s", title: "Old", stars: 2, pinned: false, tags: ["a"], createdAt: "t")
        let patch = try Note.resource.patch(["pinned": true])
        #expect(patch.values.keys == ["pinned"])
        #expect(
            patch.applied(to: note)
                == Note(id: 3, secret: "s", title: "Old", stars: 2, pinned: true, tags: ["a"], createdAt: "t"))
        let replacement = try Note.resource.input(["title": "New"]).patch
        #expect(replacement.applied(to: note).stars == 1)
        #expect(throws: HTTPError.self) { try Note.resource.patch(["title": ""]) }
    }

    @Test("the JSON form shows every attribute but the hidden ones, in declared order")
    func json() {
        let note = Note(id: 3, secret: "s", title: "T", stars: 2, pinned: true, tags: ["a", "b"], createdAt: "now")
        #expect(
            Note.resource.json(note) == [
                "id": 3, "title": "T", "stars": 2, "pinned": true, "tags": ["a", "b"], "created_at": "now",
            ])
        #expect(Note.resource.json(note).objectValue?.keys == ["id", "title", "stars", "pinned", "tags", "created_at"])
    }

    @Test("the JSON Schema of the JSON form: the input's rules without defaults, timestamps as date-time")
    func jsonSchema() {
        let schema = Note.resource.schema
        #expect(schema.name == "Note")
        #expect(schema.reference == ["$ref": "#/components/schemas/Note"])
        #expect(
            schema.schema
                == JSONSchema.object([
                    ("id", ["type": "integer", "minimum": 1]),
                    ("title", ["type": "string", "minLength": 1, "maxLength": 20]),
                    ("stars", ["type": "integer", "minimum": 0, "maximum": 5]),
                    ("pinned", ["type": "boolean"]),
                    ("tags", JSONSchema.array(of: JSONSchema.string)),
                    ("created_at", JSONSchema.dateTime),
                ]))
    }

    @Test("a model from values by name: every attribute set, hidden ones included; absent or null ones stay blank")
    func modelFromValues() {
        let note = Note.resource.model(
            from: JSONObject([
                ("id", 7), ("secret", "s"), ("title", "T"), ("stars", .null), ("pinned", true), ("tags", ["x"]),
            ]))
        #expect(note == Note(id: 7, secret: "s", title: "T", stars: 0, pinned: true, tags: ["x"], createdAt: ""))
    }

    @Test("a request's body decodes as the resource's input or patch")
    func requestBody() async throws {
        let notes = Blueprint("notes")
        notes.post("/notes") { request in .json(Note.resource.json(try request.input(Note.resource).model)) }
        notes.patch("/notes") { request in .json(.object(try request.patch(Note.resource).values)) }
        let client = TestClient(app: makeApp(notes))
        let created = await client.send(.post, "/notes", json: ["title": "T"])
        #expect(created.json?.objectValue?["stars"] == 1)
        let patched = await client.send(.patch, "/notes", json: ["stars": 4])
        #expect(patched.json == ["stars": 4])
        #expect(await client.send(.post, "/notes", json: ["stars": 4]).status == 400)
    }
}

/// Attributes on stored properties of mixed widths and on computed properties.
private struct Mixed: Resource, Equatable {
    var flag: Bool = false
    var small: UInt8 = 0
    var name: String = ""
    var count: Int32 = 0
    var storedLabel: String = ""
    /// Computed: its key path has no offset, so it is applied as a key path.
    var label: String {
        get { storedLabel.uppercased() }
        set { storedLabel = newValue.lowercased() }
    }

    static let resource = ResourceDeclaration<Mixed>(
        "Mixed", blank: Mixed(),
        .boolean("flag", \.flag),
        .integer("small", \.small, minimum: 0, maximum: 255),
        .string("name", \.name),
        .integer("count", \.count),
        .string("label", \.label))
}

@Suite("Resource attributes read and written by offset or by key path")
struct AttributeAccessTests {
    @Test("stored properties of every width and a computed one read and write the same values")
    func mixedLayout() throws {
        #expect(MemoryLayout<Mixed>.offset(of: \Mixed.count) != nil)
        #expect(MemoryLayout<Mixed>.offset(of: \Mixed.label) == nil)
        let input = try Mixed.resource.input([
            "flag": true, "small": 200, "name": "a name that is not small", "count": -7, "label": "Mixed Case",
        ])
        #expect(
            input.model
                == Mixed(flag: true, small: 200, name: "a name that is not small", count: -7, storedLabel: "mixed case")
        )
        let values = Dictionary(
            uniqueKeysWithValues: Mixed.resource.attributes.map { ($0.name, $0.value(of: input.model)) })
        #expect(values["flag"] == true)
        #expect(values["small"] == 200)
        #expect(values["name"] == "a name that is not small")
        #expect(values["count"] == -7)
        #expect(values["label"] == "MIXED CASE")
    }
}
