// The characters a string field may contain, written as the body of a regex character class.

/// A set of allowed characters written like a regular-expression class: `"A-Za-z0-9_.-"`.
///
/// Checked by hand (no regex engine), and published in JSON Schema as the pattern
/// `^[A-Za-z0-9_.-]*$`. A `-` that is first or last is literal, as in a regex class.
///
/// ```swift
/// let username = Field.string("username", required: true, minLength: 3, maxLength: 32,
///                             characters: "A-Za-z0-9_.-")
/// ```
public struct CharacterClass: Sendable, Equatable, ExpressibleByStringLiteral {
    /// The class body as written, such as `A-Za-z0-9_.-`.
    public let source: String
    private let ranges: [ClosedRange<Unicode.Scalar>]

    /// - Parameter source: A class body of literal characters and `a-z` ranges. It must not
    ///   contain `\`, `[`, `]` or start with `^`: those would mean something else in the
    ///   published pattern.
    public init(_ source: String) {
        precondition(
            !source.isEmpty && !source.hasPrefix("^") && !source.contains(where: { "\\[]".contains($0) }),
            "unsupported character class \(source)")
        self.source = source
        var ranges: [ClosedRange<Unicode.Scalar>] = []
        let scalars = Array(source.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let low = scalars[index]
            if index + 2 < scalars.count, scalars[index + 1] == "-" {
                let high = scalars[index + 2]
                precondition(low <= high, "reversed range \(low)-\(high) in \(source)")
                ranges.append(low...high)
                index += 3
            } else {
                ranges.append(low...low)
                index += 1
            }
        }
        self.ranges = ranges
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// True if the scalar is one of the allowed characters.
    public func contains(_ scalar: Unicode.Scalar) -> Bool {
        ranges.contains { $0.contains(scalar) }
    }

    /// True if every character of the text is allowed (the empty string included).
    public func allows(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy(contains)
    }

    /// The JSON Schema (ECMA-262) pattern matching strings made only of these characters.
    public var pattern: String { "^[\(source)]*$" }
}
