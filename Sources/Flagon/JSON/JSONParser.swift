// A strict RFC 8259 JSON parser over raw bytes.

/// Why a body is not valid JSON. The message is safe to show to clients.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "\(reason) at byte \(offset)" }
}

/// Parses JSON text strictly: UTF-8 only, no `NaN`/`Infinity`, no trailing commas or
/// comments, no lone surrogates, nesting bounded so hostile input cannot exhaust the stack,
/// and members per object bounded so no single object grows without limit.
public struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 256

    /// The most members one object may be written with, repeated keys included.
    ///
    /// No input of this service has more than a handful of fields, and a 1 MiB body could
    /// otherwise carry some 200,000 members, each of which validation reports back as an
    /// unknown field. 10,000 leaves room for any generic JSON a route may accept while
    /// keeping the work and memory one object can cost small and predictable.
    public static let maximumMembers = 10_000

    /// The text being parsed; valid only while a `parse` call runs.
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// Keys compared while inserting members, to show that insertion stays linear.
    private var comparisons = 0
    /// The UTF-8 of a string with escapes as it is decoded, kept across strings so its
    /// storage is allocated once per document rather than once per string.
    private var scratch: [UInt8] = []

    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try parseCountingComparisons(bytes).value
    }

    /// The parsed value and the number of keys compared while building its objects.
    static func parseCountingComparisons(
        _ bytes: [UInt8]
    ) throws(JSONParseError) -> (
        value: JSONValue, comparisons: Int
    ) {
        try bytes.withUnsafeBufferPointer { parse(buffer: $0) }.get()
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { parse(buffer: $0) }.get().value
    }

    /// Parses `buffer`, returning the failure as a value so the buffer closures above need not rethrow.
    private static func parse(
        buffer: UnsafeBufferPointer<UInt8>
    ) -> Result<(value: JSONValue, comparisons: Int), JSONParseError> {
        var parser = JSONParser(bytes: buffer)
        do {
            let value = try parser.parseDocument()
            return .success((value, parser.comparisons))
        } catch {
            return .failure(error)
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw fail("byte order mark not allowed") }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the JSON value") }
        return value
    }

    private func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of input") }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw fail("invalid literal")
        }
        index += count
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > Self.maximumDepth { throw fail("nesting too deep") }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var object = JSONObject()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        var members = 0
        while true {
            skipWhitespace()
            members += 1
            if members > Self.maximumMembers { throw fail("too many members in an object") }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw fail("expected a string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            comparisons += object.insert(key, value)
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var values: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(values)
        }
        while true {
            skipWhitespace()
            values.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(values)
            }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
        // The digits as one integer while they fit; a longer number takes the slow path.
        var significand: UInt64 = 0
        var digits = 0
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            digits = 1
            if index < bytes.count, isDigit(bytes[index]) { throw fail("leading zero in number") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                if digits < Self.exactDigits { significand = significand * 10 + UInt64(bytes[index] &- 0x30) }
                digits += 1
                index += 1
            }
        }
        var isInteger = true
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) {
                if digits < Self.exactDigits { significand = significand * 10 + UInt64(bytes[index] &- 0x30) }
                digits += 1
                exponent -= 1
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
            var written = 0
            while index < bytes.count, isDigit(bytes[index]) {
                // Saturates far outside the fast path's range, so no digit count can overflow it.
                written = min(written * 10 + Int(bytes[index] &- 0x30), 100_000)
                index += 1
            }
            exponent += exponentNegative ? -written : written
        }
        if isInteger {
            // Past 19 digits no integer without leading zeros fits in 64 bits.
            if digits <= Self.exactDigits {
                if !negative, significand <= UInt64(Int64.max) { return .integer(Int64(significand)) }
                if negative, significand <= UInt64(Int64.max) + 1 {
                    return .integer(Int64(truncatingIfNeeded: 0 &- significand))
                }
            }
            return .bigInteger(text(from: start))
        }
        // Clinger's fast path: an integer below 2^53 and a power of ten up to 10^22 are both exact
        // doubles, so one multiplication or division rounds correctly, as strtod would.
        if digits <= Self.exactDigits, significand <= 1 << 53, exponent >= -22, exponent <= 22 {
            let magnitude =
                exponent < 0
                ? Double(significand) / Self.powersOfTen[-exponent] : Double(significand) * Self.powersOfTen[exponent]
            return .number(negative ? -magnitude : magnitude)
        }
        guard let value = Double(text(from: start)), value.isFinite else { throw fail("number out of range") }
        return .number(value)
    }

    /// The most decimal digits that always fit in a `UInt64`.
    private static let exactDigits = 19

    /// The powers of ten a `Double` holds exactly.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ]

    /// The text from `start` to the current position, which the caller has checked is ASCII.
    private func text(from start: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1
        let start = index
        let (stop, isASCII) = scanRun(from: start)
        index = stop
        guard index < bytes.count else { throw fail("unterminated string") }
        let byte = bytes[index]
        if byte == UInt8(ascii: "\"") {
            // The common case, a string without escapes, becomes a String in one copy. The
            // generic `String(validating:as:)` would look up type metadata on every call.
            guard isASCII || isValidUTF8(start, index) else { throw fail("invalid UTF-8") }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            index += 1
            return text
        }
        if byte < 0x20 { throw fail("control character in string") }
        return try parseEscapedString(firstRun: start, isASCII: isASCII)
    }

    /// The rest of a string from its first backslash: runs between escapes are checked and
    /// gathered in ``scratch`` with the decoded escapes, and the String is made once at the end.
    private mutating func parseEscapedString(firstRun: Int, isASCII: Bool) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        var run = firstRun
        var runIsASCII = isASCII
        while true {
            // Here `index` is at a quote or backslash, and `run..<index` holds neither nor a control byte.
            guard runIsASCII || isValidUTF8(run, index) else { throw fail("invalid UTF-8") }
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index]))
            if bytes[index] == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            index += 1
            guard index < bytes.count else { throw fail("unexpected end of input") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escape)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                let unit = try parseHex4()
                if (0xD800..<0xDC00).contains(unit) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else { throw fail("lone surrogate") }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("lone surrogate") }
                    appendUTF8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                } else {
                    guard !(0xDC00..<0xE000).contains(unit) else { throw fail("lone surrogate") }
                    appendUTF8(unit)
                }
            default: throw fail("invalid escape")
            }
            run = index
            (index, runIsASCII) = scanRun(from: run)
            guard index < bytes.count else { throw fail("unterminated string") }
            if bytes[index] < 0x20 { throw fail("control character in string") }
        }
    }

    /// Where the run of string bytes from `start` ends (at a quote, a backslash, a control
    /// byte or the end of input) and whether all its bytes are ASCII. Eight bytes are tested
    /// at a time, as most strings are long runs of plain text.
    private func scanRun(from start: Int) -> (stop: Int, isASCII: Bool) {
        var position = start
        var seen: UInt64 = 0
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while position + 8 <= bytes.count {
                let word = raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)
                if Self.endsRun(word) { break }
                seen |= word
                position += 8
            }
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            seen |= UInt64(byte)
            position += 1
        }
        return (position, seen & 0x8080_8080_8080_8080 == 0)
    }

    /// Whether any byte of `word` is a quote, a backslash or below 0x20: the classic
    /// has-zero-byte test (a byte that borrows and had its top bit clear), which never
    /// reports a word without such a byte.
    private static func endsRun(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let found =
            ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes) | ((word &- ones &* 0x20) & ~word)
        return found & 0x8080_8080_8080_8080 != 0
    }

    /// Whether `bytes[start..<end]` is well-formed UTF-8 as Unicode's table 3-7 defines it:
    /// no overlong forms, no surrogates, nothing past U+10FFFF, no truncated sequence.
    private func isValidUTF8(_ start: Int, _ end: Int) -> Bool {
        var position = start
        while position < end {
            let lead = bytes[position]
            if lead < 0x80 {
                position += 1
                continue
            }
            let length: Int
            var lowest: UInt8 = 0x80
            var highest: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lowest = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                highest = 0x9F
            case 0xF0:
                length = 4
                lowest = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                highest = 0x8F
            default: return false
            }
            guard end - position >= length, bytes[position + 1] >= lowest, bytes[position + 1] <= highest else {
                return false
            }
            for offset in 2..<length where bytes[position + offset] & 0xC0 != 0x80 { return false }
            position += length
        }
        return true
    }

    /// Appends the UTF-8 of a scalar value from an escape, which the caller has checked is not a surrogate.
    private mutating func appendUTF8(_ value: UInt32) {
        switch value {
        case ..<0x80:
            scratch.append(UInt8(value))
        case ..<0x800:
            scratch.append(UInt8(0xC0 | value >> 6))
            scratch.append(UInt8(0x80 | value & 0x3F))
        case ..<0x1_0000:
            scratch.append(UInt8(0xE0 | value >> 12))
            scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | value & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | value >> 18))
            scratch.append(UInt8(0x80 | value >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | value & 0x3F))
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("invalid escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
