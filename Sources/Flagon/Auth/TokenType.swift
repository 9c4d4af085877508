// The `type` claim that tells access tokens from refresh tokens.

/// What a token may be used for, as flask-jwt-extended's `type` claim says.
///
/// ```swift
/// TokenType(rawValue: "refresh")  // .refresh
/// ```
public enum TokenType: String, Sendable, Equatable, CaseIterable {
    /// Sent with every API request; short-lived (`JWT_ACCESS_TOKEN_EXPIRES`).
    case access
    /// Only exchanged for a new access token at the refresh endpoint; long-lived.
    case refresh
}
