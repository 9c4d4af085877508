// Entity tags and the conditional headers that compare them (RFC 9110 §8.8.3, §13.1.1, §13.1.2).

/// An entity tag: an opaque validator of one representation, `"abc"` (strong) or
/// `W/"abc"` (weak).
///
/// ```swift
/// let etag = ETag("42-7")                     // "42-7"
/// response.headers["ETag"] = etag.description
/// if request.ifNoneMatch?.matchesWeakly(etag) == true { return .notModified(etag: etag) }
/// if let condition = request.ifMatch, !condition.matchesStrongly(etag) {
///     throw HTTPError(.preconditionFailed)
/// }
/// ```
public struct ETag: Sendable, Hashable, CustomStringConvertible {
    /// The characters between the quotes.
    public let opaqueTag: String
    /// A weak tag (`W/"..."`) only promises semantic equivalence, never byte equality.
    public let isWeak: Bool

    /// A tag from its opaque part, which must not contain `"`, controls or spaces.
    public init(_ opaqueTag: String, weak: Bool = false) {
        precondition(opaqueTag.utf8.allSatisfy(Self.isTagByte), "invalid entity-tag characters in \(opaqueTag)")
        self.opaqueTag = opaqueTag
        self.isWeak = weak
    }

    /// The header form: `"abc"` or `W/"abc"`.
    public var description: String { (isWeak ? "W/\"" : "\"") + opaqueTag + "\"" }

    /// Strong comparison (for `If-Match`): neither tag is weak and the opaque tags are equal.
    public func matchesStrongly(_ other: ETag) -> Bool {
        !isWeak && !other.isWeak && opaqueTag == other.opaqueTag
    }

    /// Weak comparison (for `If-None-Match`): the opaque tags are equal, weak or not.
    public func matchesWeakly(_ other: ETag) -> Bool { opaqueTag == other.opaqueTag }

    /// Parses a list of entity tags such as `"a", W/"b" ,"c,d"` (commas may sit inside the
    /// quotes). Malformed elements (an unquoted tag, a lower-case `w/`) are skipped:
    /// they can match nothing.
    public static func parseList(_ text: String) -> [ETag] {
        let bytes = Array(text.utf8)
        var tags: [ETag] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                index += 1
                continue
            }
            if let (tag, end) = parseElement(bytes, from: index) {
                tags.append(tag)
                index = end
            } else {
                // Skip the malformed element: up to the next comma outside quotes.
                var quoted = false
                while index < bytes.count, quoted || bytes[index] != UInt8(ascii: ",") {
                    if bytes[index] == UInt8(ascii: "\"") { quoted.toggle() }
                    index += 1
                }
            }
        }
        return tags
    }

    /// One `[W/]"..."` element followed by optional whitespace and a comma or the end.
    private static func parseElement(_ bytes: [UInt8], from start: Int) -> (ETag, Int)? {
        var index = start
        var weak = false
        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "W"), bytes[index + 1] == UInt8(ascii: "/") {
            weak = true
            index += 2
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        index += 1
        let tagStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            guard isTagByte(bytes[index]) else { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        let opaqueTag = String(decoding: bytes[tagStart..<index], as: UTF8.self)
        index += 1
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
            index += 1
        }
        guard index == bytes.count || bytes[index] == UInt8(ascii: ",") else { return nil }
        return (ETag(opaqueTag, weak: weak), index)
    }

    /// RFC 9110's `etagc`: `!`, `#` to `~`, and obs-text (any byte of a non-ASCII character).
    private static func isTagByte(_ byte: UInt8) -> Bool {
        byte == 0x21 || (0x23...0x7E).contains(byte) || byte >= 0x80
    }
}

/// The value of an `If-Match` or `If-None-Match` header: `*` or a list of entity tags.
public enum ETagCondition: Sendable, Equatable {
    /// `*`: any current representation.
    case any
    /// The listed tags; an empty list (a malformed header) matches nothing.
    case tags([ETag])

    /// The condition of every line of one header field, combined as one list.
    /// - Returns: nil when no line was sent.
    public init?(headerValues: [String]) {
        guard !headerValues.isEmpty else { return nil }
        let trimmed = headerValues.map { $0.trimmingWhitespace }
        if trimmed.contains("*") {
            self = .any
        } else {
            self = .tags(trimmed.flatMap(ETag.parseList))
        }
    }

    /// `If-Match` evaluation: `*` matches any existing representation, a list must contain
    /// a strong tag equal to `current` (a weak tag never matches).
    /// - Parameter current: the resource's current tag, nil when it does not exist.
    public func matchesStrongly(_ current: ETag?) -> Bool {
        guard let current else { return false }
        switch self {
        case .any: return true
        case .tags(let tags): return tags.contains { $0.matchesStrongly(current) }
        }
    }

    /// `If-None-Match` evaluation: `*` matches any existing representation, a list matches
    /// when one of its tags equals `current` by weak comparison (`W/"x"` matches `"x"`).
    /// - Parameter current: the resource's current tag, nil when it does not exist.
    public func matchesWeakly(_ current: ETag?) -> Bool {
        guard let current else { return false }
        switch self {
        case .any: return true
        case .tags(let tags): return tags.contains { $0.matchesWeakly(current) }
        }
    }
}

extension Request {
    /// The `If-Match` condition, nil when the header is absent.
    public var ifMatch: ETagCondition? { ETagCondition(headerValues: headers.values(for: "If-Match")) }

    /// The `If-None-Match` condition, nil when the header is absent.
    public var ifNoneMatch: ETagCondition? { ETagCondition(headerValues: headers.values(for: "If-None-Match")) }
}

extension Response {
    /// `304 Not Modified`: no body, the current `ETag`.
    public static func notModified(etag: ETag) -> Response {
        Response(status: .notModified, headers: ["ETag": etag.description])
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    fileprivate var trimmingWhitespace: String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) })
        else { return "" }
        return String(self[first...last])
    }
}
