// One structured access-log line per request.

import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Logs method, path, status, duration and request id of every request at `info`.
///
/// Through the service's own ``LogfmtLogHandler`` the line is written directly, its fields
/// already in key order; any other handler gets the same fields as swift-log metadata.
public struct AccessLogMiddleware: Middleware {
    let logger: Logger
    /// The logger's handler when it is a ``LogfmtLogHandler`` without metadata of its own.
    let logfmt: LogfmtLogHandler?

    public init(logger: Logger) {
        self.logger = logger
        let handler = logger.handler as? LogfmtLogHandler
        self.logfmt = handler?.metadata.isEmpty == true ? handler : nil
    }

    public func respond(to request: Request, next: Responder) async throws -> Response {
        let start = Self.monotonicNanoseconds()
        let response = try await next(request)
        if logger.logLevel <= .info {
            let micros = (Self.monotonicNanoseconds() - start) / 1000
            if let logfmt {
                logfmt.writeLine(level: .info, message: "request") { fields in
                    fields.append("duration_ms", milliseconds: micros)
                    fields.append("method", request.method.rawValue)
                    fields.append("path", request.path)
                    fields.append("remote_addr", request.remoteAddress)
                    fields.append("request_id", request.id)
                    fields.append("status", response.status.code)
                }
            } else {
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
        }
        return response
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
