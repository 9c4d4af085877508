// Checking one field's value, and reading it from query-string text.

extension Field {
    /// The messages a present value earns, in marshmallow's order; empty if it is valid.
    func problems(with value: JSONValue) -> [String] {
        if value == .null { return allowsNull ? [] : [ValidationMessage.null] }
        switch (kind, value) {
        case (.string, .string(let text)): return stringProblems(text)
        case (.integer, .integer(let number)): return rangeProblems(number)
        case (.integer, .bigInteger(let digits)): return bigIntegerProblems(negative: digits.hasPrefix("-"))
        case (.boolean, .bool): return []
        default: return [ValidationMessage.invalid(kind)]
        }
    }

    private func stringProblems(_ text: String) -> [String] {
        var problems: [String] = []
        // Storage would cut the text at the NUL (SQLite's C strings) or refuse it
        // (PostgreSQL's text), so it is refused here, the same on every backend.
        if text.utf8.contains(0) { problems.append(ValidationMessage.nul) }
        let length = text.unicodeScalars.count
        if let minLength, length < minLength {
            problems.append(ValidationMessage.length(min: minLength, max: maxLength))
        } else if let maxLength, length > maxLength {
            problems.append(ValidationMessage.length(min: minLength, max: maxLength))
        }
        if let characters, !characters.allows(text) { problems.append(ValidationMessage.pattern) }
        if let choices, !choices.contains(text) { problems.append(ValidationMessage.oneOf(choices)) }
        return problems
    }

    private func rangeProblems(_ number: Int64) -> [String] {
        if let minimum, number < minimum { return [ValidationMessage.range(min: minimum, max: maximum)] }
        if let maximum, number > maximum { return [ValidationMessage.range(min: minimum, max: maximum)] }
        return []
    }

    /// An integer beyond 64 bits is out of any range a field can declare. The message is
    /// the field's range, with the 64-bit limit standing in for a bound it leaves open:
    /// `Must be greater than or equal to 0 and less than or equal to 9223372036854775807.`
    private func bigIntegerProblems(negative: Bool) -> [String] {
        let declared = negative ? minimum != nil : maximum != nil
        if declared { return [ValidationMessage.range(min: minimum, max: maximum)] }
        return [ValidationMessage.range(min: minimum ?? .min, max: maximum ?? .max)]
    }

    /// The JSON value a query-string value stands for. Text that does not parse as the
    /// field's type stays a string, so ``problems(with:)`` reports it as the wrong type.
    func value(fromQuery text: String) -> JSONValue {
        switch kind {
        case .string:
            return .string(text)
        case .integer:
            // Swift's Int64 parser takes `-3` and `+3` like Python's int(), and refuses
            // `3.0`, ` 3`, `` and anything beyond 64 bits; digits beyond 64 bits are
            // still an integer, out of range as in a JSON body.
            if let number = Int64(text) { return .integer(number) }
            return Self.isDecimal(text) ? .bigInteger(text) : .string(text)
        case .boolean:
            if Self.truthy.contains(text) { return .bool(true) }
            if Self.falsy.contains(text) { return .bool(false) }
            return .string(text)
        }
    }

    /// An optional sign and one or more ASCII digits.
    private static func isDecimal(_ text: String) -> Bool {
        let digits =
            text.utf8.first == UInt8(ascii: "-") || text.utf8.first == UInt8(ascii: "+")
            ? text.utf8.dropFirst() : text.utf8[...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// marshmallow's `Boolean.truthy` and `Boolean.falsy` strings.
    private static let truthy: Set = [
        "t", "T", "true", "True", "TRUE", "on", "On", "ON", "y", "Y", "yes", "Yes", "YES", "1",
    ]
    private static let falsy: Set = [
        "f", "F", "false", "False", "FALSE", "off", "Off", "OFF", "n", "N", "no", "No", "NO", "0",
    ]
}
