// Fuzz target: PHC strings of stored Argon2id password hashes, parsed without hashing anything.

@testable import TasksAPI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPHC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let parsed = EncodedArgon2id(text) else { return 0 }
    // Only costs that a hasher could be configured with are ever accepted.
    precondition(parsed.memoryKiB >= 8 * parsed.parallelism && parsed.iterations >= 1, "\(parsed)")
    precondition(parsed.saltLength >= 8 && parsed.hashLength >= 4)
    precondition(parsed.saltLength <= text.utf8.count && parsed.hashLength <= text.utf8.count)
    return 0
}
