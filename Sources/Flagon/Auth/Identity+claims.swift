// Building an identity from the claims of a verified token (API contract section 4).

extension Identity {
    /// The identity a verified token's claims describe.
    ///
    /// Requires `sub` (a non-empty string), `jti` (a non-empty string: what logout
    /// revokes) and `type` (`access` or `refresh`); `name` must be a string and `roles` an
    /// array of strings when present.
    ///
    /// ```swift
    /// let identity = try Identity(claims: signer.verify(token, now: UnixTime.now()))
    /// ```
    public init(claims: JSONObject) throws(JWTError) {
        guard let subject = claims["sub"] else { throw .missingClaim("sub") }
        guard case .string(let id) = subject, !id.isEmpty else { throw .invalidClaim("sub") }
        guard let tokenID = claims["jti"] else { throw .missingClaim("jti") }
        guard case .string(let jti) = tokenID, !jti.isEmpty else { throw .invalidClaim("jti") }
        guard let type = claims["type"] else { throw .missingClaim("type") }
        guard case .string(let typeName) = type, TokenType(rawValue: typeName) != nil else {
            throw .invalidClaim("type")
        }
        var name = ""
        if let value = claims["name"] {
            guard case .string(let text) = value else { throw .invalidClaim("name") }
            name = text
        }
        var roles: [String] = []
        if let value = claims["roles"] {
            guard case .array(let items) = value else { throw .invalidClaim("roles") }
            for item in items {
                guard case .string(let role) = item else { throw .invalidClaim("roles") }
                roles.append(role)
            }
        }
        self.init(id: id, name: name, roles: roles, method: .jwt, claims: claims)
    }
}
