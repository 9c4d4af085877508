// A freshly signed token with the facts the login response and revocation need.

/// A token ``TokenIssuer`` signed, with its id and lifetime.
///
/// ```swift
/// let access = issuer.issue(.access, subject: "42", name: "alice", roles: [])
/// Response.json(["access_token": .string(access.token), "expires_in": .integer(access.expiresIn)])
/// ```
public struct IssuedToken: Sendable, Equatable {
    /// The compact JWS to hand to the client.
    public let token: String
    /// The token's `jti`: 32 lower-case hex digits (128 random bits).
    public let id: String
    public let type: TokenType
    /// `iat` and `nbf`, in seconds since the epoch.
    public let issuedAt: Int64
    /// `exp`, in seconds since the epoch.
    public let expiresAt: Int64

    /// Seconds from issue to expiry: the `expires_in` of the login response.
    public var expiresIn: Int64 { expiresAt - issuedAt }

    public init(token: String, id: String, type: TokenType, issuedAt: Int64, expiresAt: Int64) {
        self.token = token
        self.id = id
        self.type = type
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}
