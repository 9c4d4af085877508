// Who made a request: from a verified token or from the platform's proxy headers.

/// The authenticated caller of a request, put on it by ``AuthMiddleware``.
///
/// ```swift
/// users.get("/me", auth: .accessToken(allowProxy: true)) { request in
///     let identity = request.identity!
///     return .json(["id": .string(identity.id), "auth": .string(identity.method.rawValue)])
/// }
/// ```
public struct Identity: Sendable, Equatable {
    /// How the caller was identified; the `auth` member of `GET /api/users/me`.
    public enum Method: String, Sendable, Equatable {
        /// A bearer token (`Authorization: Bearer ...`).
        case jwt
        /// The trusted platform proxy's `X-Replit-User-*` headers.
        case proxy
    }

    /// The user id: the token's `sub`, or `X-Replit-User-Id`.
    public var id: String
    /// The user name: the token's `name`, or `X-Replit-User-Name` (empty if absent).
    public var name: String
    public var roles: [String]
    public var method: Method
    /// Every claim of the verified token (`jti`, `exp`, `type`...); nil for proxy identities.
    public var claims: JSONObject?

    public init(id: String, name: String, roles: [String], method: Method, claims: JSONObject? = nil) {
        self.id = id
        self.name = name
        self.roles = roles
        self.method = method
        self.claims = claims
    }

    /// True if the identity holds `role` (exact, case-sensitive match).
    public func hasRole(_ role: String) -> Bool { roles.contains(role) }

    /// The token's `jti`, the id that logout revokes; nil for proxy identities.
    public var tokenID: String? { claims?["jti"]?.stringValue }

    /// The token's `type`; nil for proxy identities.
    public var tokenType: TokenType? { claims?["type"]?.stringValue.flatMap(TokenType.init(rawValue:)) }

    /// The token's `exp` in seconds since the epoch; nil for proxy identities.
    public var expiresAt: Int64? {
        if case .integer(let value)? = claims?["exp"] { return value }
        return nil
    }
}

/// Where ``AuthMiddleware`` keeps the identity on the request.
public enum IdentityKey: RequestStorageKey {
    public typealias Value = Identity
}

extension Request {
    /// The authenticated caller, if ``AuthMiddleware`` identified one for this route.
    public var identity: Identity? {
        get { storage[IdentityKey.self] }
        set { storage[IdentityKey.self] = newValue }
    }
}
