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

    // MARK: Bulk string runs

    /// Text long enough to span several eight-byte words, so the byte after it can fall on
    /// every offset within a word.
    private static let plain = "abcdefghijklmnopqrstuvwx"

    @Test("an escape, a quote or a control byte ends a run wherever it falls within a word")
    func runBoundaries() throws {
        for length in 0...Self.plain.count {
            let head = String(Self.plain.prefix(length))
            #expect(try parse("\"\(head)\"") == .string(head))
            #expect(try parse("\"\(head)\\n\(head)\"") == .string("\(head)\n\(head)"))
            #expect(try parse("\"\(head)\\\"\"") == .string("\(head)\""))
            #expect(try parse("[\"\(head)\", \"\(head)é\"]") == [.string(head), .string("\(head)é")])
            let control = failure("\"\(head)\u{1F}\(Self.plain)\"")
            #expect(control?.reason == "control character in string")
            #expect(control?.offset == 1 + length)
            let afterEscape = failure("\"\\t\(head)\u{0}\(Self.plain)\"")
            #expect(afterEscape?.reason == "control character in string")
            #expect(afterEscape?.offset == 3 + length)
            #expect(failure("\"\(head)")?.reason == "unterminated string")
            #expect(failure("\"\(head)\\r\(head)")?.offset == 3 + 2 * length)
        }
    }

    @Test("bytes at and above 0x80 that look like quotes or backslashes once masked do not end a run")
    func highBytesInRuns() throws {
        let text = "\u{A2}\u{700}\u{222}\u{25C}\u{5C22}" + Self.plain
        #expect(try parse("\"\(text)\"") == .string(text))
        #expect(try parse("\"\(text)\\/\(text)\"") == .string("\(text)/\(text)"))
    }

    @Test("invalid UTF-8 inside a run is reported at the quote or backslash that ends the run")
    func invalidUTF8InRuns() {
        let plain = Array(Self.plain.utf8)
        for position in 0..<plain.count {
            var run = plain
            run[position] = 0xFF
            let quoted = failure([0x22] + run + [0x22])
            #expect(quoted?.reason == "invalid UTF-8")
            #expect(quoted?.offset == 1 + run.count)
            // Before an escape the run is checked first, so even a bad escape after it is not what is reported.
            let escaped = failure([0x22] + run + Array(#"\x"#.utf8))
            #expect(escaped?.reason == "invalid UTF-8")
            #expect(escaped?.offset == 1 + run.count)
            let later = failure(Array(#""\n"#.utf8) + run + [0x22])
            #expect(later?.reason == "invalid UTF-8")
            #expect(later?.offset == 3 + run.count)
        }
        // A sequence cut by an escape is invalid even though the escape's own bytes are valid.
        #expect(failure(Array(#""\n"#.utf8) + [0xC3] + Array(#"\u00a9""#.utf8))?.reason == "invalid UTF-8")
    }

    @Test(
        "a raw byte sequence is accepted, with or without an escape before it, exactly when Swift accepts it as UTF-8")
    func utf8MatchesSwift() {
        var sequences: [[UInt8]] = []
        for first in 0x80...0xFF {
            for second in 0...0xFF { sequences.append([UInt8(first), UInt8(second)]) }
        }
        let tails: [UInt8] = [0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF]
        for first in 0xE0...0xFF {
            for second in tails {
                for third in tails {
                    sequences.append([UInt8(first), second, third])
                    for fourth in tails { sequences.append([UInt8(first), second, third, fourth]) }
                }
            }
        }
        var mismatches: [[UInt8]] = []
        for sequence in sequences
        where sequence.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) == false {
            let swift = String(validating: sequence, as: UTF8.self)
            let plain = try? JSONParser.parse([0x22] + sequence + [0x22])
            let escaped = try? JSONParser.parse(Array(#""\n"#.utf8) + sequence + [0x22])
            if plain != swift.map(JSONValue.string) || escaped != swift.map({ .string("\n" + $0) }) {
                mismatches.append(sequence)
            }
        }
        #expect(mismatches.isEmpty)
    }

    @Test("escaped scalars of every UTF-8 length and surrogate pairs decode between runs")
    func escapedScalars() throws {
        let cases: [(String, String)] = [
            (#"\u007f"#, "\u{7F}"), (#"\u0080"#, "\u{80}"), (#"\u07FF"#, "\u{7FF}"), (#"\u0800"#, "\u{800}"),
            (#"\ud7ff"#, "\u{D7FF}"), (#"\ue000"#, "\u{E000}"), (#"\uffff"#, "\u{FFFF}"),
            (#"\ud800\udc00"#, "\u{10000}"), (#"\udbff\udfff"#, "\u{10FFFF}"), (#"\uD83D\uDE00"#, "😀"),
        ]
        for (escape, scalar) in cases {
            #expect(try parse("\"\(escape)\"") == .string(scalar))
            #expect(
                try parse("\"é\(Self.plain)\(escape)\(Self.plain)😀\"")
                    == .string("é\(Self.plain)\(scalar)\(Self.plain)😀"))
        }
        #expect(failure(#""abc\ud83d\u12G4""#)?.offset == 14)
    }

    @Test("strings with escapes do not leak into one another")
    func escapedStringsStayApart() throws {
        #expect(
            try parse(#"["a\nlong string here", "\t", "b\"", "plain"]"#) == [
                "a\nlong string here", "\t", "b\"", "plain",
            ])
    }

    // MARK: Number fast paths

    @Test("integers at and past 19 digits are exact or kept as text")
    func integerDigitCounts() throws {
        #expect(try parse("1000000000000000000") == .integer(1_000_000_000_000_000_000))
        #expect(try parse("-9999999999999999999") == .bigInteger("-9999999999999999999"))
        #expect(try parse("9999999999999999999") == .bigInteger("9999999999999999999"))
        #expect(try parse("18446744073709551616") == .bigInteger("18446744073709551616"))
        #expect(try parse("[0, -0, 7, -7]") == [0, 0, 7, -7])
    }

    @Test("fractions and exponents read the same as Swift's own conversion, on and off the fast path")
    func fractionsMatchSwift() throws {
        var texts = [
            "0.0", "-0.0", "1e22", "1e23", "-1e-22", "1e-23", "9007199254740992.0", "9007199254740993.0",
            "9007199254740993e-3", "0.1", "0.2", "0.3", "2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308",
            "123456789012345678e-5", "1234567890123456789.5", "12345678901234567890e-10", "0.000000000000000000001",
            "1e-400", "3.14159265358979323846264338327950288", "1E+2", "1e0", "-5e-0",
        ]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let digits = String(seed >> (seed % 40 + 1))
            let point = Int(seed % UInt64(digits.count))
            let exponent = Int(seed >> 50 % 60) - 30
            texts.append("\(digits.prefix(point + 1)).\(digits.dropFirst(point + 1))0e\(exponent)")
        }
        for text in texts {
            let expected = try #require(Double(text))
            let parsed = try parse(text)
            #expect(parsed == .number(expected), "\(text)")
            if case .number(let value) = parsed { #expect(value.sign == expected.sign, "\(text)") }
        }
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
