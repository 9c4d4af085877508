// What a route demands of its caller: nothing, a token of some type, a role, or proxy identity.

/// The authentication a route declares, applied by ``AuthMiddleware``.
///
/// | requirement | accepts | for |
/// |---|---|---|
/// | ``none`` | everyone; credentials are not even looked at | public routes |
/// | ``optional`` | everyone; identifies by access token or proxy headers when present | `GET /` |
/// | ``accessToken`` | an access token | `GET /api/protected` |
/// | ``accessToken(role:allowProxy:)`` | an access token (or proxy identity) with the role | `GET /api/users` |
/// | ``refreshToken`` | a refresh token only | `POST /api/auth/refresh` |
/// | ``anyToken`` | an access or a refresh token | `POST /api/auth/logout` |
///
/// ```swift
/// api.get("/users/me", auth: .accessToken(allowProxy: true)) { request in ... }
/// api.get("/users", auth: .accessToken(role: "admin")) { request in ... }
/// api.post("/auth/refresh", auth: .refreshToken) { request in ... }
/// ```
public struct AuthRequirement: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case none
        case optional
        case token(Set<TokenType>)
    }

    let kind: Kind
    /// The role the caller must hold, else `403`.
    public let role: String?
    /// Whether the platform proxy's identity headers are accepted in place of a token
    /// (only when ``AuthMiddleware`` trusts them).
    public let allowsProxy: Bool

    private init(kind: Kind, role: String? = nil, allowsProxy: Bool = false) {
        self.kind = kind
        self.role = role
        self.allowsProxy = allowsProxy
    }

    /// No authentication: the middleware does no work at all for the route.
    public static let none = AuthRequirement(kind: .none)

    /// Identifies the caller when a valid access token or (trusted) proxy identity is
    /// present, and never rejects: a missing or invalid token just leaves
    /// ``Request/identity`` nil.
    public static let optional = AuthRequirement(kind: .optional, allowsProxy: true)

    /// A valid, unrevoked access token.
    public static let accessToken = AuthRequirement(kind: .token([.access]))

    /// A valid, unrevoked access token, or with `allowProxy` a trusted proxy identity, whose
    /// roles include `role` when one is given.
    public static func accessToken(role: String? = nil, allowProxy: Bool = false) -> AuthRequirement {
        AuthRequirement(kind: .token([.access]), role: role, allowsProxy: allowProxy)
    }

    /// A valid, unrevoked refresh token, and nothing else.
    public static let refreshToken = AuthRequirement(kind: .token([.refresh]))

    /// A valid, unrevoked token of either type (logout revokes whichever is sent).
    public static let anyToken = AuthRequirement(kind: .token([.access, .refresh]))
}
