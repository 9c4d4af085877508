// HS256 tokens: signing, strict verification, base64url, claims of identities, issuing.

import Testing

@testable import Flagon

/// Fixed keys, clock and token builders shared by the token and middleware tests.
enum TokenFixtures {
    static let secret = "test-secret-that-is-at-least-32-bytes-long"
    static let signer = JWTSigner(secret: secret)
    static let otherSigner = JWTSigner(secret: "another-secret-that-is-32-bytes-or-more")
    static let now: Int64 = 1_800_000_000
    static let issuer = TokenIssuer(signer: signer, accessLifetime: 900, refreshLifetime: 86_400)

    /// `header.payload` from raw JSON texts, signed with `signer`: tokens `sign(claims:)`
    /// would never produce.
    static func raw(header: String, payload: String, signer: JWTSigner = signer) -> String {
        signer.token(signingInput: encode(header) + "." + encode(payload))
    }

    /// A token signed with the standard header and the given payload text.
    static func raw(payload: String) -> String {
        raw(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: payload)
    }

    static func encode(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }

    /// Claims valid at ``now`` for an access token of user 42, with `changes` applied.
    static func claims(_ changes: [(String, JSONValue?)] = []) -> JSONObject {
        var claims = JSONObject([
            ("sub", "42"), ("name", "alice"), ("roles", ["user"]), ("type", "access"),
            ("jti", "0123456789abcdef0123456789abcdef"), ("iat", .integer(now - 10)), ("nbf", .integer(now - 10)),
            ("exp", .integer(now + 890)),
        ])
        for (key, value) in changes { claims[key] = value }
        return claims
    }

    /// The JSON text of ``claims(_:)``.
    static func claimsText(_ changes: [(String, JSONValue?)] = []) -> String {
        JSONValue.object(claims(changes)).jsonText
    }

    static func token(_ changes: [(String, JSONValue?)] = [], signer: JWTSigner = signer) -> String {
        signer.sign(claims: claims(changes))
    }
}

@Suite("JWT")
struct JWTTests {
    typealias F = TokenFixtures

