// A JSON document model that keeps what validation needs: integer vs fraction, key order.

/// A parsed or to-be-serialized JSON value.
///
/// Unlike Foundation's `JSONSerialization`, it keeps `3` apart from `3.0` and `true` apart
/// from `1`, keeps integers beyond 64 bits as text instead of rounding them, and keeps the
/// key order of objects.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// A number written without fraction or exponent that does not fit in 64 bits.
    case bigInteger(String)
    /// A number written with a fraction or an exponent.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON type name used in messages and schemas.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer, .bigInteger: return "integer"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The members of an object, or nil.
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }
    public init(floatLiteral value: Double) { self = .number(value) }
}

/// The members of a JSON object in document order. A repeated key keeps its last value,
/// at the position of its first occurrence, as Python's `json` module does.
///
/// Small objects are searched by a short scan; past ``scanLimit`` members an index from
/// key to position is kept as well, so inserting and looking up a member cost amortised
/// O(1) however many members there are. Swift's `Hasher` is seeded per process, so
/// chosen keys cannot force collisions.
public struct JSONObject: Sendable, Equatable, Sequence {
    public typealias Element = (key: String, value: JSONValue)
    public private(set) var entries: [Element] = []
    /// The position of every key in ``entries``; empty while the object is small.
    private var positions: [String: Int] = [:]

    /// The most members searched by a scan; larger objects are indexed.
    static let scanLimit = 8

    public init() {}

    public init(_ pairs: [(String, JSONValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { entries.count }
    public var keys: [String] { entries.map(\.key) }

    public func makeIterator() -> IndexingIterator<[Element]> { entries.makeIterator() }

    public subscript(key: String) -> JSONValue? {
        get { position(of: key).index.map { entries[$0].value } }
        set {
            if let newValue {
                _ = insert(key, newValue)
            } else if let index = position(of: key).index {
                entries.remove(at: index)
                reindex()
            }
        }
    }

    /// Where `key` is, and how many keys were compared to find out: at most ``scanLimit``.
    func position(of key: String) -> (index: Int?, comparisons: Int) {
        guard positions.isEmpty else { return (positions[key], 1) }
        for index in entries.indices where entries[index].key == key { return (index, index + 1) }
        return (nil, entries.count)
    }

    /// Sets `key` to `value`, in place if present, else at the end.
    /// - Returns: The keys compared on the way, so tests can count the work.
    mutating func insert(_ key: String, _ value: JSONValue) -> Int {
        let (found, comparisons) = position(of: key)
        if let found {
            entries[found].value = value
            return comparisons
        }
        entries.append((key, value))
        if !positions.isEmpty {
            positions[key] = entries.count - 1
        } else if entries.count > Self.scanLimit {
            reindex()
        }
        return comparisons
    }

    private mutating func reindex() {
        positions = [:]
        guard entries.count > Self.scanLimit else { return }
        positions.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() { positions[entry.key] = index }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
