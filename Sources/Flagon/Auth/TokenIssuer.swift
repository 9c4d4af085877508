// Builds and signs the access and refresh tokens of the API contract (section 4).

/// Issues tokens with the claims ``AuthMiddleware`` expects: `sub`, `name`, `roles`,
/// `type`, `jti`, `iat`, `nbf` and `exp`.
///
/// ```swift
/// let issuer = TokenIssuer(signer: JWTSigner(secret: jwtSecret), accessLifetime: 900, refreshLifetime: 2_592_000)
/// let access = issuer.issue(.access, subject: String(user.id), name: user.username, roles: user.roles)
/// let refresh = issuer.issue(.refresh, subject: String(user.id), name: user.username, roles: user.roles)
/// ```
public struct TokenIssuer: Sendable {
    public let signer: JWTSigner
    /// Seconds an access token lives (`JWT_ACCESS_TOKEN_EXPIRES`, 900 by default).
    public let accessLifetime: Int64
    /// Seconds a refresh token lives (`JWT_REFRESH_TOKEN_EXPIRES`, 30 days by default).
    public let refreshLifetime: Int64

    public init(signer: JWTSigner, accessLifetime: Int64 = 900, refreshLifetime: Int64 = 30 * 24 * 3600) {
        precondition(accessLifetime > 0 && refreshLifetime > 0, "token lifetimes must be positive")
        self.signer = signer
        self.accessLifetime = accessLifetime
        self.refreshLifetime = refreshLifetime
    }

    /// Signs a new token of `type` for a user.
    ///
    /// - Parameters:
    ///   - subject: The user id as a string (`sub`).
    ///   - name: The user name (`name`).
    ///   - roles: The user's roles (`roles`).
    ///   - now: The issue time (`iat` and `nbf`); `exp` is `now` plus the type's lifetime.
    public func issue(
        _ type: TokenType, subject: String, name: String, roles: [String], now: Int64 = UnixTime.now()
    ) -> IssuedToken {
        let id = Self.randomTokenID()
        let expiresAt = now + (type == .access ? accessLifetime : refreshLifetime)
        let claims = JSONObject([
            ("sub", .string(subject)),
            ("name", .string(name)),
            ("roles", .array(roles.map { .string($0) })),
            ("type", .string(type.rawValue)),
            ("jti", .string(id)),
            ("iat", .integer(now)),
            ("nbf", .integer(now)),
            ("exp", .integer(expiresAt)),
        ])
        return IssuedToken(token: signer.sign(claims: claims), id: id, type: type, issuedAt: now, expiresAt: expiresAt)
    }

    /// 128 bits from the system's CSPRNG as 32 lower-case hex digits: a `jti` must not be
    /// guessable, or a client could revoke another's token.
    static func randomTokenID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for _ in 0..<2 {
            let word = generator.next() as UInt64
            for shift in stride(from: 60, through: 0, by: -4) { out.append(digits[Int(word >> UInt64(shift) & 0xF)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
