// Request ids (API contract section 1) and the headers every response carries.

/// Accepts a well-formed incoming `X-Request-Id` or makes a fresh one, and sets it and
/// `X-Content-Type-Options: nosniff` on every response, errors included.
public struct RequestIDMiddleware: Middleware {
    public init() {}

    public func respond(to request: Request, next: Responder) async throws -> Response {
        var request = request
        if let incoming = request.headers["X-Request-Id"], Self.isValid(incoming) {
            request.id = incoming
        } else {
            request.id = Self.generate()
        }
        var response = try await next(request)
        response.headers.replaceOrAdd(name: "X-Request-Id", value: request.id)
        if !response.headers.contains("X-Content-Type-Options") {
            response.headers.add(name: "X-Content-Type-Options", value: "nosniff")
        }
        return response
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

    /// 32 hex digits from the system's CSPRNG.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return Self.pad(String(high, radix: 16)) + Self.pad(String(low, radix: 16))
    }

    private static func pad(_ hex: String) -> String {
        String(repeating: "0", count: 16 - hex.count) + hex
    }
}
