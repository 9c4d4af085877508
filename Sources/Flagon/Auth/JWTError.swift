// Why a token was refused, in words that are safe to send back to the client.

/// The reason a JSON Web Token is not accepted.
///
/// ``JWTSigner/verify(_:now:)`` throws the cases about the token itself;
/// ``AuthMiddleware`` adds ``wrongType(expected:)`` and ``revoked``. ``description`` is a
/// short sentence that names no token content, key or internal detail, and contains no
/// `"` or `\`, so it can go into a `WWW-Authenticate` `error_description` as it is.
///
/// ```swift
/// do {
///     let claims = try signer.verify(token, now: UnixTime.now())
/// } catch .expired {
///     // ask the client to refresh
/// } catch {
///     print(error.description)  // "The token is malformed."
/// }
/// ```
public enum JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not three base64url parts, not canonical base64url, or a header or payload that is
    /// not a JSON object.
    case malformed
    /// The header's `alg` is missing or anything but `HS256` (`none` included).
    case unsupportedAlgorithm
    /// The header lists critical extensions (`crit`), none of which are understood.
    case unsupportedHeader
    /// The HMAC-SHA256 signature does not match (another key, or altered content).
    case badSignature
    /// The header's `kid` names no key this service signs or still verifies with (a key
    /// rotated out, or another service's).
    case unknownKey
    /// A registered claim is absent though required (`exp`, and for identities `sub`,
    /// `jti`, `type`).
    case missingClaim(String)
    /// A claim has the wrong JSON type: `exp` as a string or `1.5`, `roles` not strings...
    case invalidClaim(String)
    /// `exp` is not after the current time.
    case expired
    /// `nbf` is after the current time.
    case notYetValid
    /// `iat` is after the current time.
    case issuedInFuture
    /// A refresh token where an access token is required, or the reverse.
    case wrongType(expected: TokenType)
    /// The token's `jti` has been revoked (logged out).
    case revoked

    public var description: String {
        switch self {
        case .malformed: return "The token is malformed."
        case .unsupportedAlgorithm: return "The token's algorithm is not supported."
        case .unsupportedHeader: return "The token's header is not supported."
        case .badSignature: return "The token's signature is invalid."
        case .unknownKey: return "The token's key is not known."
        case .missingClaim(let claim): return "The token has no \(claim) claim."
        case .invalidClaim(let claim): return "The token's \(claim) claim is invalid."
        case .expired: return "The token has expired."
        case .notYetValid: return "The token is not valid yet."
        case .issuedInFuture: return "The token was issued in the future."
        case .wrongType(.access): return "An access token is required."
        case .wrongType(.refresh): return "A refresh token is required."
        case .revoked: return "The token has been revoked."
        }
    }
}
