// Request ids: a well-formed incoming X-Request-Id is kept, anything else is replaced.

import Flagon
import Testing

@Suite("Request id")
struct RequestIDTests {
    /// Echoes the request id the handler saw.
    static func echoApp() -> App {
        let blueprint = Blueprint("echo")
        blueprint.get("/id") { request in .json(["id": .string(request.id)]) }
        return makeApp(blueprint)
    }

    @Test(
        "a valid incoming id is kept, on the response and for the handler",
        arguments: [
            "a", "abc-123", "A.b_c-9", String(repeating: "x", count: 128), "0f8fad5b-d9cb-469f-a165-70867728950e",
        ])
    func validKept(id: String) async {
        let response = await TestClient(app: Self.echoApp()).get("/id", headers: ["X-Request-Id": id])
        #expect(response.headers["X-Request-Id"] == id)
        #expect(response["id"] == .string(id))
    }

    @Test(
        "an invalid incoming id is replaced by a fresh 32-hex id",
        arguments: [
            String(repeating: "x", count: 129), "has space", "", "é", "id\u{1F600}", "a/b", "a;b", "tab\there",
            "line\nbreak", "quote\"d", "%41",
        ])
    func invalidReplaced(id: String) async {
        let response = await TestClient(app: Self.echoApp()).get("/id", headers: ["X-Request-Id": id])
        let sent = response.headers["X-Request-Id"]
        #expect(sent != id)
        #expect(isGeneratedRequestID(sent))
        // The handler saw the same replacement id that was sent back.
        #expect(response["id"] == sent.map { .string($0) })
    }

    @Test("without an incoming id a fresh one is made for each request")
    func freshPerRequest() async {
        let client = TestClient(app: Self.echoApp())
        let first = await client.get("/id").headers["X-Request-Id"]
        let second = await client.get("/id").headers["X-Request-Id"]
        #expect(isGeneratedRequestID(first))
        #expect(isGeneratedRequestID(second))
        #expect(first != second)
    }

    @Test("the incoming header name is matched case-insensitively")
    func headerNameCase() async {
        let response = await TestClient(app: Self.echoApp()).get("/id", headers: ["x-request-id": "lower-case"])
        #expect(response.headers["X-Request-Id"] == "lower-case")
    }

    @Test("a handler's own X-Request-Id cannot replace the request's id")
    func handlerCannotOverride() async {
        let blueprint = Blueprint("spoof")
        blueprint.get("/spoof") { _ in .empty(status: .ok, headers: ["X-Request-Id": "forged"]) }
        let response = await TestClient(app: makeApp(blueprint)).get("/spoof", headers: ["X-Request-Id": "real"])
        #expect(response.headers.values(for: "X-Request-Id") == ["real"])
    }

    @Test("isValid accepts 1 to 128 characters of [A-Za-z0-9._-] only")
    func validity() {
        #expect(RequestIDMiddleware.isValid("Az09._-"))
        #expect(RequestIDMiddleware.isValid(String(repeating: "7", count: 128)))
        #expect(!RequestIDMiddleware.isValid(String(repeating: "7", count: 129)))
        #expect(!RequestIDMiddleware.isValid(""))
        #expect(!RequestIDMiddleware.isValid("ü"))
        #expect(!RequestIDMiddleware.isValid("a+b"))
    }

    @Test("isValid's mask test answers as a per-character check, for every byte in every position")
    func validityOverEveryByte() {
        func reference(_ bytes: [UInt8]) -> Bool {
            (1...128).contains(bytes.count)
                && bytes.allSatisfy { byte in
                    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                        || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                        || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                }
        }
        var accepted = 0
        for byte in UInt8.min...UInt8.max {
            for bytes in [[byte], [UInt8(ascii: "a"), byte], [byte] + Array(repeating: UInt8(ascii: "0"), count: 127)] {
                let valid = bytes.withUnsafeBufferPointer(RequestIDMiddleware.isValid(bytes:))
                #expect(valid == reference(bytes), "byte \(byte)")
                if bytes.count == 1 && valid { accepted += 1 }
            }
            let text = String(decoding: [UInt8(ascii: "x"), byte], as: UTF8.self)
            #expect(RequestIDMiddleware.isValid(text) == reference(Array(text.utf8)), "byte \(byte)")
        }
        #expect(accepted == 65)
        #expect(!RequestIDMiddleware.isValid(String(repeating: "a", count: 200)))
    }

    @Test("generated ids are 32 lower-case hex digits and distinct")
    func generated() {
        let ids = (0..<200).map { _ in RequestIDMiddleware.generate() }
        #expect(ids.allSatisfy(isGeneratedRequestID))
        #expect(Set(ids).count == 200)
    }
}
