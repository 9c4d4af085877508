// Request ids (API contract section 1) and the headers every response carries.

import Synchronization

/// Accepts a well-formed incoming `X-Request-Id`, else takes the transport's id of the
/// request (nginx's `$request_id`) or makes a fresh one, and sets it and
/// `X-Content-Type-Options: nosniff` on every response, errors included.
public struct RequestIDMiddleware: Middleware {
    public init() {}

    public func respond(to request: Request, next: Responder) async throws -> Response {
        var request = request
        request.id = Self.id(for: request)
        var response = try await next(request)
        response.headers.reserveCapacity(response.headers.count + 2)
        response.headers.replaceOrAdd(name: "X-Request-Id", value: request.id)
        if !response.headers.contains("X-Content-Type-Options") {
            response.headers.add(name: "X-Content-Type-Options", value: "nosniff")
        }
        return response
    }

    /// The request's own well-formed `X-Request-Id`, else the id its transport gave it
    /// (nginx's `$request_id`), else a fresh one.
    public static func id(for request: Request) -> String {
        if let incoming = request.headers["X-Request-Id"], isValid(incoming) { return incoming }
        return request.id.isEmpty ? generate() : request.id
    }

    /// 1 to 128 characters of `[A-Za-z0-9._-]`.
    public static func isValid(_ id: String) -> Bool {
        // Every request's id from nginx is checked: over the bytes in place, one mask test each.
        if let valid = id.utf8.withContiguousStorageIfAvailable(isValid(bytes:)) { return valid }
        return Array(id.utf8).withUnsafeBufferPointer(isValid(bytes:))
    }

    /// ``isValid(_:)`` of UTF-8 bytes.
    public static func isValid(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard (1...128).contains(bytes.count) else { return false }
        var outside: UInt64 = 0
        for byte in bytes {
            let mask = byte < 64 ? allowedBelow64 : allowedFrom64
            // No byte of 128 or more is allowed.
            let allowed = byte < 128 ? mask >> UInt64(byte & 63) : 0
            outside |= ~allowed & 1
        }
        return outside == 0
    }

    /// Bit n set when byte n is allowed in an id: `-`, `.`, `0`-`9`.
    private static let allowedBelow64: UInt64 = 0x03FF_6000_0000_0000
    /// Bit n set when byte 64 + n is allowed: `A`-`Z`, `_`, `a`-`z`.
    private static let allowedFrom64: UInt64 = 0x07FF_FFFE_87FF_FFFE

    /// 32 hex digits from a per-process generator seeded from the system's CSPRNG: ids must
    /// be unique and unguessable enough to correlate logs, not secret, and a system call per
    /// request for them would cost more than the rest of the hello path.
    public static func generate() -> String {
        let (high, low) = generator.withLock { state in (state.next(), state.next()) }
        return String(unsafeUninitializedCapacity: 32) { buffer in
            for index in 0..<16 {
                let shift = UInt64(60 - 4 * index)
                buffer[index] = hexDigit(high >> shift)
                buffer[16 + index] = hexDigit(low >> shift)
            }
            return 32
        }
    }

    /// The lowercase hex digit of the low four bits of `value`.
    private static func hexDigit(_ value: UInt64) -> UInt8 {
        let nibble = UInt8(truncatingIfNeeded: value & 0xF)
        return nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }

    private static let generator = Mutex(Xoshiro256StarStar())
}

/// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, seeded once per process.
struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var seed = SystemRandomNumberGenerator()
        repeat {
            state = (seed.next(), seed.next(), seed.next(), seed.next())
        } while state == (0, 0, 0, 0)
    }

    mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
