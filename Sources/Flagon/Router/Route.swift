// One registered route: method, pattern, handler and what documentation needs to know.

/// The async function that answers a request.
public typealias Responder = @Sendable (Request) async throws -> Response

/// A route as the router stores it.
///
/// A class, immutable once registered: a request carries its matched route through every
/// stage, and one reference is cheaper to pass along than a struct of a dozen.
public final class Route: Sendable {
    public let method: HTTPMethod
    public let pattern: PathPattern
    public let metadata: RouteMetadata
    /// The handler wrapped in its blueprint's middleware.
    let responder: Responder

    public init(method: HTTPMethod, pattern: PathPattern, metadata: RouteMetadata, responder: @escaping Responder) {
        self.method = method
        self.pattern = pattern
        self.metadata = metadata
        self.responder = responder
    }
}

/// What a route declares about itself, for middleware (auth, limits) and documentation.
public struct RouteMetadata: Sendable {
    /// The endpoint name, `blueprint.function` as Flask names it.
    public var name: String
    /// The OpenAPI `operationId`, unique in the document: camelCase, `listTasks`, so that
    /// generated clients name their methods after it. By default the endpoint name in
    /// camelCase, `tasks.get_by_id` as `tasksGetById`.
    public var operationId: String
    public var summary: String
    /// The blueprint the route came from; also its OpenAPI tag.
    public var blueprint: String
    /// The authentication ``AuthMiddleware`` applies; ``AuthRequirement/none`` by default.
    public var auth: AuthRequirement = .none
    /// The route's own limits for ``RateLimitMiddleware``, replacing the default ones;
    /// nil uses the default, an empty list exempts the route.
    public var rateLimit: [RateLimit]?
    /// The JSON body the route reads, for documentation (and its `400`, `413`, `415`).
    public var body: ObjectSchema?
    /// The query parameters the route reads, for documentation (and its `400`).
    public var query: ObjectSchema?
    /// What the route answers on success; nil documents a plain `200`.
    public var response: RouteResponse?
    /// Error statuses the route answers beyond those its declarations imply (`409`, say).
    public var errors: [HTTPStatus]
    /// Whether the route sends a strong `ETag` and honours `If-None-Match` (`304` on `GET`)
    /// and `If-Match` (`412` on writes).
    public var etag: Bool
    /// Whether the route may run while the worker keeps a round of writes open
    /// (``WriteSync``): a short write whose store joins the round. Before any other route's
    /// handler the round is committed, so a slow request never holds the write lock.
    public var joinsWriteRound: Bool

    public init(
        name: String = "", operationId: String? = nil, summary: String = "", blueprint: String = "",
        auth: AuthRequirement = .none,
        rateLimit: [RateLimit]? = nil, body: ObjectSchema? = nil, query: ObjectSchema? = nil,
        response: RouteResponse? = nil, errors: [HTTPStatus] = [], etag: Bool = false, joinsWriteRound: Bool = false
    ) {
        self.name = name
        self.operationId = operationId ?? Self.camelCase(name)
        self.summary = summary
        self.blueprint = blueprint
        self.auth = auth
        self.rateLimit = rateLimit
        self.body = body
        self.query = query
        self.response = response
        self.errors = errors
        self.etag = etag
        self.joinsWriteRound = joinsWriteRound
    }

    /// `tasks.get_by_id` as `tasksGetById`: every word after the first capitalised.
    static func camelCase(_ name: String) -> String {
        let words = name.split(whereSeparator: { $0 == "." || $0 == "_" })
        guard let first = words.first else { return "" }
        return String(first) + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
