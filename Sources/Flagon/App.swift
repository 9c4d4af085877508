// The application: routes, middleware, and the one entry point every transport calls.

import Logging

/// A web application: a route table wrapped in middleware.
///
/// The FastCGI worker and the in-memory ``TestClient`` both call ``handle(_:)``, so tests
/// exercise exactly the code that production runs.
///
/// ```swift
/// var app = App(logger: logger)
/// app.register(blueprint)
/// let response = await app.handle(Request(method: .get, target: "/api/hello"))
/// ```
public struct App: Sendable {
    public let logger: Logger
    public private(set) var router = Router()
    /// The largest request body accepted (`MAX_CONTENT_LENGTH`); larger ones get `413`,
    /// decided from the declared `Content-Length` before the body is read.
    public var maxContentLength: Int = 1 << 20 {
        didSet { rebuild() }
    }
    private var middleware: [any Middleware]
    private var responder: Responder

    /// Creates an application with the standard outer stages: request id and security
    /// headers, the access log, and error handling.
    public init(logger: Logger) {
        self.logger = logger
        self.middleware = [
            RequestIDMiddleware(), AccessLogMiddleware(logger: logger), ErrorMiddleware(logger: logger),
        ]
        self.responder = { _ in throw HTTPError.notFound }
        rebuild()
    }

    /// Adds application-wide middleware inside the standard stages, after those added before.
    public mutating func use(_ middleware: any Middleware) {
        self.middleware.append(middleware)
        rebuild()
    }

    /// Registers every route of a blueprint.
    public mutating func register(_ blueprint: Blueprint) {
        for route in blueprint.wrappedRoutes { router.add(route) }
    }

    /// Answers a request. Never throws: every failure is already an error response here.
    public func handle(_ request: Request) async -> Response {
        await handleRouted(request).response
    }

    /// ``handle(_:)``, and the position in ``Router/routes`` of the route that answered
    /// (nil when none matched): the key of the transport's per-route counters.
    public func handleRouted(_ request: Request) async -> (response: Response, routeIndex: Int?) {
        var request = request
        var routingError: HTTPError?
        var routeIndex: Int?
        switch router.resolve(method: request.method, path: request.path) {
        case .matched(let route, let parameters):
            routeIndex = router.index(of: route)
            request.route = route
            request.parameters = parameters
        case .notFound:
            routingError = .notFound
        case .methodNotAllowed(let allow):
            routingError = .methodNotAllowed(allow: allow)
        case .automaticOptions(let allow):
            request.storage[AutomaticOptionsKey.self] = allow
        }
        // Only a short write may run inside the round of writes a worker keeps open; any other
        // request commits it first, so that a slow one (a login's Argon2id, a long list, a
        // stopped worker) never holds other workers' writes.
        if request.route?.metadata.joinsWriteRound != true { WriteSync.batch?.endRound() }
        if let transportError = request.transportError { routingError = transportError }
        if let routingError { request.storage[RoutingErrorKey.self] = routingError }
        var response: Response
        do {
            response = try await responder(request)
        } catch {
            // ErrorMiddleware catches everything; this is only reached if it was removed.
            response = HTTPError(.internalServerError).response
        }
        if request.method == .head {
            response.headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
            response.body = []
        }
        return (response, routeIndex)
    }

    /// The application's rate limiter, if it has one; the OpenAPI document documents its `429`.
    var rateLimiter: RateLimitMiddleware? {
        middleware.lazy.compactMap { $0 as? RateLimitMiddleware }.first
    }

    private mutating func rebuild() {
        responder = chain(middleware, around: Self.dispatch(maxContentLength: maxContentLength))
    }

    /// The innermost stage: the matched route's handler, or the routing outcome.
    private static func dispatch(maxContentLength: Int) -> Responder {
        { request in
            if let error = request.storage[RoutingErrorKey.self] { throw error }
            if let declared = request.headers["Content-Length"], let length = Int(declared),
                length > maxContentLength
            {
                throw HTTPError(
                    .contentTooLarge,
                    message: "The request body is larger than the limit of \(maxContentLength) bytes.")
            }
            return try await dispatchRoute(request)
        }
    }

    private static func dispatchRoute(_ request: Request) async throws -> Response {
        if let allow = request.storage[AutomaticOptionsKey.self] {
            return .empty(
                status: .noContent, headers: ["Allow": allow.map(\.rawValue).joined(separator: ", ")])
        }
        guard let route = request.route else { throw HTTPError.notFound }
        return try await route.responder(request)
    }
}

/// The 404/405 a request resolved to, for middleware that wants to know before dispatch.
public enum RoutingErrorKey: RequestStorageKey {
    public typealias Value = HTTPError
}

enum AutomaticOptionsKey: RequestStorageKey {
    typealias Value = [HTTPMethod]
}
