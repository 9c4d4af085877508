// Cross-origin access for configured origins (flask-cors's `resources={r"/api/*": ...}`).

/// Adds CORS headers to responses under a path prefix (`/api/`) for configured origins.
///
/// - An allowed `Origin` (exact match) gets `Access-Control-Allow-Origin: <origin>` and
///   `Access-Control-Expose-Headers` on every response, errors included: errors thrown by
///   inner stages (401, 404, 429...) are turned into their responses here so they carry the
///   headers too. (An unexpected error still becomes a bare `500` in ``ErrorMiddleware``.)
/// - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an
///   allowed origin is answered `204` here, before rate limiting and authentication, with
///   the allowed methods, headers and max age. The requested method is not checked: the
///   browser compares it with `Access-Control-Allow-Methods`.
/// - A refused origin gets no `Access-Control-*` header at all; its preflight goes on like
///   any `OPTIONS` request (the automatic `204` with `Allow`, or `404`), which the browser
///   treats as a refusal.
/// - While any origin is configured, responses under the prefix carry `Vary: Origin`, so
///   shared caches never serve one origin's answer to another. With no origins configured
///   the stage does nothing: no cross-origin access at all.
///
/// ```swift
/// app.use(CORSMiddleware(allowedOrigins: ["https://app.example"]))
/// ```
public struct CORSMiddleware: Middleware {
    public static let defaultExposedHeaders = [
        "Location", "X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
        "Retry-After", "ETag",
    ]

    let allowedOrigins: Set<String>
    let pathPrefix: String
    let allowMethods: String
    let allowHeaders: String
    let exposeHeaders: String
    let maxAge: String

    /// - Parameters:
    ///   - allowedOrigins: Origins allowed, compared exactly (`CORS_ORIGINS`); empty allows none.
    ///   - pathPrefix: Only paths starting with this get CORS handling.
    ///   - allowedMethods: Sent in `Access-Control-Allow-Methods` on preflights.
    ///   - allowedHeaders: Sent in `Access-Control-Allow-Headers` on preflights.
    ///   - exposedHeaders: Response headers scripts of an allowed origin may read.
    ///   - maxAge: Seconds a browser may cache a preflight answer.
    public init(
        allowedOrigins: [String], pathPrefix: String = "/api/",
        allowedMethods: [HTTPMethod] = [.get, .post, .put, .patch, .delete],
        allowedHeaders: [String] = ["Content-Type", "Authorization"],
        exposedHeaders: [String] = CORSMiddleware.defaultExposedHeaders, maxAge: Int = 600
    ) {
        self.allowedOrigins = Set(allowedOrigins)
        self.pathPrefix = pathPrefix
        self.allowMethods = allowedMethods.map(\.rawValue).joined(separator: ", ")
        self.allowHeaders = allowedHeaders.joined(separator: ", ")
        self.exposeHeaders = exposedHeaders.joined(separator: ", ")
        self.maxAge = String(maxAge)
    }

    public func respond(to request: Request, next: Responder) async throws -> Response {
        guard !allowedOrigins.isEmpty, request.path.hasPrefix(pathPrefix) else { return try await next(request) }
        let origin = request.headers["Origin"].flatMap { allowedOrigins.contains($0) ? $0 : nil }

        if let origin, request.method == .options, request.headers.contains("Access-Control-Request-Method") {
            var response = Response.empty(status: .noContent)
            response.headers.add(name: "Access-Control-Allow-Origin", value: origin)
            response.headers.add(name: "Access-Control-Allow-Methods", value: allowMethods)
            response.headers.add(name: "Access-Control-Allow-Headers", value: allowHeaders)
            response.headers.add(name: "Access-Control-Max-Age", value: maxAge)
            Self.addVaryOrigin(to: &response)
            return response
        }

        var response = try await responseIncludingErrors(of: next, for: request)
        if let origin {
            response.headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: origin)
            response.headers.replaceOrAdd(name: "Access-Control-Expose-Headers", value: exposeHeaders)
        }
        Self.addVaryOrigin(to: &response)
        return response
    }

    /// Adds `Origin` to `Vary`, keeping what is there.
    static func addVaryOrigin(to response: inout Response) {
        let current = response.headers.values(for: "Vary")
        let names = current.flatMap { $0.split(separator: ",") }.map { String($0).trimmed }
        if names.contains(where: { $0 == "*" || HTTPHeaders.namesMatch($0, "Origin") }) { return }
        response.headers.replaceOrAdd(name: "Vary", value: (names + ["Origin"]).joined(separator: ", "))
    }
}
