// The strict JSON parser and the serializer: number kinds, UTF-8, rejected syntax, limits, round trips.

import Flagon
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    private func parse(_ text: String) throws(JSONParseError) -> JSONValue { try JSONParser.parse(text) }

    private func failure(_ bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    private func failure(_ text: String) -> JSONParseError? { failure(Array(text.utf8)) }

    // MARK: Numbers

    @Test("integers, fractions and exponents are kept apart")
    func numberKinds() throws {
        #expect(try parse("3") == .integer(3))
        #expect(try parse("-0") == .integer(0))
        #expect(try parse("-42") == .integer(-42))
        #expect(try parse("3.0") == .number(3.0))
        #expect(try parse("3e0") == .number(3.0))
        #expect(try parse("3E+2") == .number(300))
        #expect(try parse("-1.5e-3") == .number(-0.0015))
        #expect(try parse("0.1") == .number(0.1))
        #expect(try parse("3").typeName == "integer")
        #expect(try parse("3.0").typeName == "number")
    }

    @Test("the 64-bit limits are integers, one beyond is a big integer kept as text")
    func integerLimits() throws {
        #expect(try parse("9223372036854775807") == .integer(Int64.max))
        #expect(try parse("-9223372036854775808") == .integer(Int64.min))
        #expect(try parse("9223372036854775808") == .bigInteger("9223372036854775808"))
        #expect(try parse("-9223372036854775809") == .bigInteger("-9223372036854775809"))
        let huge = "123456789012345678901234567890123456789"
        #expect(try parse(huge) == .bigInteger(huge))
        #expect(try parse(huge).typeName == "integer")
        #expect(try parse("[\(huge)]").jsonText == "[\(huge)]")
    }

    @Test("a fraction out of Double's range is rejected")
    func doubleOverflow() {
        #expect(failure("1e400")?.reason == "number out of range")
        #expect(failure("-1e400")?.reason == "number out of range")
    }

    @Test(
        "malformed numbers are rejected",
        arguments: ["01", "-01", "00", "1.", ".5", "+1", "1e", "1e+", "-", "1.e3", "0x10", "1_000", "- 1"])
    func malformedNumbers(text: String) {
        #expect(failure(text) != nil)
    }

    @Test("a leading zero is reported as such")
    func leadingZeroReason() {
        #expect(failure("012")?.reason == "leading zero in number")
        #expect(failure("012")?.offset == 1)
        #expect(failure("012")?.description == "leading zero in number at byte 1")
    }

    // MARK: Strings and UTF-8

    @Test("escapes and UTF-8 decode to the right scalars")
    func strings() throws {
        #expect(try parse(#""caf\u00e9""#) == .string("café"))
        #expect(try parse("\"café\"") == .string("café"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse("\"😀\"") == .string("😀"))
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try parse(#""""#) == .string(""))
    }

    @Test(
        "invalid UTF-8 is rejected, inside strings and out",
        arguments: [
            [0x22, 0xFF, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0x61, 0x80, 0x5C, 0x6E, 0x22], [0xFF], [0x5B, 0xC3, 0x5D],
        ] as [[UInt8]])
    func invalidUTF8(bytes: [UInt8]) {
        #expect(failure(bytes) != nil)
    }

    @Test("an invalid UTF-8 string is reported as such")
    func invalidUTF8Reason() {
        #expect(failure([0x22, 0xFF, 0x22])?.reason == "invalid UTF-8")
    }

    @Test(
        "lone and mismatched surrogates are rejected",
        arguments: [
            #""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#, #""\ud83dx""#, #""\ud83d\ud83d""#, #""\udfff\ud800""#,
        ])
    func loneSurrogates(text: String) {
        #expect(failure(text)?.reason == "lone surrogate")
    }

    @Test(
        "raw control characters, bad escapes and unterminated strings are rejected",
        arguments: [
            "\"a\tb\"", "\"a\nb\"", "\"\u{0}\"", #""\x41""#, #""\u12""#, #""\u12G4""#, #""abc"#, #""\"#, "'a'",
        ])
    func badStrings(text: String) {
        #expect(failure(text) != nil)
    }

    // MARK: Syntax

    @Test(
        "non-standard syntax is rejected",
        arguments: [
            "NaN", "Infinity", "-Infinity", "[1,]", #"{"a": 1,}"#, "[,1]", "// c\n1", "/* c */ 1", "[1] // c",
            "{a: 1}", #"{"a" 1}"#, #"{"a": 1 "b": 2}"#, "[1 2]", "True", "nul", "tru", "undefined", "",
            " ", "[1] [2]", "{}}", "[", #"{"a""#, "\u{0B}1", "\u{A0}1",
        ])
    func rejectedSyntax(text: String) {
        #expect(failure(text) != nil)
    }

    @Test("a byte order mark is rejected")
    func byteOrderMark() {
        #expect(failure([0xEF, 0xBB, 0xBF] + Array("{}".utf8))?.reason == "byte order mark not allowed")
    }

    @Test("a trailing comma is reported where it is")
    func trailingCommaOffset() {
        #expect(failure("[1,]")?.description == "unexpected character at byte 3")
        #expect(failure(#"{"a": 1,}"#)?.description == "expected a string key at byte 8")
    }

    @Test("the four JSON whitespace characters are allowed around tokens")
    func whitespace() throws {
        #expect(try parse(" \t\n\r{ \"a\" :\t[ 1 ,\r\n2 ] } \n") == ["a": [1, 2]])
    }

    @Test("literals and scalars are accepted at the top level")
    func topLevelScalars() throws {
        #expect(try parse("true") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("null") == .null)
        #expect(try parse(#""x""#) == .string("x"))
    }

    // MARK: Limits and objects

    @Test("nesting up to the maximum depth is accepted, one more level is rejected")
    func nestingBound() throws {
        let depth = JSONParser.maximumDepth
        #expect(depth == 256)
        let deepest = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(try parse(deepest).jsonText == deepest)
        let tooDeep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        #expect(failure(tooDeep)?.reason == "nesting too deep")
        let objects = String(repeating: #"{"a":"#, count: depth + 1) + "1" + String(repeating: "}", count: depth + 1)
        #expect(failure(objects)?.reason == "nesting too deep")
    }

    @Test("hostile nesting fails cleanly instead of exhausting the stack")
    func hostileNesting() {
        #expect(failure(String(repeating: "[", count: 1_000_000))?.reason == "nesting too deep")
        #expect(failure(String(repeating: #"{"a":["#, count: 200_000))?.reason == "nesting too deep")
    }

    @Test("a repeated key keeps its last value, at its first position")
    func duplicateKeys() throws {
        let value = try parse(#"{"a": 1, "b": 2, "a": 3}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == .integer(3))
        #expect(value.jsonText == #"{"a": 3, "b": 2}"#)
    }

    @Test("object keys keep document order")
    func keyOrder() throws {
        let object = try #require(try parse(#"{"z": 1, "a": 2, "m": 3}"#).objectValue)
        #expect(object.keys == ["z", "a", "m"])
    }

    // MARK: Serialization

    @Test("serialization is compact with Python's separators")
    func serializationFormat() {
        let value: JSONValue = ["a": [1, 2.5, true, false, nil], "b": [:], "c": [], "d": "x"]
        #expect(value.jsonText == #"{"a": [1, 2.5, true, false, null], "b": {}, "c": [], "d": "x"}"#)
    }

    @Test("control characters, quotes and backslashes are escaped")
    func escaping() {
        let text = "\u{0}\u{1}\u{8}\u{C}\u{1F}\n\r\t\"\\/\u{7F}é😀\u{2028}"
        let expected = #""\u0000\u0001\u0008\u000c\u001f\n\r\t\"\\/\u007fé😀"# + "\u{2028}\""
        #expect(JSONValue.string(text).jsonText == expected)
    }

    @Test("non-finite numbers serialize as null")
    func nonFinite() {
        let value = JSONValue.array([.number(.nan), .number(.infinity), .number(-.infinity)])
        #expect(value.jsonText == "[null, null, null]")
    }

    @Test(
        "serializing and parsing again gives the same value",
        arguments: [
            JSONValue.object(
                JSONObject([
                    ("control", .string((0..<32).map { String(UnicodeScalar(UInt8($0))) }.joined())),
                    ("text", "quote \" backslash \\ slash / é 😀 \u{7F}"), ("int", .integer(Int64.min)),
                    ("big", .bigInteger("-99999999999999999999")), ("fraction", .number(0.1)),
                    ("exponent", .number(1e300)), ("tiny", .number(.leastNonzeroMagnitude)), ("whole", .number(3.0)),
                    ("nested", [[["deep": [nil, true]]]]),
                ])),
            .string(""), .integer(0), .number(-0.5), .array([]),
        ])
    func roundTrip(value: JSONValue) throws {
        let text = value.serialized()
        #expect(try JSONParser.parse(text) == value)
        #expect(try JSONParser.parse(text).serialized() == text)
    }

    @Test("a whole Double stays a number after a round trip, not an integer")
    func wholeDoubleStaysNumber() throws {
        #expect(try parse(JSONValue.number(3.0).jsonText) == .number(3.0))
        #expect(try parse(JSONValue.number(1e20).jsonText) == .number(1e20))
    }
}
