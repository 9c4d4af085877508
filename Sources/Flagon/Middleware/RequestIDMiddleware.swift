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
        let utf8 = id.utf8
        guard (1...128).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

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
