// Turns thrown errors into the JSON error body; unexpected ones into a 500 that reveals nothing.

import Logging

/// Catches every error from the stages inside it.
///
/// An ``HTTPResponseError`` (``HTTPError`` or a domain error) becomes its own response.
/// Anything else is logged with the request id and answered with a plain `500` body, so no
/// stack trace, SQL, path or secret reaches a client.
public struct ErrorMiddleware: Middleware {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func respond(to request: Request, next: Responder) async throws -> Response {
        do {
            return try await responseIncludingErrors(of: next, for: request)
        } catch {
            logger.error(
                "unhandled error",
                metadata: [
                    "request_id": "\(request.id)", "method": "\(request.method)", "path": "\(request.path)",
                    "error": "\(String(reflecting: error))",
                ])
            return HTTPError(.internalServerError).response
        }
    }
}
