// An ordered, case-insensitive collection of header fields.

/// Header fields in the order they were added; names compare case-insensitively.
///
/// The rate limiter's three fields (``RateLimitFields``) are kept as numbers, at their place
/// among the others, until something reads or changes them as text: every counted response
/// carries them, and as strings they cost three conversions, three more fields to copy and
/// scan, and the sanitising of six strings when the response is written. Reading them
/// (iteration, lookup, ``values(for:)``) gives the same text as if they had been added as
/// strings; replacing or removing one of those names turns the three into ordinary fields
/// first.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (name: String, value: String)
    private var fields: [Element] = []
    /// The rate-limit fields held as numbers, if set.
    public private(set) var rateLimit: RateLimitFields?

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { add(name: name, value: value) }
    }

    public init(_ fields: [(String, String)]) {
        for (name, value) in fields { add(name: name, value: value) }
    }

    public var count: Int { fields.count + (rateLimit == nil ? 0 : RateLimitFields.names.count) }

    /// Makes room for `capacity` fields without reallocating.
    public mutating func reserveCapacity(_ capacity: Int) {
        fields.reserveCapacity(capacity)
    }

    public func makeIterator() -> IndexingIterator<[Element]> {
        rateLimit == nil ? fields.makeIterator() : textFields.makeIterator()
    }

    /// Every field as text, the rate-limit fields at their place.
    var textFields: [Element] {
        guard let rateLimit else { return fields }
        var all = fields
        all.insert(contentsOf: rateLimit.textFields, at: rateLimit.position)
        return all
    }

    /// The fields stored as text, without the numeric rate-limit fields, and where those go
    /// among them: what a response writer needs to write them without making strings.
    public var storedFields: [Element] { fields }

    /// Room made at the first field: a response gathers its fields from several stages
    /// (content type, request id, CORS), and growing the array one doubling at a time would
    /// allocate and copy it twice.
    static let initialCapacity = 12

    /// Appends a field, keeping any existing ones of the same name.
    public mutating func add(name: String, value: String) {
        if fields.capacity == 0 { fields.reserveCapacity(Self.initialCapacity) }
        fields.append((name, value))
    }

    /// Sets a field, replacing every existing one of the same name.
    public mutating func replaceOrAdd(name: String, value: String) {
        if rateLimit != nil && RateLimitFields.isName(name) { storeRateLimitAsText() }
        if fields.contains(where: { Self.namesMatch($0.name, name) }) { remove(name: name) }
        add(name: name, value: value)
    }

    public mutating func remove(name: String) {
        if rateLimit != nil && RateLimitFields.isName(name) { storeRateLimitAsText() }
        // The numeric fields stay where they were among the others.
        if let position = rateLimit?.position {
            rateLimit?.position -= fields[..<position].count { Self.namesMatch($0.name, name) }
        }
        fields.removeAll { Self.namesMatch($0.name, name) }
    }

    /// Sets the rate-limit fields as numbers, replacing any of those names already present
    /// (as numbers or as text); placed after the fields present now.
    public mutating func setRateLimit(limit: Int64, remaining: Int64, reset: Int64) {
        // The common case, none present as text, is found in one pass over the names' lengths.
        let present = fields.contains { RateLimitFields.isName($0.name) }
        if present {
            for name in RateLimitFields.names { remove(name: name) }
        }
        rateLimit = RateLimitFields(limit: limit, remaining: remaining, reset: reset, position: fields.count)
    }

    /// Turns the numeric rate-limit fields into ordinary text fields at their place.
    private mutating func storeRateLimitAsText() {
        guard let rateLimit else { return }
        self.rateLimit = nil
        fields.insert(contentsOf: rateLimit.textFields, at: rateLimit.position)
    }

    /// The first value of the field, or nil.
    public subscript(name: String) -> String? {
        get {
            if let rateLimit { return value(of: name, besides: rateLimit) }
            for field in fields where Self.namesMatch(field.name, name) { return field.value }
            return nil
        }
        set {
            if let newValue { replaceOrAdd(name: name, value: newValue) } else { remove(name: name) }
        }
    }

    /// The first value of `name` with the numeric rate-limit fields at their place.
    private func value(of name: String, besides rateLimit: RateLimitFields) -> String? {
        for index in fields.indices where Self.namesMatch(fields[index].name, name) {
            if index >= rateLimit.position, let value = rateLimit.value(of: name) { return value }
            return fields[index].value
        }
        return rateLimit.value(of: name)
    }

    /// Every value of the field, in order.
    public func values(for name: String) -> [String] {
        textFields.filter { Self.namesMatch($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// ASCII case-insensitive comparison, without allocating: header names are ASCII tokens.
    public static func namesMatch(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        // Native and small strings are compared over their bytes in place; a name is looked
        // up several times per request, against every field.
        let inPlace = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in bytesMatch(x, y) }
        }
        if let inPlace, let matched = inPlace { return matched }
        return bytesMatch(a.utf8, b.utf8)
    }

    private static func bytesMatch(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        for (x, y) in zip(a, b) where x != y {
            guard (x | 0x20) == (y | 0x20), (x | 0x20) >= UInt8(ascii: "a"), (x | 0x20) <= UInt8(ascii: "z")
            else { return false }
        }
        return true
    }
}

/// The rate limiter's `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
/// fields, as numbers, and their place among a response's other fields.
public struct RateLimitFields: Sendable, Equatable {
    /// The names as a response writer copies them; the `String`s below are made from these.
    public static let limitNameText: StaticString = "X-RateLimit-Limit"
    public static let remainingNameText: StaticString = "X-RateLimit-Remaining"
    public static let resetNameText: StaticString = "X-RateLimit-Reset"
    public static let limitName = limitNameText.description
    public static let remainingName = remainingNameText.description
    public static let resetName = resetNameText.description
    static let names = [limitName, remainingName, resetName]
    /// The most bytes the three take in a response: each name, `: `, the digits and CRLF.
    public static let maxEncodedCount = names.reduce(0) { $0 + $1.utf8.count + 4 + DecimalText.maxCount }

    public var limit: Int64
    public var remaining: Int64
    /// Epoch seconds.
    public var reset: Int64
    /// How many of the text fields come before these three.
    public internal(set) var position: Int

    /// The three fields as text, in order.
    var textFields: [HTTPHeaders.Element] {
        [(Self.limitName, String(limit)), (Self.remainingName, String(remaining)), (Self.resetName, String(reset))]
    }

    static func isName(_ name: String) -> Bool {
        hasNameLength(name)
            && (HTTPHeaders.namesMatch(name, limitName) || HTTPHeaders.namesMatch(name, remainingName)
                || HTTPHeaders.namesMatch(name, resetName))
    }

    /// Whether `name` is as long as one of the three: most names are not, and are told apart
    /// without comparing their bytes.
    private static func hasNameLength(_ name: String) -> Bool {
        let length = name.utf8.count
        return length == limitNameText.utf8CodeUnitCount || length == remainingNameText.utf8CodeUnitCount
            || length == resetNameText.utf8CodeUnitCount
    }

    /// The text value of the field `name`, nil if it is not one of the three.
    func value(of name: String) -> String? {
        guard Self.hasNameLength(name) else { return nil }
        if HTTPHeaders.namesMatch(name, Self.limitName) { return String(limit) }
        if HTTPHeaders.namesMatch(name, Self.remainingName) { return String(remaining) }
        if HTTPHeaders.namesMatch(name, Self.resetName) { return String(reset) }
        return nil
    }
}
