// The validation messages of the API contract (section 2), worded exactly as marshmallow's.

/// The messages a failed field reports, one place for the whole table.
enum ValidationMessage {
    /// The key of errors about the input as a whole, as marshmallow names it.
    static let schemaKey = "_schema"

    static let required = "Missing data for required field."
    static let null = "Field may not be null."
    static let unknownField = "Unknown field."
    static let invalidInput = "Invalid input type."
    /// A string holding U+0000, refused rather than truncated where it is stored.
    static let nul = "Must not contain the NUL character."
    /// marshmallow's `Regexp` validator.
    static let pattern = "String does not match expected pattern."

    static func invalid(_ kind: Field.Kind) -> String {
        switch kind {
        case .string: return "Not a valid string."
        case .integer: return "Not a valid integer."
        case .boolean: return "Not a valid boolean."
        }
    }

    /// marshmallow's `Length(min, max)`, or `Length(equal)` when both bounds are the same.
    static func length(min: Int?, max: Int?) -> String {
        switch (min, max) {
        case (let min?, let max?) where min == max: return "Length must be \(min)."
        case (let min?, let max?): return "Length must be between \(min) and \(max)."
        case (let min?, nil): return "Shorter than minimum length \(min)."
        case (nil, let max?): return "Longer than maximum length \(max)."
        case (nil, nil): return ""
        }
    }

    /// marshmallow's `Range(min, max)` with inclusive bounds.
    static func range(min: Int64?, max: Int64?) -> String {
        switch (min, max) {
        case (let min?, let max?):
            return "Must be greater than or equal to \(min) and less than or equal to \(max)."
        case (let min?, nil): return "Must be greater than or equal to \(min)."
        case (nil, let max?): return "Must be less than or equal to \(max)."
        case (nil, nil): return ""
        }
    }

    /// marshmallow's `OneOf(choices)`.
    static func oneOf(_ choices: [String]) -> String {
        "Must be one of: \(choices.joined(separator: ", "))."
    }
}
