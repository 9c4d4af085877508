// One rate limit ("5 per minute") and the flask-limiter syntax that declares them.

/// A fixed-window limit: at most ``amount`` hits per ``multiple`` ``unit``s.
///
/// Written as flask-limiter writes them: `5 per minute`, `50/hour`, `10 per 2 minutes`,
/// several joined by `;` (or `,`, `|`): `200 per day;50 per hour`.
///
/// ```swift
/// let limits = try RateLimit.parseList("200 per day;50 per hour", key: "RATELIMIT_DEFAULT")
/// api.get("/limited", limit: [RateLimit(5, per: .minute)]) { _ in .json(["ok": true]) }
/// ```
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    public enum Unit: String, Sendable, CaseIterable {
        case second, minute, hour, day

        public var seconds: Int64 {
            switch self {
            case .second: 1
            case .minute: 60
            case .hour: 3600
            case .day: 86_400
            }
        }
    }

    public let amount: Int
    public let multiple: Int
    public let unit: Unit
    /// `amount/multiple/unit`, the middle of each counter key of this limit, made once.
    let keyText: String

    /// - Parameters:
    ///   - amount: Hits allowed per window (at least 1).
    ///   - multiple: How many units one window lasts (at least 1).
    public init(_ amount: Int, per multiple: Int = 1, _ unit: Unit) {
        precondition(amount >= 1 && multiple >= 1, "a rate limit needs a positive amount and window")
        self.amount = amount
        self.multiple = multiple
        self.unit = unit
        keyText = "\(amount)/\(multiple)/\(unit.rawValue)"
    }

    /// Shorthand for `RateLimit(5, per: 1, .minute)`.
    public init(_ amount: Int, per unit: Unit) {
        self.init(amount, per: 1, unit)
    }

    /// The window length in seconds.
    public var window: Int64 { Int64(multiple) * unit.seconds }

    /// The start of the fixed window containing `now` (windows are aligned to the epoch,
    /// so every worker and host agrees on them without coordination).
    public func windowStart(at now: Int64) -> Int64 {
        now - ((now % window) + window) % window
    }

    /// The first second after the window containing `now`.
    public func windowEnd(at now: Int64) -> Int64 { windowStart(at: now) + window }

    /// flask-limiter's spelling, used in 429 messages: `5 per 1 minute`.
    public var description: String { "\(amount) per \(multiple) \(unit.rawValue)" }
}

extension RateLimit {
    /// Parses one or more limits separated by `;`, `,` or `|`.
    /// - Parameter key: The configuration key (or other name) the text came from, for the error.
    /// - Throws: ``ConfigError`` with a one-line message naming `key` and the offending text.
    public static func parseList(_ text: String, key: String) throws(ConfigError) -> [RateLimit] {
        let items = text.split(whereSeparator: { $0 == ";" || $0 == "," || $0 == "|" })
            .map { String($0).trimmed }.filter { !$0.isEmpty }
        guard !items.isEmpty else {
            throw ConfigError("\(key) must list at least one rate limit such as '5 per minute', got '\(text)'")
        }
        var limits: [RateLimit] = []
        for item in items {
            guard let limit = parse(item) else {
                throw ConfigError(
                    "\(key): '\(item)' is not a rate limit (expected e.g. '5 per minute', '50/hour', "
                        + "'10 per 2 minutes'; units second, minute, hour, day)")
            }
            limits.append(limit)
        }
        return limits
    }

    /// Parses a single limit such as `10 per 2 minutes` or `50/hour`; nil if malformed.
    public static func parse(_ text: String) -> RateLimit? {
        var scanner = Scanner(text.lowercased())
        guard let amount = scanner.integer(), amount >= 1 else { return nil }
        scanner.skipSpaces()
        if !scanner.consume("/") {
            guard scanner.consume("per") else { return nil }
        }
        scanner.skipSpaces()
        let multiple = scanner.integer() ?? 1
        guard multiple >= 1 else { return nil }
        scanner.skipSpaces()
        let word = scanner.word()
        let singular = word.hasSuffix("s") ? String(word.dropLast()) : word
        guard let unit = Unit(rawValue: singular) else { return nil }
        scanner.skipSpaces()
        guard scanner.isAtEnd, Int64(multiple) <= Int64.max / unit.seconds else { return nil }
        return RateLimit(amount, per: multiple, unit)
    }

    /// A tiny cursor over ASCII text.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ text: String) { bytes = Array(text.utf8) }

        var isAtEnd: Bool { index == bytes.count }

        mutating func skipSpaces() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        }

        mutating func consume(_ literal: String) -> Bool {
            let literal = Array(literal.utf8)
            guard bytes.count - index >= literal.count, Array(bytes[index..<index + literal.count]) == literal
            else { return false }
            index += literal.count
            return true
        }

        mutating func integer() -> Int? {
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            guard index > start else { return nil }
            return Int(String(decoding: bytes[start..<index], as: UTF8.self))
        }

        mutating func word() -> String {
            let start = index
            while index < bytes.count, (0x61...0x7A).contains(bytes[index]) { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }
}
