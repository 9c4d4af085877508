// Blueprints: groups of routes under a URL prefix with their own middleware.

/// A group of routes registered together under a URL prefix, as Flask's blueprints.
///
/// ```swift
/// let meta = Blueprint("meta", prefix: "/api")
/// meta.get("/hello", summary: "Greeting") { _ in .json(["message": "Hello, World!"]) }
/// app.register(meta)
/// ```
public final class Blueprint {
    public let name: String
    public let prefix: String
    public private(set) var routes: [Route] = []
    public private(set) var middleware: [any Middleware] = []
    /// Whether the `POST`, `PUT`, `PATCH` and `DELETE` routes registered from now on may join
    /// the round of writes a worker keeps open (``RouteMetadata/joinsWriteRound``): set by
    /// blueprints whose writes are short and whose stores join rounds.
    public var writesJoinRounds = false

    /// - Parameters:
    ///   - name: The blueprint's name; prefixes endpoint names and tags documentation.
    ///   - prefix: A URL prefix such as `/api`, prepended to every route path.
    public init(_ name: String, prefix: String = "") {
        self.name = name
        self.prefix = prefix
    }

    /// Adds middleware that runs, in order, around every route of this blueprint.
    public func use(_ middleware: any Middleware) {
        self.middleware.append(middleware)
    }

    /// Registers a handler for a method and path (relative to the prefix).
    ///
    /// - Parameters:
    ///   - operationId: The OpenAPI `operationId`, camelCase (`listTasks`); by default the
    ///     endpoint name in camelCase.
    ///   - auth: What ``AuthMiddleware`` requires of the caller, such as
    ///     `.accessToken(role: "admin")`; nothing by default.
    ///   - limit: The route's own rate limits, replacing the default ones (flask-limiter's
    ///     `@limiter.limit`); `[]` exempts the route; nil (the default) uses the default limits.
    ///   - body: The JSON body's schema, for the OpenAPI document (flask-smorest's `@blp.arguments`).
    ///   - query: The query parameters' schema, for the OpenAPI document.
    ///   - response: The success response, for the OpenAPI document (`@blp.response`).
    ///   - errors: Error statuses to document beyond those the other declarations imply.
    ///   - etag: Whether the route sends an `ETag` and honours conditional headers.
    public func route(
        _ method: HTTPMethod, _ path: String, name: String? = nil, operationId: String? = nil, summary: String = "",
        auth: AuthRequirement = .none, limit: [RateLimit]? = nil, body: ObjectSchema? = nil,
        query: ObjectSchema? = nil, response: RouteResponse? = nil, errors: [HTTPStatus] = [], etag: Bool = false,
        handler: @escaping Responder
    ) {
        let fullPath = prefix + (path == "/" && !prefix.isEmpty ? "" : path)
        let pattern = PathPattern(fullPath.isEmpty ? "/" : fullPath)
        let endpoint = "\(self.name).\(name ?? Self.defaultName(method: method, path: path))"
        routes.append(
            Route(
                method: method, pattern: pattern,
                metadata: RouteMetadata(
                    name: endpoint, operationId: operationId, summary: summary, blueprint: self.name, auth: auth,
                    rateLimit: limit,
                    body: body, query: query, response: response, errors: errors, etag: etag,
                    joinsWriteRound: writesJoinRounds && [.post, .put, .patch, .delete].contains(method)),
                responder: handler))
    }

    public func get(
        _ path: String, name: String? = nil, operationId: String? = nil, summary: String = "",
        auth: AuthRequirement = .none,
        limit: [RateLimit]? = nil, body: ObjectSchema? = nil, query: ObjectSchema? = nil,
        response: RouteResponse? = nil, errors: [HTTPStatus] = [], etag: Bool = false, handler: @escaping Responder
    ) {
        route(
            .get, path, name: name, operationId: operationId, summary: summary, auth: auth, limit: limit, body: body,
            query: query,
            response: response, errors: errors, etag: etag, handler: handler)
    }

    public func post(
        _ path: String, name: String? = nil, operationId: String? = nil, summary: String = "",
        auth: AuthRequirement = .none,
        limit: [RateLimit]? = nil, body: ObjectSchema? = nil, query: ObjectSchema? = nil,
        response: RouteResponse? = nil, errors: [HTTPStatus] = [], etag: Bool = false, handler: @escaping Responder
    ) {
        route(
            .post, path, name: name, operationId: operationId, summary: summary, auth: auth, limit: limit, body: body,
            query: query,
            response: response, errors: errors, etag: etag, handler: handler)
    }

    public func put(
        _ path: String, name: String? = nil, operationId: String? = nil, summary: String = "",
        auth: AuthRequirement = .none,
        limit: [RateLimit]? = nil, body: ObjectSchema? = nil, query: ObjectSchema? = nil,
        response: RouteResponse? = nil, errors: [HTTPStatus] = [], etag: Bool = false, handler: @escaping Responder
    ) {
        route(
            .put, path, name: name, operationId: operationId, summary: summary, auth: auth, limit: limit, body: body,
            query: query,
            response: response, errors: errors, etag: etag, handler: handler)
    }

    public func patch(
        _ path: String, name: String? = nil, operationId: String? = nil, summary: String = "",
        auth: AuthRequirement = .none,
        limit: [RateLimit]? = nil, body: ObjectSchema? = nil, query: ObjectSchema? = nil,
        response: RouteResponse? = nil, errors: [HTTPStatus] = [], etag: Bool = false, handler: @escaping Responder
    ) {
        route(
            .patch, path, name: name, operationId: operationId, summary: summary, auth: auth, limit: limit, body: body,
            query: query,
            response: response, errors: errors, etag: etag, handler: handler)
    }

    public func delete(
        _ path: String, name: String? = nil, operationId: String? = nil, summary: String = "",
        auth: AuthRequirement = .none,
        limit: [RateLimit]? = nil, body: ObjectSchema? = nil, query: ObjectSchema? = nil,
        response: RouteResponse? = nil, errors: [HTTPStatus] = [], etag: Bool = false, handler: @escaping Responder
    ) {
        route(
            .delete, path, name: name, operationId: operationId, summary: summary, auth: auth, limit: limit, body: body,
            query: query,
            response: response, errors: errors, etag: etag, handler: handler)
    }

    /// The routes with this blueprint's middleware wrapped around each handler.
    var wrappedRoutes: [Route] {
        routes.map { route in
            Route(
                method: route.method, pattern: route.pattern, metadata: route.metadata,
                responder: chain(middleware, around: route.responder))
        }
    }

    static func defaultName(method: HTTPMethod, path: String) -> String {
        let words = path.split(separator: "/").map { part -> String in
            part.hasPrefix("{") ? "by_" + part.dropFirst().prefix { $0 != ":" && $0 != "}" } : String(part)
        }
        return ([method.rawValue.lowercased()] + words).joined(separator: "_")
    }
}
