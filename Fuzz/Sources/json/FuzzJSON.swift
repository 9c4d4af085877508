// Fuzz target: the JSON parser, with a serialize-and-parse-again round trip on every accepted input.

@testable import Flagon

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONParser.parse(bytes) else { return 0 }
    // What the service writes back must read as the same value, and be written the same again.
    let text = value.serialized()
    guard let again = try? JSONParser.parse(text) else { fatalError("serialized JSON does not parse: \(value)") }
    precondition(again == value, "round trip changed \(value) into \(again)")
    precondition(again.serialized() == text, "serialization is not stable for \(value)")
    checkObjects(value)
    return 0
}

/// Every member of every object is found by its key, at its position, within the caps.
private func checkObjects(_ value: JSONValue) {
    switch value {
    case .array(let values):
        values.forEach(checkObjects)
    case .object(let object):
        precondition(object.count <= JSONParser.maximumMembers)
        for (index, (key, member)) in object.entries.enumerated() {
            precondition(object.position(of: key).index == index, "key \(key) not found at \(index)")
            precondition(object[key] == member)
            checkObjects(member)
        }
    default:
        break
    }
}
