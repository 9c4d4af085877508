// Validated input decoded into Swift values: names, optionals, enums, and schema/type mismatches.

import Flagon
import Testing

/// A Swift type that does not match its schema: `nickname` may be absent but is not optional.
private struct MismatchedInput: SchemaDecodable {
    static let schema = ObjectSchema(.string("nickname"))
    var nickname: String
}

/// A schema integer decoded into a narrower Swift integer.
private struct NarrowInput: SchemaDecodable {
    static let schema = ObjectSchema(.integer("level", required: true))
    var level: Int8
}

@Suite("Schema decoding")
struct SchemaDecodingTests {
    @Test("fields decode by name or CodingKeys into optionals, enums and 64-bit integers")
    func decodesTypes() throws {
        let product = try ProductInput.decode(
            from: ["name": "Lamp", "price_cents": 9_223_372_036_854_775_807, "color": "green", "note": nil])
        #expect(
            product
                == ProductInput(
                    name: "Lamp", sku: nil, currency: "USD", priceCents: .max, discount: nil, color: .green, note: nil))
    }

    @Test("invalid input throws the validation error before any decoding")
    func validatesFirst() {
        #expect(throws: HTTPError.self) { try ProductInput.decode(from: ["name": "Lamp", "color": "pink"]) }
        #expect(throws: HTTPError.self) { try ProductInput.decode(from: "Lamp") }
    }

    @Test("a Swift type that does not fit its schema is a DecodingError, not a validation error")
    func mismatch() throws {
        #expect(throws: DecodingError.self) { try MismatchedInput.decode(from: [:]) }
        #expect(throws: DecodingError.self) { try NarrowInput.decode(from: ["level": 300]) }
        #expect(try NarrowInput.decode(from: ["level": -128]).level == -128)
    }

    @Test("such a programming error answers 500 through a route, revealing nothing")
    func mismatchThroughRoute() async {
        let api = Blueprint("api")
        api.post("/broken") { request in
            _ = try request.decode(MismatchedInput.self)
            return .empty()
        }
        let response = await TestClient(app: makeApp(api)).send(.post, "/broken", json: [:])
        #expect(response.status == 500)
        #expect(!response.text.contains("nickname"))
    }
}