    func rejection(_ token: String, signer: JWTSigner = F.signer, now: Int64 = F.now) -> JWTError? {
        do {
            _ = try signer.verify(token, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test("a signed token verifies back to exactly its claims")
    func roundTrip() throws {
        let claims = F.claims()
        #expect(try F.signer.verify(F.signer.sign(claims: claims), now: F.now) == claims)
    }

    @Test("tokens are three unpadded base64url parts with the HS256 header naming the key")
    func compactForm() throws {
        let token = F.token()
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        #expect(
            Base64URL.decode(parts[0].utf8).map { String(decoding: $0, as: UTF8.self) }
                == #"{"alg":"HS256","typ":"JWT","kid":"\#(F.signer.keyID)"}"#)
        #expect(parts[2].utf8.count == 43)
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
    }

    @Test("the signature matches the well-known jwt.io HS256 example")
    func knownVector() {
        let signer = JWTSigner(secret: "your-256-bit-secret")
        let input =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
        let token = signer.token(signingInput: input)
        #expect(token == input + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
        // The signature is accepted; the example only lacks the `exp` this service requires.
        #expect(rejection(token, signer: signer) == .missingClaim("exp"))
    }

    @Test("signatures from the prepared HMAC state match RFC 4231's HMAC-SHA256 vectors, signing after signing")
    func preparedMACState() throws {
        let block = "Test Using Larger Than Block-Size Key - Hash Key First"
        let blockData =
            "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
        let vectors: [(key: [UInt8], data: String, mac: String)] = [
            (
                [UInt8](repeating: 0x0B, count: 20), "Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), "what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xAA, count: 131), block,
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                [UInt8](repeating: 0xAA, count: 131), blockData,
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ]
        for vector in vectors {
            let signer = JWTSigner(secret: vector.key)
            // Twice: signing must leave the prepared state as it was.
            for _ in 0..<2 {
                let token = signer.token(signingInput: vector.data)
                let signature = try #require(Base64URL.decode(Array(token.utf8.suffix(43))))
                let hex = signature.map { String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16) }.joined()
                #expect(hex == vector.mac)
            }
        }
        // A previous key verifies with its own prepared state, the current one signs with its.
        let previous = ["short", String(repeating: "long", count: 40)]
        let rotated = JWTSigner(secret: F.secret, previousSecrets: previous)
        for secret in previous {
            let token = JWTSigner(secret: secret).sign(claims: F.claims())
            #expect(try rotated.verify(token, now: F.now) == F.claims())
            #expect(try rotated.verify(token, now: F.now) == F.claims())
        }
        // One bit off anywhere in the MAC is refused.
        let token = F.token()
        let signature = try #require(Base64URL.decode(Array(token.split(separator: ".")[2].utf8)))
        for index in signature.indices {
            var flipped = signature
            flipped[index] ^= 0x01
            let forged = token.split(separator: ".")[0...1].joined(separator: ".") + "." + Base64URL.encode(flipped)
            #expect(rejection(forged) == .badSignature)
        }
    }

    @Test("alg none is refused, with or without a signature part")
    func algNone() {
        let header = #"{"alg":"none","typ":"JWT"}"#
        let payload = F.claimsText()
        let unsigned = F.encode(header) + "." + F.encode(payload) + "."
        #expect(rejection(unsigned) == .unsupportedAlgorithm)
        #expect(rejection(F.raw(header: header, payload: payload)) == .unsupportedAlgorithm)
        #expect(rejection(F.encode(header) + "." + F.encode(payload)) == .malformed)
    }

    @Test(
        "any alg but exactly HS256 is refused, even with a valid HS256 signature",
        arguments: [
            #"{"alg":"HS512","typ":"JWT"}"#, #"{"alg":"RS256","typ":"JWT"}"#, #"{"alg":"hs256"}"#,
            #"{"alg":"HS256 "}"#, #"{"typ":"JWT"}"#, #"{"alg":null}"#, #"{"alg":["HS256"]}"#, #"{}"#,
        ])
    func otherAlgorithms(header: String) {
        #expect(rejection(F.raw(header: header, payload: F.claimsText())) == .unsupportedAlgorithm)
    }

    @Test("a header with crit is refused")
    func critical() {
        let header = #"{"alg":"HS256","crit":["exp"]}"#
        #expect(rejection(F.raw(header: header, payload: F.claimsText())) == .unsupportedHeader)
    }

    @Test("a header without typ is accepted")
    func noTyp() {
        #expect(rejection(F.raw(header: #"{"alg":"HS256"}"#, payload: F.claimsText())) == nil)
    }

    @Test("an altered signature, payload or header, and another key, are refused")
    func badSignature() {
        let token = F.token()
        let parts = token.split(separator: ".").map(String.init)
        var flipped = Array(parts[2].utf8)
        flipped[0] = flipped[0] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(rejection(parts[0] + "." + parts[1] + "." + String(decoding: flipped, as: UTF8.self)) == .badSignature)
        let admin = F.encode(F.claimsText([("roles", ["admin"])]))
        #expect(rejection(parts[0] + "." + admin + "." + parts[2]) == .badSignature)
        #expect(rejection(F.encode(#"{"alg":"HS256"}"#) + "." + parts[1] + "." + parts[2]) == .badSignature)
        #expect(rejection(F.token(signer: F.otherSigner)) == .unknownKey)
        #expect(
            rejection(F.raw(header: #"{"alg":"HS256"}"#, payload: F.claimsText(), signer: F.otherSigner))
                == .badSignature)
        #expect(rejection(parts[0] + "." + parts[1] + "." + String(parts[2].dropLast(3))) == .badSignature)
        #expect(rejection(parts[0] + "." + parts[1] + ".") == .badSignature)
        #expect(rejection(F.token(), signer: F.otherSigner) == .unknownKey)
    }

    @Test("the kid is a digest of the key: 16 base64url characters, never the key, distinct per key")
    func keyID() {
        let id = F.signer.keyID
        #expect(id == JWTSigner.keyID(of: Array(F.secret.utf8)))
        #expect(id.utf8.count == 16)
        #expect(Base64URL.decode(id.utf8)?.count == 12)
        #expect(!F.secret.contains(id) && !F.token().contains(F.encode(F.secret)))
        #expect(id != F.otherSigner.keyID)
        #expect(JWTSigner(secret: F.secret).keyID == id)
    }

    @Test("after rotation the previous key still verifies its tokens; the new key signs")
    func rotation() throws {
        let rotated = JWTSigner(secret: "the-next-secret-that-is-32-bytes-or-more", previousSecrets: [F.secret])
        let old = F.token()
        #expect(try rotated.verify(old, now: F.now) == F.claims())
        let fresh = rotated.sign(claims: F.claims())
        #expect(try rotated.verify(fresh, now: F.now) == F.claims())
        #expect(fresh.split(separator: ".")[0] != old.split(separator: ".")[0])
        // The previous key never signs, and the old signer does not know the new key.
        #expect(rejection(fresh) == .unknownKey)
        // Tokens of the previous key still expire as any other.
        #expect(rejection(old, signer: rotated, now: F.now + 890) == .expired)
        // Once removed from the previous keys, its tokens are refused.
        let later = JWTSigner(secret: "the-next-secret-that-is-32-bytes-or-more")
        #expect(rejection(old, signer: later) == .unknownKey)
        #expect(try later.verify(fresh, now: F.now) == F.claims())
    }

    @Test("a token without kid is checked against the current key only, never a previous one")
    func noKeyID() {
        let rotated = JWTSigner(secret: "the-next-secret-that-is-32-bytes-or-more", previousSecrets: [F.secret])
        let legacyOld = F.raw(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: F.claimsText())
        #expect(rejection(legacyOld) == nil)
        #expect(rejection(legacyOld, signer: rotated) == .badSignature)
        let legacyNew = F.raw(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: F.claimsText(), signer: rotated)
        #expect(rejection(legacyNew, signer: rotated) == nil)
    }

    @Test(
        "a kid that is not a string is malformed; an unknown one is refused before the signature is checked",
        arguments: [
            (#"{"alg":"HS256","kid":7}"#, JWTError.malformed), (#"{"alg":"HS256","kid":null}"#, .malformed),
            (#"{"alg":"HS256","kid":["x"]}"#, .malformed), (#"{"alg":"HS256","kid":""}"#, .unknownKey),
            (#"{"alg":"HS256","kid":"AAAAAAAAAAAAAAAA"}"#, .unknownKey),
            (#"{"alg":"none","kid":"AAAAAAAAAAAAAAAA"}"#, .unsupportedAlgorithm),
        ])
    func badKeyIDs(header: String, expected: JWTError) {
        #expect(rejection(F.raw(header: header, payload: F.claimsText())) == expected)
    }

    @Test("a kid naming the current key is checked with it: a forged signature still fails")
    func kidDoesNotBypassSignature() {
        let header = #"{"alg":"HS256","kid":"\#(F.signer.keyID)"}"#
        #expect(rejection(F.raw(header: header, payload: F.claimsText())) == nil)
        #expect(rejection(F.raw(header: header, payload: F.claimsText(), signer: F.otherSigner)) == .badSignature)
    }

    @Test(
        "structurally broken tokens are malformed",
        arguments: [
            "", ".", "..", "...", "abc", "a.b", "a.b.c.d",
            "eyJhbGciOiJIUzI1NiJ9.e30", "eyJhbGciOiJIUzI1NiJ9.e30.sig.extra",
            "eyJhbGciOiJIUzI1NiJ9=.e30.AAAA", "eyJhbGciOiJIUzI1NiJ9.e30.AA+A", "eyJhbGciOiJIUzI1NiJ9.e30.AA/A",
            "eyJhbGciOiJIUzI1NiJ9.e30.AA A", "eyJhbGciOiJIUzI1NiJ9.e30.AA=", "eyJhbGciOiJIUzI1NiJ9.e30.A",
            "bm90IGpzb24.e30.AAAA", "W10.e30.AAAA",
        ])
    func malformed(token: String) {
        #expect(rejection(token) == .malformed)
    }

    @Test("a token with a four-part or two-part shape built from a valid one is malformed")
    func partCounts() {
        let token = F.token()
        let parts = token.split(separator: ".").map(String.init)
        #expect(rejection(token + "." + parts[2]) == .malformed)
        #expect(rejection(parts[0] + "." + parts[1]) == .malformed)
        #expect(rejection(parts[1] + "." + token) == .malformed)
    }

    @Test("a payload that is not JSON, not an object, or not canonical base64url is malformed, though signed")
    func malformedPayloads() {
        #expect(rejection(F.raw(payload: "not json")) == .malformed)
        #expect(rejection(F.raw(payload: #"["sub", "exp"]"#)) == .malformed)
        #expect(rejection(F.raw(payload: "\"text\"")) == .malformed)
        #expect(rejection(F.raw(payload: "1900000000")) == .malformed)
        #expect(rejection(F.raw(payload: #"{"exp": 1900000000"#)) == .malformed)
        let header = F.encode(#"{"alg":"HS256"}"#)
        // "e30" is `{}`; "e31" has non-zero unused bits; "e30=" is padded; "e3*" is not base64url.
        #expect(rejection(F.signer.token(signingInput: header + ".e31")) == .malformed)
        #expect(rejection(F.signer.token(signingInput: header + ".e30=")) == .malformed)
        #expect(rejection(F.signer.token(signingInput: header + ".e3*")) == .malformed)
        #expect(rejection(F.signer.token(signingInput: header + ".e30")) == .missingClaim("exp"))
    }

    @Test("tokens longer than the limit are refused before decoding")
    func tooLong() {
        let padding = String(repeating: "A", count: JWTSigner.maximumTokenLength)
        #expect(rejection(F.token([("padding", .string(padding))])) == .malformed)
        #expect(rejection(F.token([("padding", .string(String(padding.prefix(5000))))])) == nil)
    }

    @Test("exp is required and must be after now")
    func expiry() {
        #expect(rejection(F.token([("exp", nil)])) == .missingClaim("exp"))
        #expect(rejection(F.token([("exp", .integer(F.now))])) == .expired)
        #expect(rejection(F.token([("exp", .integer(F.now - 1))])) == .expired)
        #expect(rejection(F.token([("exp", .integer(F.now + 1))])) == nil)
        #expect(rejection(F.token([("exp", .integer(Int64.min))])) == .expired)
        #expect(rejection(F.token([("exp", .integer(Int64.max))])) == nil)
    }

    @Test("nbf, when present, must not be after now")
    func notBefore() {
        #expect(rejection(F.token([("nbf", .integer(F.now + 1))])) == .notYetValid)
        #expect(rejection(F.token([("nbf", .integer(F.now))])) == nil)
        #expect(rejection(F.token([("nbf", nil)])) == nil)
        #expect(rejection(F.token([("nbf", .integer(Int64.max))])) == .notYetValid)
    }

    @Test("iat, when present, must not be after now")
    func issuedAt() {
        #expect(rejection(F.token([("iat", .integer(F.now + 1))])) == .issuedInFuture)
        #expect(rejection(F.token([("iat", .integer(F.now))])) == nil)
        #expect(rejection(F.token([("iat", nil)])) == nil)
    }

    @Test("the default leeway is 0 seconds; a leeway of 30 tolerates exactly 30 seconds of skew")
    func leeway() {
        #expect(F.signer.leeway == 0)
        let lenient = JWTSigner(secret: F.secret, leeway: 30)
        #expect(rejection(F.token([("exp", .integer(F.now - 29))]), signer: lenient) == nil)
        #expect(rejection(F.token([("exp", .integer(F.now - 30))]), signer: lenient) == .expired)
        #expect(rejection(F.token([("nbf", .integer(F.now + 30))]), signer: lenient) == nil)
        #expect(rejection(F.token([("nbf", .integer(F.now + 31))]), signer: lenient) == .notYetValid)
        #expect(rejection(F.token([("iat", .integer(F.now + 30))]), signer: lenient) == nil)
        #expect(rejection(F.token([("iat", .integer(F.now + 31))]), signer: lenient) == .issuedInFuture)
        #expect(rejection(F.token([("exp", .integer(Int64.min + 10))]), signer: lenient) == .expired)
    }

    @Test(
        "time claims must be JSON integers",
        arguments: [
            ("exp", #""1900000000""#), ("exp", "1.5"), ("exp", "1900000000.0"), ("exp", "1.9e9"),
            ("exp", "99999999999999999999"), ("exp", "null"), ("exp", "true"), ("nbf", #""0""#), ("nbf", "0.5"),
            ("iat", "1e3"), ("iat", "[1]"),
        ])
    func integerClaims(claim: String, value: String) {
        var members = ["\"exp\": 1900000000"]
        if claim == "exp" { members = [] }
        members.append("\"\(claim)\": \(value)")
        let payload = "{" + members.joined(separator: ", ") + "}"
        #expect(rejection(F.raw(payload: payload)) == .invalidClaim(claim))
    }

    @Test("error descriptions are fixed sentences without quotes or backslashes")
    func descriptions() {
        let errors: [JWTError] = [
            .malformed, .unsupportedAlgorithm, .unsupportedHeader, .badSignature, .unknownKey, .missingClaim("exp"),
            .invalidClaim("exp"), .expired, .notYetValid, .issuedInFuture, .wrongType(expected: .access),
            .wrongType(expected: .refresh), .revoked,
        ]
        #expect(
            errors.map(\.description) == [
                "The token is malformed.", "The token's algorithm is not supported.",
                "The token's header is not supported.", "The token's signature is invalid.",
                "The token's key is not known.", "The token has no exp claim.", "The token's exp claim is invalid.",
                "The token has expired.",
                "The token is not valid yet.", "The token was issued in the future.",
                "An access token is required.", "A refresh token is required.", "The token has been revoked.",
            ])
        #expect(errors.allSatisfy { !$0.description.contains("\"") && !$0.description.contains("\\") })
    }

    @Test("a string secret keys the HMAC with its UTF-8 bytes")
    func stringSecret() {
        let fromBytes = JWTSigner(secret: Array(F.secret.utf8))
        #expect(fromBytes.sign(claims: F.claims()) == F.token())
    }
}

@Suite("Base64URL")
struct Base64URLTests {
    @Test("round trips every length and every byte value")
    func roundTrip() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for length in 0...bytes.count {
            let slice = Array(bytes.prefix(length))
            #expect(Base64URL.decode(Base64URL.encode(slice).utf8) == slice)
        }
    }

    @Test("matches RFC 4648's test vectors, unpadded and URL-safe")
    func vectors() {
        let cases = [
            ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in cases {
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        }
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode("-_8".utf8) == [0xFB, 0xFF])
    }

    @Test("the table decoder answers as a character-by-character decoder, for every byte at every position")
    func sameAsReference() {
        func reference(_ text: [UInt8]) -> [UInt8]? {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
            guard text.count % 4 != 1 else { return nil }
            var bits = ""
            for character in text {
                guard let value = alphabet.firstIndex(of: character) else { return nil }
                let binary = String(value, radix: 2)
                bits += String(repeating: "0", count: 6 - binary.count) + binary
            }
            let whole = bits.count / 8 * 8
            guard bits.dropFirst(whole).allSatisfy({ $0 == "0" }) else { return nil }
            return stride(from: 0, to: whole, by: 8).map { start in
                let from = bits.index(bits.startIndex, offsetBy: start)
                return UInt8(bits[from..<bits.index(from, offsetBy: 8)], radix: 2)!
            }
        }
        let base = Array("QUJDZGVmZ2hp".utf8)
        for length in 0...base.count {
            for position in Set([0, length / 2, max(0, length - 1)]) {
                for byte in UInt8.min...UInt8.max where length > 0 || byte == 0 {
                    var text = Array(base.prefix(length))
                    if length > 0 { text[position] = byte }
                    #expect(Base64URL.decode(text) == reference(text), "\(text)")
                    #expect(Base64URL.decode(text[...]) == reference(text), "\(text)")
                }
            }
        }
    }

    @Test("refuses padding, the standard alphabet's + and /, whitespace and impossible lengths")
    func strict() {
        for text in ["Zg==", "Zm8=", "+_8", "/_8", "Zm 9v", "Zm9v\n", "Z", "Zm9vY", "Zh", "Zm9"] {
            #expect(Base64URL.decode(text.utf8) == nil, "\(text)")
        }
    }
}

@Suite("Identity claims")
struct IdentityClaimsTests {
    typealias F = TokenFixtures

    func failure(_ changes: [(String, JSONValue?)]) -> JWTError? {
        do {
            _ = try Identity(claims: F.claims(changes))
            return nil
        } catch {
            return error
        }
    }

    @Test("an identity carries sub, name, roles and every claim")
    func fromClaims() throws {
        let identity = try Identity(claims: F.claims([("roles", ["admin", "user"])]))
        #expect(identity.id == "42")
        #expect(identity.name == "alice")
        #expect(identity.roles == ["admin", "user"])
        #expect(identity.method == .jwt)
        #expect(identity.tokenID == "0123456789abcdef0123456789abcdef")
        #expect(identity.tokenType == .access)
        #expect(identity.expiresAt == F.now + 890)
        #expect(identity.claims == F.claims([("roles", ["admin", "user"])]))
        #expect(identity.hasRole("admin") && !identity.hasRole("Admin"))
    }

    @Test("sub, jti and type are required; name and roles default to empty")
    func requiredClaims() throws {
        #expect(failure([("sub", nil)]) == .missingClaim("sub"))
        #expect(failure([("jti", nil)]) == .missingClaim("jti"))
        #expect(failure([("type", nil)]) == .missingClaim("type"))
        let bare = try Identity(claims: F.claims([("name", nil), ("roles", nil)]))
        #expect(bare.name == "")
        #expect(bare.roles == [])
    }

    @Test("claims of the wrong type are invalid")
    func invalidClaims() {
        #expect(failure([("sub", 42)]) == .invalidClaim("sub"))
        #expect(failure([("sub", "")]) == .invalidClaim("sub"))
        #expect(failure([("jti", 1)]) == .invalidClaim("jti"))
        #expect(failure([("jti", "")]) == .invalidClaim("jti"))
        #expect(failure([("type", "id")]) == .invalidClaim("type"))
        #expect(failure([("type", "Access")]) == .invalidClaim("type"))
        #expect(failure([("name", ["alice"])]) == .invalidClaim("name"))
        #expect(failure([("roles", "admin")]) == .invalidClaim("roles"))
        #expect(failure([("roles", ["admin", 1])]) == .invalidClaim("roles"))
    }
}

@Suite("Token issuer")
struct TokenIssuerTests {
    typealias F = TokenFixtures

    static func isTokenID(_ text: String?) -> Bool {
        guard let text, text.utf8.count == 32 else { return false }
        return text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    @Test("an access token carries every claim of the contract, correctly typed")
    func accessClaims() throws {
        let issued = F.issuer.issue(.access, subject: "42", name: "alice", roles: ["admin", "user"], now: F.now)
        let claims = try F.signer.verify(issued.token, now: F.now)
        #expect(claims.keys == ["sub", "name", "roles", "type", "jti", "iat", "nbf", "exp"])
        #expect(claims["sub"] == .string("42"))
        #expect(claims["name"] == .string("alice"))
        #expect(claims["roles"] == .array([.string("admin"), .string("user")]))
        #expect(claims["type"] == .string("access"))
        #expect(claims["jti"] == .string(issued.id))
        #expect(Self.isTokenID(claims["jti"]?.stringValue))
        #expect(claims["iat"] == .integer(F.now))
        #expect(claims["nbf"] == .integer(F.now))
        #expect(claims["exp"] == .integer(F.now + 900))
        #expect(issued.type == .access)
        #expect(issued.issuedAt == F.now)
        #expect(issued.expiresAt == F.now + 900)
        #expect(issued.expiresIn == 900)
    }

    @Test("a refresh token lives for the refresh lifetime and becomes a refresh identity")
    func refreshClaims() throws {
        let issued = F.issuer.issue(.refresh, subject: "7", name: "bob", roles: [], now: F.now)
        let identity = try Identity(claims: F.signer.verify(issued.token, now: F.now))
        #expect(identity.tokenType == .refresh)
        #expect(identity.roles == [])
        #expect(identity.claims?["roles"] == .array([]))
        #expect(identity.expiresAt == F.now + 86_400)
        #expect(issued.expiresIn == 86_400)
    }

    @Test("an issued token expires exactly at the end of its lifetime")
    func lifetime() throws {
        let issued = F.issuer.issue(.access, subject: "42", name: "alice", roles: [], now: F.now)
        #expect(throws: Never.self) { try F.signer.verify(issued.token, now: F.now + 899) }
        #expect(throws: JWTError.expired) { try F.signer.verify(issued.token, now: F.now + 900) }
    }

    @Test("every token gets a fresh 128-bit jti")
    func uniqueIDs() {
        let ids = (0..<200).map { _ in F.issuer.issue(.access, subject: "1", name: "a", roles: [], now: F.now).id }
        #expect(Set(ids).count == 200)
        #expect(ids.allSatisfy { Self.isTokenID($0) })
    }

    @Test("the default lifetimes are the contract's: 900 seconds and 30 days")
    func defaults() {
        let issuer = TokenIssuer(signer: F.signer)
        #expect(issuer.accessLifetime == 900)
        #expect(issuer.refreshLifetime == 2_592_000)
    }
}
