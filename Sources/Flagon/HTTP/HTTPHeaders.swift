// An ordered, case-insensitive collection of header fields.

/// Header fields in the order they were added; names compare case-insensitively.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (name: String, value: String)
    private var fields: [Element] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { add(name: name, value: value) }
    }

    public init(_ fields: [(String, String)]) {
        for (name, value) in fields { add(name: name, value: value) }
    }

    public var count: Int { fields.count }

    /// Makes room for `capacity` fields without reallocating.
    public mutating func reserveCapacity(_ capacity: Int) {
        fields.reserveCapacity(capacity)
    }

    public func makeIterator() -> IndexingIterator<[Element]> { fields.makeIterator() }

    /// Room made at the first field: a response gathers its fields from several stages
    /// (content type, request id, the limiter's three, CORS), and growing the array one
    /// doubling at a time would allocate and copy it three times.
    static let initialCapacity = 12

    /// Appends a field, keeping any existing ones of the same name.
    public mutating func add(name: String, value: String) {
        if fields.capacity == 0 { fields.reserveCapacity(Self.initialCapacity) }
        fields.append((name, value))
    }

    /// Sets a field, replacing every existing one of the same name.
    public mutating func replaceOrAdd(name: String, value: String) {
        if fields.contains(where: { Self.namesMatch($0.name, name) }) { remove(name: name) }
        fields.append((name, value))
    }

    public mutating func remove(name: String) {
        fields.removeAll { Self.namesMatch($0.name, name) }
    }

    /// The first value of the field, or nil.
    public subscript(name: String) -> String? {
        get {
            for field in fields where Self.namesMatch(field.name, name) { return field.value }
            return nil
        }
        set {
            if let newValue { replaceOrAdd(name: name, value: newValue) } else { remove(name: name) }
        }
    }

    /// Every value of the field, in order.
    public func values(for name: String) -> [String] {
        fields.filter { Self.namesMatch($0.name, name) }.map(\.value)
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
