// HS256 JSON Web Tokens: signing, and verification that accepts nothing but HS256.

import Crypto

/// Signs and verifies compact JWS tokens with HMAC-SHA256 (`alg: HS256`), as
/// flask-jwt-extended does with `JWT_SECRET_KEY`.
///
/// Verification is strict: exactly three canonical base64url parts, a header whose `alg`
/// is exactly `HS256` (so `none`, `HS512` and `RS256` fail) and with no `crit`, a
/// signature compared in constant time, a payload that is a JSON object, and the time
/// claims `exp` (required), `nbf` and `iat` (optional) as JSON integers.
///
/// Any non-empty secret is accepted; the application's production check is what
/// requires a long one (32 or more characters). HMAC-SHA256 is as strong as its key.
///
/// ```swift
/// let signer = JWTSigner(secret: "a-long-random-secret-of-32-chars-or-more")
/// let token = signer.sign(claims: ["sub": "42", "exp": .integer(UnixTime.now() + 900)])
/// let claims = try signer.verify(token, now: UnixTime.now())
/// claims["sub"]  // .string("42")
/// ```
public struct JWTSigner: Sendable {
    /// Longer tokens are refused as malformed before any decoding.
    public static let maximumTokenLength = 8192

    /// Seconds of clock difference tolerated on `exp`, `nbf` and `iat` (default 0, as
    /// PyJWT and flask-jwt-extended): an `exp` up to `leeway` seconds ago still counts,
    /// and an `nbf` or `iat` up to `leeway` seconds ahead is accepted. Workers of one
    /// host share a clock; raise it only for hosts whose clocks drift apart.
    public let leeway: Int64

    private let key: SymmetricKey

    /// The encoded header of every token this signer issues: `{"alg":"HS256","typ":"JWT"}`.
    private static let encodedHeader = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))

    /// - Parameters:
    ///   - secret: The HMAC key; must not be empty.
    ///   - leeway: Tolerated clock difference in seconds, 0 or more.
    public init(secret: [UInt8], leeway: Int64 = 0) {
        precondition(!secret.isEmpty, "the JWT secret must not be empty")
        precondition(leeway >= 0, "the JWT leeway must not be negative")
        self.key = SymmetricKey(data: secret)
        self.leeway = leeway
    }

    /// A signer keyed with the UTF-8 bytes of `secret` (how PyJWT uses a string key).
    public init(secret: String, leeway: Int64 = 0) {
        self.init(secret: Array(secret.utf8), leeway: leeway)
    }

    /// A compact JWS of `claims` with header `{"alg":"HS256","typ":"JWT"}`.
    ///
    /// The claims are signed as given: add `exp` (``verify(_:now:)`` requires it), or let
    /// ``TokenIssuer`` build the whole set.
    public func sign(claims: JSONObject) -> String {
        token(signingInput: Self.encodedHeader + "." + Base64URL.encode(JSONValue.object(claims).serialized()))
    }

    /// The claims of a valid token, or the reason it is not valid.
    ///
    /// - Parameters:
    ///   - token: The compact JWS, as sent after `Bearer `.
    ///   - now: The current time in seconds since the epoch (``UnixTime/now()``).
    public func verify(_ token: String, now: Int64) throws(JWTError) -> JSONObject {
        let bytes = Array(token.utf8)
        guard bytes.count <= Self.maximumTokenLength else { throw .malformed }
        var dots: [Int] = []
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: ".") {
            dots.append(index)
            guard dots.count <= 2 else { throw .malformed }
        }
        guard dots.count == 2 else { throw .malformed }

        guard let header = Self.decodeObject(bytes[..<dots[0]]) else { throw .malformed }
        guard header["alg"] == .string("HS256") else { throw .unsupportedAlgorithm }
        guard header["crit"] == nil else { throw .unsupportedHeader }

        guard let signature = Base64URL.decode(bytes[(dots[1] + 1)...]) else { throw .malformed }
        let signingInput = Array(bytes[..<dots[1]])
        guard signature.count == SHA256.byteCount,
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key)
        else { throw .badSignature }

        guard let claims = Self.decodeObject(bytes[(dots[0] + 1)..<dots[1]]) else { throw .malformed }
        try checkTimes(claims, now: now)
        return claims
    }

    /// `signingInput` (`header.payload`, already encoded) followed by `.` and its signature.
    /// Tests use it to sign headers and payloads that ``sign(claims:)`` would never produce.
    func token(signingInput: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: key)
        return signingInput + "." + Base64URL.encode(Array(mac))
    }

    private func checkTimes(_ claims: JSONObject, now: Int64) throws(JWTError) {
        let (earliest, lowOverflow) = now.subtractingReportingOverflow(leeway)
        let (latest, highOverflow) = now.addingReportingOverflow(leeway)
        guard let expires = try Self.integer("exp", in: claims) else { throw .missingClaim("exp") }
        guard expires > (lowOverflow ? .min : earliest) else { throw .expired }
        if let notBefore = try Self.integer("nbf", in: claims), notBefore > (highOverflow ? .max : latest) {
            throw .notYetValid
        }
        if let issuedAt = try Self.integer("iat", in: claims), issuedAt > (highOverflow ? .max : latest) {
            throw .issuedInFuture
        }
    }

    /// A claim that must be a JSON integer (`3`, not `3.0`, `"3"` or a number beyond 64 bits).
    private static func integer(_ name: String, in claims: JSONObject) throws(JWTError) -> Int64? {
        switch claims[name] {
        case nil: return nil
        case .integer(let value)?: return value
        default: throw .invalidClaim(name)
        }
    }

    private static func decodeObject(_ part: ArraySlice<UInt8>) -> JSONObject? {
        guard let json = Base64URL.decode(part), case .object(let object)? = try? JSONParser.parse(json) else {
            return nil
        }
        return object
    }
}
