// HS256 JSON Web Tokens: signing, and verification that accepts nothing but HS256.

import Crypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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

    /// HMAC-SHA256 with the current key absorbed: its padded inner and outer blocks are
    /// hashed once here, not for every token, and each MAC starts from a copy.
    private let mac: HMAC<SHA256>
    /// The same, for the previous keys by their `kid`: they verify, never sign.
    private let previousMACs: [String: HMAC<SHA256>]

    /// The encoded header of every token this signer issues: `{"alg":"HS256","typ":"JWT","kid":"…"}`.
    private let encodedHeader: String
    /// The encoded headers this signer and the previous keys' signers issue, and the MAC
    /// each selects: a token with one of them needs no decoding of its header, whose
    /// checks these headers are known to pass.
    private let issuedHeaders: [(encoded: [UInt8], mac: HMAC<SHA256>)]

    /// - Parameters:
    ///   - secret: The HMAC key that signs; must not be empty.
    ///   - previousSecrets: Earlier keys whose tokens still verify (rotation); none empty.
    ///   - leeway: Tolerated clock difference in seconds, 0 or more.
    public init(secret: [UInt8], previousSecrets: [[UInt8]] = [], leeway: Int64 = 0) {
        precondition(!secret.isEmpty, "the JWT secret must not be empty")
        precondition(previousSecrets.allSatisfy { !$0.isEmpty }, "a previous JWT secret must not be empty")
        precondition(leeway >= 0, "the JWT leeway must not be negative")
        self.mac = HMAC(key: SymmetricKey(data: secret))
        self.keyID = Self.keyID(of: secret)
        var previous: [String: HMAC<SHA256>] = [:]
        for old in previousSecrets where old != secret {
            previous[Self.keyID(of: old)] = HMAC(key: SymmetricKey(data: old))
        }
        self.previousMACs = previous
        self.leeway = leeway
        self.encodedHeader = Self.encodedHeader(keyID: keyID)
        self.issuedHeaders =
            [(Array(encodedHeader.utf8), mac)]
            + previous.map { (Array(Self.encodedHeader(keyID: $0.key).utf8), $0.value) }
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

    static func encodedHeader(keyID: String) -> String {
        Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT","kid":"\#(keyID)"}"#.utf8))
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
        guard let dots = bytes.withUnsafeBufferPointer(Self.twoDots) else { throw .malformed }

        var verifier: HMAC<SHA256>
        if let issued = issuedHeaderMAC(bytes, end: dots.0) {
            verifier = issued
        } else {
            verifier = try headerMAC(bytes[..<dots.0])
        }

        guard let signature = Base64URL.decode(bytes[(dots.1 + 1)...]) else { throw .malformed }
        guard signature.count == SHA256.byteCount else { throw .badSignature }
        bytes.withUnsafeBytes { verifier.update(data: UnsafeRawBufferPointer(rebasing: $0[..<dots.1])) }
        guard Self.sameBytes(verifier.finalize(), signature) else { throw .badSignature }

        guard let claims = Self.decodeObject(bytes[(dots.0 + 1)..<dots.1]) else { throw .malformed }
        try checkTimes(claims, now: now)
        return claims
    }

    /// The positions of the two dots of a compact JWS, or nil unless there are exactly two.
    static func twoDots(_ bytes: UnsafeBufferPointer<UInt8>) -> (Int, Int)? {
        guard let base = bytes.baseAddress else { return nil }
        func dot(from start: Int) -> Int? {
            guard start < bytes.count, let found = memchr(base + start, Int32(UInt8(ascii: ".")), bytes.count - start)
            else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
        guard let first = dot(from: 0), let second = dot(from: first + 1), dot(from: second + 1) == nil else {
            return nil
        }
        return (first, second)
    }

    /// The MAC of a token whose header is one this signer or a previous one issues, byte for byte.
    private func issuedHeaderMAC(_ token: [UInt8], end: Int) -> HMAC<SHA256>? {
        token.withUnsafeBytes { token in
            for issued in issuedHeaders where issued.encoded.count == end {
                let same = issued.encoded.withUnsafeBytes { memcmp($0.baseAddress!, token.baseAddress!, end) == 0 }
                if same { return issued.mac }
            }
            return nil
        }
    }

    /// The MAC a header selects once decoded and checked.
    private func headerMAC(_ encoded: ArraySlice<UInt8>) throws(JWTError) -> HMAC<SHA256> {
        guard let header = Self.decodeObject(encoded) else { throw .malformed }
        guard header["alg"] == .string("HS256") else { throw .unsupportedAlgorithm }
        guard header["crit"] == nil else { throw .unsupportedHeader }
        switch header["kid"] {
        case nil: return mac
        case .string(let id)? where id == keyID: return mac
        case .string(let id)?:
            guard let previous = previousMACs[id] else { throw .unknownKey }
            return previous
        default: throw .malformed
        }
    }

    /// `signingInput` (`header.payload`, already encoded) followed by `.` and its signature.
    /// Tests use it to sign headers and payloads that ``sign(claims:)`` would never produce.
    func token(signingInput: String) -> String {
        var signer = mac
        signer.update(data: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(Array(signer.finalize()))
    }

    /// Whether a MAC equals `bytes`, in time that depends only on their length.
    static func sameBytes(_ code: HashedAuthenticationCode<SHA256>, _ bytes: [UInt8]) -> Bool {
        code.withUnsafeBytes { computed in
            guard computed.count == bytes.count else { return false }
            var difference: UInt8 = 0
            for index in 0..<computed.count { difference |= computed[index] ^ bytes[index] }
            return difference == 0
        }
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
