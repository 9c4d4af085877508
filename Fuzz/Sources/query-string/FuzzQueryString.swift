// Fuzz target: query-string parsing and percent-decoding, with an encode/decode round trip.

import Flagon

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueryString(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let items = QueryString.parse(text)
    precondition(items.count <= text.utf8.count, "more items than bytes")
    for item in items {
        precondition(QueryString.decode(QueryString.encode(item.name)) == item.name)
        precondition(QueryString.decode(QueryString.encode(item.value)) == item.value)
    }
    let decoded = QueryString.decode(text)
    precondition(decoded.utf8.count <= text.utf8.count * 3, "decoding grew \(text)")
    _ = QueryString.decode(text, plusAsSpace: true)
    precondition(QueryString.decode(QueryString.encode(text), plusAsSpace: true) == text)
    return 0
}
