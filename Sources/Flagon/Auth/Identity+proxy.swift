// Building an identity from the platform proxy's headers (API contract section 5).

extension Identity {
    /// The identity the `X-Replit-User-*` headers describe, or nil without a non-empty
    /// `X-Replit-User-Id`.
    ///
    /// `X-Replit-User-Roles` is comma separated; items are trimmed of spaces and tabs and
    /// empty ones dropped. A missing `X-Replit-User-Name` gives an empty name. Only call this
    /// when a trusted proxy sets these headers and strips the client's own
    /// (``AuthMiddleware`` does so only with `trustProxyHeaders: true`).
    ///
    /// ```swift
    /// Identity(proxyHeaders: ["X-Replit-User-Id": "7", "X-Replit-User-Roles": "admin, ops"])?.roles
    /// // ["admin", "ops"]
    /// ```
    public init?(proxyHeaders headers: HTTPHeaders) {
        guard let id = headers["X-Replit-User-Id"], !id.isEmpty else { return nil }
        let roles = (headers["X-Replit-User-Roles"] ?? "").split(separator: ",").map(Self.trimmed).filter {
            !$0.isEmpty
        }
        self.init(id: id, name: headers["X-Replit-User-Name"] ?? "", roles: roles.map(String.init), method: .proxy)
    }

    private static func trimmed(_ item: Substring) -> Substring {
        var item = item
        while let first = item.first, first == " " || first == "\t" { item.removeFirst() }
        while let last = item.last, last == " " || last == "\t" { item.removeLast() }
        return item
    }
}
