// One structured access-log line per request.

import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Logs method, path, status, duration and request id of every request at `info`.
public struct AccessLogMiddleware: Middleware {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func respond(to request: Request, next: Responder) async throws -> Response {
        let start = Self.monotonicNanoseconds()
        let response = try await next(request)
        if logger.logLevel <= .info {
            let micros = (Self.monotonicNanoseconds() - start) / 1000
            let millis =
                "\(micros / 1000).\(String(repeating: "0", count: 3 - String(micros % 1000).count))\(micros % 1000)"
            logger.info(
                "request",
                metadata: [
                    "method": "\(request.method)",
                    "path": "\(request.path)",
                    "status": "\(response.status.code)",
                    "duration_ms": "\(millis)",
                    "request_id": "\(request.id)",
                    "remote_addr": "\(request.remoteAddress)",
                ])
        }
        return response
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
