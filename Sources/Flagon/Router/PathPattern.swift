// Route path patterns with typed parameters: `/api/tasks/{id:int}`.

#if canImport(Glibc)
    import Glibc
#endif

/// The type of a path parameter, which decides what a segment must look like to match.
public enum ParameterType: String, Sendable {
    /// Any non-empty segment.
    case string
    /// A positive decimal integer that fits in 64 bits (`1`, `42`; not `0`, `-1`, `1.0`, `x`).
    case int
}

/// A parsed path pattern.
public struct PathPattern: Sendable, CustomStringConvertible {
    public enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(name: String, type: ParameterType)
    }

    public let segments: [Segment]
    /// Specificity for choosing between overlapping patterns: literals beat parameters,
    /// typed parameters beat strings, compared left to right.
    let rank: [Int]

    /// Parses `/api/tasks/{id:int}`; `{name}` is a string parameter.
    public init(_ pattern: String) {
        segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map { part in
            guard part.hasPrefix("{"), part.hasSuffix("}") else { return .literal(String(part)) }
            let inner = part.dropFirst().dropLast()
            if let colon = inner.firstIndex(of: ":") {
                let name = String(inner[..<colon])
                let typeName = String(inner[inner.index(after: colon)...])
                guard let type = ParameterType(rawValue: typeName) else {
                    preconditionFailure("unknown path parameter type '\(typeName)' in \(pattern)")
                }
                return .parameter(name: name, type: type)
            }
            return .parameter(name: String(inner), type: .string)
        }
        rank = segments.map { segment in
            switch segment {
            case .literal: return 2
            case .parameter(_, .int): return 1
            case .parameter(_, .string): return 0
            }
        }
    }

    /// The pattern as written, `/api/tasks/{id:int}`.
    public var description: String {
        "/"
            + segments.map { segment -> String in
                switch segment {
                case .literal(let text): return text
                case .parameter(let name, .string): return "{\(name)}"
                case .parameter(let name, let type): return "{\(name):\(type.rawValue)}"
                }
            }.joined(separator: "/")
    }

    /// The OpenAPI form of the path, `/api/tasks/{id}`.
    public var openAPIPath: String {
        "/"
            + segments.map { segment -> String in
                switch segment {
                case .literal(let text): return text
                case .parameter(let name, _): return "{\(name)}"
                }
            }.joined(separator: "/")
    }

    /// Matches decoded path segments; on success returns the typed parameters.
    /// - Parameter percentEncoded: whether any segment holds a `%`; without one, literals
    ///   compare as they are, with no segment scanned for escapes.
    func match(_ path: [Substring], percentEncoded: Bool = true) -> Parameters? {
        guard path.count == segments.count else { return nil }
        var parameters = Parameters()
        for (segment, part) in zip(segments, path) {
            switch segment {
            case .literal(let text):
                // Routing is on the decoded path, as werkzeug's: `/api/hell%6F` is `/api/hello`.
                // Literals compare by code points, as werkzeug's `str`s do (bytes of valid
                // UTF-8), not by Swift's canonical equivalence.
                guard
                    Self.sameBytes(part, text)
                        || (percentEncoded && part.utf8.contains(UInt8(ascii: "%"))
                            && Self.sameBytes(Substring(QueryString.decode(part)), text))
                else { return nil }
            case .parameter(let name, .string):
                guard !part.isEmpty else { return nil }
                parameters.values.append((name, .string(QueryString.decode(part))))
            case .parameter(let name, .int):
                guard let value = Self.positiveInteger(part) else { return nil }
                parameters.values.append((name, .int(value)))
            }
        }
        return parameters
    }

    /// Whether `part` and `text` are the same bytes: one `memcmp` over the strings' storage.
    static func sameBytes(_ part: Substring, _ text: String) -> Bool {
        guard part.utf8.count == text.utf8.count else { return false }
        let compared = part.utf8.withContiguousStorageIfAvailable { left in
            text.utf8.withContiguousStorageIfAvailable { right in
                left.isEmpty || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
            }
        }
        return (compared ?? nil) ?? part.utf8.elementsEqual(text.utf8)
    }

    static func positiveInteger(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let value = Int64(text), value >= 1
        else { return nil }
        return value
    }
}

/// The typed path parameters of a matched route.
public struct Parameters: Sendable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case int(Int64)
    }

    var values: [(name: String, value: Value)] = []

    public init() {}

    /// A parameter declared `{name:int}`.
    public func int(_ name: String) -> Int64? {
        for entry in values where entry.name == name {
            if case .int(let value) = entry.value { return value }
        }
        return nil
    }

    /// A parameter declared `{name}`.
    public func string(_ name: String) -> String? {
        for entry in values where entry.name == name {
            switch entry.value {
            case .string(let value): return value
            case .int(let value): return String(value)
            }
        }
        return nil
    }
}
