// Fuzz target: flask-limiter rate-limit strings, each parsed limit written and parsed again.

import Flagon

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRateLimit(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let limit = RateLimit.parse(text) {
        precondition(limit.amount >= 1 && limit.multiple >= 1 && limit.window >= 1)
        precondition(RateLimit.parse(limit.description) == limit, "\(limit) does not read back")
        _ = limit.windowEnd(at: 1_800_000_000)
    }
    if let limits = try? RateLimit.parseList(text, key: "RATELIMIT_DEFAULT") {
        precondition(!limits.isEmpty)
        for limit in limits { precondition(RateLimit.parse(limit.description) == limit) }
    }
    return 0
}
