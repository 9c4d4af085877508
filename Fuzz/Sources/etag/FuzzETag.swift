// Fuzz target: entity-tag lists of If-Match and If-None-Match, each tag written and parsed again.

import Flagon

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzETag(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let tags = ETag.parseList(text)
    for tag in tags {
        precondition(ETag.parseList(tag.description) == [tag], "\(tag) does not read back")
        precondition(tag.matchesWeakly(tag))
        precondition(tag.matchesStrongly(tag) == !tag.isWeak)
    }
    if let condition = ETagCondition(headerValues: [text]), let first = tags.first {
        precondition(condition.matchesWeakly(first), "\(text) does not match its own first tag")
    }
    // Several header lines, as a repeated If-Match field arrives.
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    _ = ETagCondition(headerValues: lines)?.matchesStrongly(ETag("fuzz"))
    return 0
}
