// JSON objects: linear member insertion and lookup (counted, not timed), the member cap, key order.

import Testing

@testable import Flagon

@Suite("JSON objects")
struct JSONObjectTests {
    /// `{"k0": 0, "k1": 1, ...}` with `count` distinct keys.
    static func wideObject(_ count: Int) -> String {
        "{" + (0..<count).map { #""k\#($0)": \#($0)"# }.joined(separator: ", ") + "}"
    }

    @Test("parsing an object compares at most a few keys per member, however many members")
    func linearInsertion() throws {
        for count in [1, 8, 9, 100, JSONParser.maximumMembers] {
            let (value, comparisons) = try JSONParser.parseCountingComparisons(Array(Self.wideObject(count).utf8))
            #expect(value.objectValue?.count == count)
            // A scan of the members before each new one would compare count²/2 keys:
            // 50 million for 10,000 members.
            #expect(comparisons <= JSONObject.scanLimit * count)
        }
    }

    @Test("repeated keys cost as little as new ones")
    func linearRepeatedKeys() throws {
        let keys = (0..<100).map { #""k\#($0)": 0"# }.joined(separator: ", ")
        let body = "{" + Array(repeating: keys, count: 100).joined(separator: ", ") + "}"
        let (value, comparisons) = try JSONParser.parseCountingComparisons(Array(body.utf8))
        #expect(value.objectValue?.count == 100)
        #expect(comparisons <= JSONObject.scanLimit * 10_000)
    }

    @Test("looking up every key of a large object costs one probe each")
    func linearLookup() throws {
        let object = try #require(try JSONParser.parse(Self.wideObject(10_000)).objectValue)
        var comparisons = 0
        for index in 0..<10_000 {
            let (position, cost) = object.position(of: "k\(index)")
            #expect(position == index)
            comparisons += cost
        }
        #expect(comparisons <= 10_000)
        #expect(object.position(of: "absent").index == nil)
        #expect(object["k9999"] == .integer(9999))
    }

    @Test("a small object is scanned, never more than the scan limit")
    func smallObjectScan() throws {
        let object = try #require(try JSONParser.parse(Self.wideObject(JSONObject.scanLimit)).objectValue)
        #expect(object.position(of: "k7").index == 7)
        #expect(object.position(of: "k7").comparisons == 8)
        #expect(object.position(of: "absent").comparisons == JSONObject.scanLimit)
    }

    @Test("a repeated key keeps its last value at its first position, in small and large objects")
    func duplicateKeys() throws {
        for count in [3, 50] {
            let body = String(Self.wideObject(count).dropLast()) + #", "k1": "last", "k0": "again"}"#
            let object = try #require(try JSONParser.parse(body).objectValue)
            #expect(object.count == count)
            #expect(object.keys == (0..<count).map { "k\($0)" })
            #expect(object["k1"] == "last")
            #expect(object["k0"] == "again")
        }
    }

    @Test("removing a member keeps the others findable and in order, before and after indexing")
    func removal() {
        for count in [5, 40] {
            var object = JSONObject((0..<count).map { ("k\($0)", .integer(Int64($0))) })
            object["k2"] = nil
            object["absent"] = nil
            #expect(object.count == count - 1)
            #expect(object["k2"] == nil)
            #expect(object.keys == (0..<count).filter { $0 != 2 }.map { "k\($0)" })
            for index in 0..<count where index != 2 { #expect(object["k\(index)"] == .integer(Int64(index))) }
            object["k2"] = "back"
            #expect(object.keys.last == "k2")
            #expect(object["k2"] == "back")
        }
    }

    @Test("objects compare by members in order, whatever their history")
    func equality() {
        var grown = JSONObject((0..<20).map { ("k\($0)", .integer(Int64($0))) })
        grown["k19"] = nil
        let built = JSONObject((0..<19).map { ("k\($0)", .integer(Int64($0))) })
        #expect(grown == built)
        #expect(JSONObject([("a", 1), ("b", 2)]) != JSONObject([("b", 2), ("a", 1)]))
    }

    @Test("the member cap is 10,000 per object, repeated keys included, nested objects each")
    func memberCap() throws {
        #expect(JSONParser.maximumMembers == 10_000)
        let atCap = Self.wideObject(JSONParser.maximumMembers)
        #expect(try JSONParser.parse(atCap).objectValue?.count == 10_000)
        let overCap = Self.wideObject(JSONParser.maximumMembers + 1)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(overCap) }
        do {
            _ = try JSONParser.parse(overCap)
        } catch {
            #expect(error.reason == "too many members in an object")
        }
        let repeated = "{" + String(repeating: #""a": 0, "#, count: 10_000) + #""a": 1}"#
        #expect(throws: JSONParseError.self) { try JSONParser.parse(repeated) }
        let twoAtCap = "[" + atCap + ", " + atCap + "]"
        #expect(try JSONParser.parse(twoAtCap) == .array([try JSONParser.parse(atCap), try JSONParser.parse(atCap)]))
    }
}
