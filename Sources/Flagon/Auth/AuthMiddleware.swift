// Applies each route's AuthRequirement: bearer tokens, proxy identity, roles, revocation.

/// Authenticates requests to routes that declare an ``AuthRequirement`` and puts the
/// ``Identity`` on the request for the handler.
///
/// - A token comes from `Authorization: Bearer <token>` (scheme case-insensitive). It must
///   verify with the ``JWTSigner``, carry the claims of ``Identity/init(claims:)``, be of a
///   type the route accepts, and not be revoked (`isRevoked`, asked last: it may cost a
///   database query).
/// - With `trustProxyHeaders`, routes that allow it also accept the platform proxy's
///   `X-Replit-User-*` headers (``Identity/init(proxyHeaders:)``); a bearer token, when
///   sent, takes precedence. Without it those headers are ignored entirely.
/// - No credentials: `401` with `WWW-Authenticate: Bearer`. A token (or any
///   `Authorization` header) that is not accepted: `401` with
///   `WWW-Authenticate: Bearer error="invalid_token", error_description="..."`. A caller
///   without the route's role: `403`. Messages never repeat the token.
/// - Routes with ``AuthRequirement/none``, unmatched requests and requests that already
///   failed routing pass straight through.
///
/// ```swift
/// var app = App(logger: logger)
/// let signer = JWTSigner(secret: config.jwtSecretKey)
/// app.use(
///     AuthMiddleware(signer: signer, trustProxyHeaders: config.trustProxyAuth) { jti in
///         try await revocations.contains(jti)
///     })
/// let api = Blueprint("api", prefix: "/api")
/// api.get("/protected", auth: .accessToken) { request in
///     .json(["user": .string(request.identity!.name)])
/// }
/// app.register(api)
/// ```
public struct AuthMiddleware: Middleware {
    /// Answers whether a token id (`jti`) has been revoked; may query shared storage.
    public typealias RevocationCheck = @Sendable (String) async throws -> Bool

    let signer: JWTSigner
    let trustProxyHeaders: Bool
    let now: @Sendable () -> Int64
    let isRevoked: RevocationCheck

    /// - Parameters:
    ///   - signer: Verifies bearer tokens.
    ///   - trustProxyHeaders: Accept `X-Replit-User-*` identity (`TRUST_PROXY_AUTH`); only
    ///     safe when the front end strips those headers from clients.
    ///   - now: The clock for `exp`, `nbf` and `iat`, in seconds since the epoch.
    ///   - isRevoked: Whether a `jti` has been revoked. Its errors propagate (a `500`),
    ///     since a token must not pass when revocation cannot be checked.
    public init(
        signer: JWTSigner, trustProxyHeaders: Bool = false, now: @escaping @Sendable () -> Int64 = UnixTime.now,
        isRevoked: @escaping RevocationCheck
    ) {
        self.signer = signer
        self.trustProxyHeaders = trustProxyHeaders
        self.now = now
        self.isRevoked = isRevoked
    }

    public func respond(to request: Request, next: Responder) async throws -> Response {
        guard let requirement = request.route?.metadata.auth, requirement.kind != .none,
            request.storage[RoutingErrorKey.self] == nil
        else { return try await next(request) }
        var request = request
        switch requirement.kind {
        case .none:
            break
        case .optional:
            if case .identified(let identity) = try await authenticate(request, types: [.access], allowsProxy: true) {
                request.identity = identity
            }
        case .token(let types):
            switch try await authenticate(request, types: types, allowsProxy: requirement.allowsProxy) {
            case .identified(let identity):
                if let role = requirement.role, !identity.hasRole(role) {
                    throw HTTPError(.forbidden, message: "This resource requires the \(role) role.")
                }
                request.identity = identity
            case .missing:
                throw HTTPError(
                    .unauthorized, message: "Missing or invalid authorization.",
                    headers: ["WWW-Authenticate": "Bearer"])
            case .rejected(let reason):
                throw HTTPError(
                    .unauthorized, message: reason,
                    headers: ["WWW-Authenticate": #"Bearer error="invalid_token", error_description="\#(reason)""#])
            }
        }
        return try await next(request)
    }

    private enum Outcome {
        case identified(Identity)
        case missing
        /// A short reason safe for clients, without `"` or `\`.
        case rejected(String)
    }

    private func authenticate(_ request: Request, types: Set<TokenType>, allowsProxy: Bool) async throws -> Outcome {
        // One pass over the fields, no array of values: a request has one at most.
        var authorization: String?
        for field in request.headers where HTTPHeaders.namesMatch(field.name, "Authorization") {
            if authorization != nil { return .rejected("Send one Authorization header.") }
            authorization = field.value
        }
        if let authorization {
            guard let token = Self.bearerToken(authorization) else {
                return .rejected("The Authorization header must be a Bearer token.")
            }
            let identity: Identity
            do throws(JWTError) {
                identity = try Identity(claims: signer.verify(token, now: now()))
            } catch {
                return .rejected(error.description)
            }
            guard let type = identity.tokenType, types.contains(type) else {
                return .rejected(JWTError.wrongType(expected: types.contains(.access) ? .access : .refresh).description)
            }
            if try await isRevoked(identity.tokenID ?? "") { return .rejected(JWTError.revoked.description) }
            return .identified(identity)
        }
        if allowsProxy, trustProxyHeaders, let identity = Identity(proxyHeaders: request.headers) {
            return .identified(identity)
        }
        return .missing
    }

    /// The credentials of `Bearer <token>` (scheme in any case, one or more spaces), or nil.
    static func bearerToken(_ authorization: String) -> String? {
        var authorization = authorization
        // nil: the token is not plain ASCII, for the general check.
        let plain = authorization.withUTF8 { bytes -> String?? in
            guard let space = bytes.firstIndex(of: UInt8(ascii: " ")), space == 6,
                HTTPHeaders.namesMatch(String(decoding: bytes[..<space], as: UTF8.self), "Bearer")
            else { return .some(nil) }
            var start = space
            while start < bytes.count, bytes[start] == UInt8(ascii: " ") { start += 1 }
            guard start < bytes.count else { return .some(nil) }
            // In ASCII the only white space is these six characters, so the token is checked
            // byte by byte; other text goes through the general check, per Character.
            for byte in bytes[start...] {
                // Printable ASCII other than space, all of a token's characters: one test.
                if byte &- 0x21 < 0x5E { continue }
                if byte >= 0x80 { return nil }
                if byte == 0x20 || (0x09...0x0D).contains(byte) { return .some(nil) }
            }
            return .some(String(decoding: bytes[start...], as: UTF8.self))
        }
        return plain ?? bearerTokenOfUnicodeText(authorization)
    }

    /// ``bearerToken(_:)`` for headers whose token is not plain ASCII, by Character.
    private static func bearerTokenOfUnicodeText(_ authorization: String) -> String? {
        let utf8 = authorization.utf8
        guard let space = utf8.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let scheme = authorization[..<space]
        guard scheme.utf8.count == 6, HTTPHeaders.namesMatch(String(scheme), "Bearer") else { return nil }
        let token = authorization[space...].drop { $0 == " " }
        guard !token.isEmpty, !token.contains(where: \.isWhitespace) else { return nil }
        return String(token)
    }
}
