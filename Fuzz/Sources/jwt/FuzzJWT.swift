// Fuzz target: JWT verification, of raw tokens and of validly signed tokens with fuzzed header and payload.

@testable import Flagon

private let signer = JWTSigner(secret: "a-fixed-key-for-fuzzing-only-32-chars-long")
private let now: Int64 = 1_800_000_000

/// The first byte picks the shape: even, the rest is a token as sent after `Bearer `; odd,
/// the rest is a header and a payload (split at the first newline), encoded and signed
/// with the right key, so the fuzzer reaches the header, claim and time checks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWT(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let token: String
    if data[0] % 2 == 0 {
        token = String(decoding: input, as: UTF8.self)
    } else {
        let newline = input.firstIndex(of: UInt8(ascii: "\n")) ?? input.endIndex
        let header = Base64URL.encode(input[..<newline])
        let payload = Base64URL.encode(input[min(newline + 1, input.endIndex)...])
        token = signer.token(signingInput: header + "." + payload)
    }
    guard let claims = try? signer.verify(token, now: now) else { return 0 }
    // Whatever verifies was signed with this key and has not expired.
    guard case .integer(let expires)? = claims["exp"], expires > now else { fatalError("accepted \(claims)") }
    precondition(token.utf8.count <= JWTSigner.maximumTokenLength)
    return 0
}
