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
/// Key rotation: every token names its key in a `kid` header, ``keyID(of:)``, a digest that
/// does not reveal the key. The current secret signs; `previousSecrets` only verify, so tokens
/// they signed stay valid until they expire. A token with an unknown `kid` is refused
/// (``JWTError/unknownKey``); one without `kid`, issued before key ids, is checked against the
/// current secret only.
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

    /// The `kid` of the current key, in the header of every token this signer issues.
    public let keyID: String

    private let key: SymmetricKey
    /// The previous keys by their `kid`: they verify, never sign.
    private let previousKeys: [String: SymmetricKey]

    /// The encoded header of every token this signer issues: `{"alg":"HS256","typ":"JWT","kid":"…"}`.
    private let encodedHeader: String

    /// - Parameters:
    ///   - secret: The HMAC key that signs; must not be empty.
    ///   - previousSecrets: Earlier keys whose tokens still verify (rotation); none empty.
    ///   - leeway: Tolerated clock difference in seconds, 0 or more.
    public init(secret: [UInt8], previousSecrets: [[UInt8]] = [], leeway: Int64 = 0) {
        precondition(!secret.isEmpty, "the JWT secret must not be empty")
        precondition(previousSecrets.allSatisfy { !$0.isEmpty }, "a previous JWT secret must not be empty")
        precondition(leeway >= 0, "the JWT leeway must not be negative")
        self.key = SymmetricKey(data: secret)
        self.keyID = Self.keyID(of: secret)
        var previous: [String: SymmetricKey] = [:]
        for old in previousSecrets where old != secret { previous[Self.keyID(of: old)] = SymmetricKey(data: old) }
        self.previousKeys = previous
        self.leeway = leeway
        self.encodedHeader = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT","kid":"\#(keyID)"}"#.utf8))
    }

    /// A signer keyed with the UTF-8 bytes of `secret` (how PyJWT uses a string key).
    public init(secret: String, previousSecrets: [String] = [], leeway: Int64 = 0) {
        self.init(secret: Array(secret.utf8), previousSecrets: previousSecrets.map { Array($0.utf8) }, leeway: leeway)
    }

    /// The `kid` naming a key: the first 96 bits of SHA-256 over a fixed label and the key, in
    /// base64url (16 characters). It identifies the key among a few without revealing it, and
    /// the label keeps it from being any other digest of the key.
    public static func keyID(of secret: [UInt8]) -> String {
        let digest = SHA256.hash(data: Array("tasks-api JWT key id v1\u{0}".utf8) + secret)
        return Base64URL.encode(Array(Array(digest).prefix(12)))
    }

    /// A compact JWS of `claims` with header `{"alg":"HS256","typ":"JWT","kid":"…"}`.
    ///
    /// The claims are signed as given: add `exp` (``verify(_:now:)`` requires it), or let
    /// ``TokenIssuer`` build the whole set.
    public func sign(claims: JSONObject) -> String {
        token(signingInput: encodedHeader + "." + Base64URL.encode(JSONValue.object(claims).serialized()))
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
        let verifyingKey: SymmetricKey
        switch header["kid"] {
        case nil: verifyingKey = key
        case .string(let id)? where id == keyID: verifyingKey = key
        case .string(let id)?:
            guard let previous = previousKeys[id] else { throw .unknownKey }
            verifyingKey = previous
        default: throw .malformed
        }

        guard let signature = Base64URL.decode(bytes[(dots[1] + 1)...]) else { throw .malformed }
        let signingInput = Array(bytes[..<dots[1]])
        guard signature.count == SHA256.byteCount,
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: verifyingKey)
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
