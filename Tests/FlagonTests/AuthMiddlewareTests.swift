// Route authentication through the whole app: bearer tokens, proxy identity, roles, revocation.

import Flagon
import Synchronization
import Testing

/// Revoked token ids, shared by the app under test and the test body; one per test.
final class RevocationList: Sendable {
    private let state = Mutex<(revoked: Set<String>, checks: Int)>(([], 0))

    var checks: Int { state.withLock { $0.checks } }

    func revoke(_ id: String) { state.withLock { _ = $0.revoked.insert(id) } }

    func contains(_ id: String) -> Bool {
        state.withLock { state in
            state.checks += 1
            return state.revoked.contains(id)
        }
    }
}

private struct StorageDown: Error {}

@Suite("Auth middleware")
struct AuthMiddlewareTests {
    typealias F = TokenFixtures

    static let missingBody =
        #"{"error": "Unauthorized", "message": "Missing or invalid authorization.", "status": 401}"#

    /// One route per requirement; each answers with the identity it was given.
    static func makeAuthApp(
        trustProxyHeaders: Bool = false, revocations: RevocationList = RevocationList(), storageDown: Bool = false
    ) -> App {
        let api = Blueprint("api", prefix: "/api")
        api.get("/open") { request in describe(request.identity) }
        api.get("/protected", auth: .accessToken) { request in describe(request.identity) }
        api.get("/admin", auth: .accessToken(role: "admin")) { request in describe(request.identity) }
        api.get("/me", auth: .accessToken(allowProxy: true)) { request in describe(request.identity) }
        api.get("/ops", auth: .accessToken(role: "ops", allowProxy: true)) { request in describe(request.identity) }
        api.post("/refresh", auth: .refreshToken) { request in describe(request.identity) }
        api.post("/logout", auth: .anyToken) { request in
            guard let id = request.identity?.tokenID else { throw HTTPError(.internalServerError) }
            revocations.revoke(id)
            return .empty()
        }
        api.get("/home", auth: .optional) { request in describe(request.identity) }
        var app = makeApp(api)
        app.use(
            AuthMiddleware(
                signer: F.signer, trustProxyHeaders: trustProxyHeaders, now: { F.now },
                isRevoked: { id in
                    if storageDown { throw StorageDown() }
                    return revocations.contains(id)
                }))
        return app
    }

    static func describe(_ identity: Identity?) -> Response {
        guard let identity else { return .json(["identified": false]) }
        return .json([
            "identified": true, "id": .string(identity.id), "name": .string(identity.name),
            "roles": .array(identity.roles.map { .string($0) }), "auth": .string(identity.method.rawValue),
            "type": identity.tokenType.map { .string($0.rawValue) } ?? .null,
        ])
    }

    static func bearer(_ token: String) -> HTTPHeaders { ["Authorization": "Bearer " + token] }

    static func invalidToken(_ description: String) -> String {
        #"Bearer error="invalid_token", error_description=""# + description + #"""#
    }

    static let access = F.issuer.issue(.access, subject: "42", name: "alice", roles: ["user"], now: F.now - 10).token
    static let admin = F.issuer.issue(.access, subject: "1", name: "root", roles: ["admin"], now: F.now - 10).token
    static let refresh = F.issuer.issue(.refresh, subject: "42", name: "alice", roles: ["user"], now: F.now - 10).token

    // MARK: Accepted

    @Test("a valid access token reaches the handler with its identity")
    func validAccess() async throws {
        let response = await TestClient(app: Self.makeAuthApp()).get(
            "/api/protected", headers: Self.bearer(Self.access))
        #expect(response.status == 200)
        #expect(
            response.text
                == #"{"identified": true, "id": "42", "name": "alice", "roles": ["user"], "auth": "jwt", "type": "access"}"#
        )
    }

    @Test("spaces between the scheme and the token are skipped", arguments: [" ", "  ", "     "])
    func spacesAfterScheme(spaces: String) async {
        let client = TestClient(app: Self.makeAuthApp())
        #expect(
            await client.get("/api/protected", headers: ["Authorization": "Bearer" + spaces + Self.access]).status
                == 200)
    }

    @Test("the Bearer scheme is matched case-insensitively", arguments: ["Bearer", "bearer", "BEARER", "bEaReR"])
    func schemeCase(scheme: String) async {
        let client = TestClient(app: Self.makeAuthApp())
        let response = await client.get("/api/protected", headers: ["Authorization": scheme + " " + Self.access])
        #expect(response.status == 200)
    }

    @Test("a refresh token reaches the refresh route, and either type the logout route")
    func tokenTypes() async {
        let client = TestClient(app: Self.makeAuthApp())
        let refreshed = await client.request(.post, "/api/refresh", headers: Self.bearer(Self.refresh))
        #expect(refreshed.status == 200)
        #expect(refreshed["type"] == "refresh")
        #expect(await client.request(.post, "/api/logout", headers: Self.bearer(Self.access)).status == 204)
        #expect(await client.request(.post, "/api/logout", headers: Self.bearer(Self.refresh)).status == 204)
    }

    @Test("a role the token holds passes; a missing one is 403 with the error body and no challenge")
    func roles() async {
        let client = TestClient(app: Self.makeAuthApp())
        let allowed = await client.get("/api/admin", headers: Self.bearer(Self.admin))
        #expect(allowed.status == 200)
        #expect(allowed["roles"] == ["admin"])
        let refused = await client.get("/api/admin", headers: Self.bearer(Self.access))
        #expect(refused.status == 403)
        #expect(
            refused.text
                == #"{"error": "Forbidden", "message": "This resource requires the admin role.", "status": 403}"#)
        #expect(refused.headers["WWW-Authenticate"] == nil)
        #expect(refused.headers["Content-Type"] == "application/json")
    }

    @Test("roles compare exactly: Admin is not admin")
    func roleCase() async {
        let token = F.issuer.issue(.access, subject: "3", name: "eve", roles: ["Admin", "admin "], now: F.now).token
        #expect(await TestClient(app: Self.makeAuthApp()).get("/api/admin", headers: Self.bearer(token)).status == 403)
    }

    // MARK: No credentials

    @Test("no Authorization header is 401 with a bare Bearer challenge and the contract's body")
    func missingHeader() async {
        let client = TestClient(app: Self.makeAuthApp())
        for (method, path) in [
            (HTTPMethod.get, "/api/protected"), (.get, "/api/admin"), (.post, "/api/refresh"),
            (.post, "/api/logout"), (.get, "/api/me"),
        ] {
            let response = await client.request(method, path)
            #expect(response.status == 401, "\(path)")
            #expect(response.headers["WWW-Authenticate"] == "Bearer", "\(path)")
            #expect(response.text == Self.missingBody, "\(path)")
            #expect(response.headers["X-Request-Id"] != nil)
        }
    }

    // MARK: Rejected tokens

    struct Rejection: Sendable, CustomTestStringConvertible {
        let name: String
        let path: String
        let method: HTTPMethod
        let authorization: String
        let description: String
        var testDescription: String { name }

        init(
            _ name: String, _ authorization: String, _ description: String, path: String = "/api/protected",
            method: HTTPMethod = .get
        ) {
            self.name = name
            self.authorization = authorization
            self.description = description
            self.path = path
            self.method = method
        }
    }

    static let malformed = "The token is malformed."
    static let unsupported = "The token's algorithm is not supported."

    static let rejections: [Rejection] = {
        let claims = F.claimsText()
        let parts = access.split(separator: ".").map(String.init)
        let none = F.encode(#"{"alg":"none","typ":"JWT"}"#) + "." + F.encode(claims)
        return [
            Rejection("alg none without a signature", "Bearer " + none + ".", unsupported),
            Rejection(
                "alg none with a signature", "Bearer " + F.raw(header: #"{"alg":"none"}"#, payload: claims), unsupported
            ),
            Rejection("alg none, two parts", "Bearer " + none, malformed),
            Rejection(
                "HS512", "Bearer " + F.raw(header: #"{"alg":"HS512","typ":"JWT"}"#, payload: claims), unsupported),
            Rejection(
                "RS256", "Bearer " + F.raw(header: #"{"alg":"RS256","typ":"JWT"}"#, payload: claims), unsupported),
            Rejection("no alg", "Bearer " + F.raw(header: #"{"typ":"JWT"}"#, payload: claims), unsupported),
            Rejection(
                "crit", "Bearer " + F.raw(header: #"{"alg":"HS256","crit":["x"]}"#, payload: claims),
                "The token's header is not supported."),
            Rejection(
                "bad signature", "Bearer " + parts[0] + "." + parts[1] + "." + F.token().split(separator: ".")[2],
                "The token's signature is invalid."),
            Rejection("another key", "Bearer " + F.token(signer: F.otherSigner), "The token's key is not known."),
            Rejection(
                "another key, no kid",
                "Bearer " + F.raw(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: claims, signer: F.otherSigner),
                "The token's signature is invalid."),
            Rejection("expired", "Bearer " + F.token([("exp", .integer(F.now))]), "The token has expired."),
            Rejection(
                "nbf in the future", "Bearer " + F.token([("nbf", .integer(F.now + 60))]), "The token is not valid yet."
            ),
            Rejection(
                "iat in the future", "Bearer " + F.token([("iat", .integer(F.now + 60))]),
                "The token was issued in the future."),
            Rejection("refresh used as access", "Bearer " + refresh, "An access token is required."),
            Rejection(
                "access used as refresh", "Bearer " + access, "A refresh token is required.", path: "/api/refresh",
                method: .post),
            Rejection("two parts", "Bearer " + parts[0] + "." + parts[1], malformed),
            Rejection("four parts", "Bearer " + access + "." + parts[2], malformed),
            Rejection("bad base64", "Bearer " + parts[0] + "!." + parts[1] + "." + parts[2], malformed),
            Rejection("bad base64 signature", "Bearer " + parts[0] + "." + parts[1] + "." + parts[2] + "*", malformed),
            Rejection("padded base64", "Bearer " + parts[0] + "==." + parts[1] + "." + parts[2], malformed),
            Rejection("non-JSON payload", "Bearer " + F.raw(payload: "sub=42;exp=1900000000"), malformed),
            Rejection("payload an array", "Bearer " + F.raw(payload: #"[{"exp": 1900000000}]"#), malformed),
            Rejection(
                "exp as a string", "Bearer " + F.token([("exp", .string(String(F.now + 60)))]),
                "The token's exp claim is invalid."),
            Rejection("exp as 1.5", "Bearer " + F.token([("exp", 1.5)]), "The token's exp claim is invalid."),
            Rejection("no exp", "Bearer " + F.token([("exp", nil)]), "The token has no exp claim."),
            Rejection("no jti", "Bearer " + F.token([("jti", nil)]), "The token has no jti claim."),
            Rejection("sub as a number", "Bearer " + F.token([("sub", 42)]), "The token's sub claim is invalid."),
            Rejection("unknown type", "Bearer " + F.token([("type", "id")]), "The token's type claim is invalid."),
            Rejection("Basic scheme", "Basic YWxpY2U6c2VjcmV0", "The Authorization header must be a Bearer token."),
            Rejection("Bearer without a token", "Bearer", "The Authorization header must be a Bearer token."),
            Rejection("Bearer and a space", "Bearer ", "The Authorization header must be a Bearer token."),
            Rejection("token without scheme", access, "The Authorization header must be a Bearer token."),
            Rejection(
                "two tokens", "Bearer " + access + " " + access, "The Authorization header must be a Bearer token."),
            Rejection("garbage token", "Bearer not-a-token", malformed),
            Rejection(
                "a tab inside the token", "Bearer " + parts[0] + "\t." + parts[1] + "." + parts[2],
                "The Authorization header must be a Bearer token."),
            Rejection(
                "a vertical tab after the token", "Bearer " + access + "\u{0B}",
                "The Authorization header must be a Bearer token."),
            Rejection(
                "a no-break space inside the token", "Bearer " + parts[0] + "\u{A0}." + parts[1] + "." + parts[2],
                "The Authorization header must be a Bearer token."),
            Rejection(
                "an ideographic space after the token", "Bearer " + access + "\u{3000}",
                "The Authorization header must be a Bearer token."),
            Rejection("a non-ASCII token", "Bearer " + access + "\u{E9}", malformed),
        ]
    }()

    @Test("every rejected token is 401 with an invalid_token challenge naming the reason", arguments: rejections)
    func rejected(_ rejection: Rejection) async throws {
        let client = TestClient(app: Self.makeAuthApp())
        let response = await client.request(
            rejection.method, rejection.path, headers: ["Authorization": rejection.authorization])
        #expect(response.status == 401)
        #expect(response.headers["WWW-Authenticate"] == Self.invalidToken(rejection.description))
        #expect(response.headers.values(for: "WWW-Authenticate").count == 1)
        let body = try #require(response.json?.objectValue)
        #expect(body.keys == ["error", "message", "status"])
        #expect(body["error"] == "Unauthorized")
        #expect(body["message"] == .string(rejection.description))
        #expect(body["status"] == 401)
        let credentials = rejection.authorization.split(separator: " ").last.map(String.init) ?? ""
        if credentials.utf8.count > 8 {
            #expect(!response.text.contains(credentials))
            #expect(!(response.headers["WWW-Authenticate"] ?? "").contains(credentials))
        }
    }

    @Test("two Authorization headers are refused even when both are valid")
    func twoHeaders() async {
        // Straight to the app: the test client would merge the two fields into one.
        let headers = HTTPHeaders([
            ("Authorization", "Bearer " + Self.access), ("Authorization", "Bearer " + Self.access),
        ])
        let response = await Self.makeAuthApp().handle(
            Request(method: .get, target: "/api/protected", headers: headers))
        #expect(response.status.code == 401)
        #expect(response.headers["WWW-Authenticate"] == Self.invalidToken("Send one Authorization header."))
    }

    @Test("a revoked jti is refused, with the check asked only after the token verified")
    func revoked() async {
        let revocations = RevocationList()
        let client = TestClient(app: Self.makeAuthApp(revocations: revocations))
        let headers = Self.bearer(Self.access)
        #expect(await client.get("/api/protected", headers: headers).status == 200)
        #expect(await client.request(.post, "/api/logout", headers: headers).status == 204)
        let response = await client.get("/api/protected", headers: headers)
        #expect(response.status == 401)
        #expect(response.headers["WWW-Authenticate"] == Self.invalidToken("The token has been revoked."))
        #expect(await client.request(.post, "/api/logout", headers: headers).status == 401)
        let checks = revocations.checks
        #expect(await client.get("/api/protected", headers: Self.bearer(F.token(signer: F.otherSigner))).status == 401)
        #expect(await client.get("/api/protected", headers: Self.bearer(Self.refresh)).status == 401)
        #expect(revocations.checks == checks)
    }

    @Test("revoking one token leaves another of the same user valid")
    func revokeOne() async {
        let revocations = RevocationList()
        let client = TestClient(app: Self.makeAuthApp(revocations: revocations))
        #expect(await client.request(.post, "/api/logout", headers: Self.bearer(Self.refresh)).status == 204)
        #expect(await client.request(.post, "/api/refresh", headers: Self.bearer(Self.refresh)).status == 401)
        #expect(await client.get("/api/protected", headers: Self.bearer(Self.access)).status == 200)
    }

    @Test("a failing revocation check is a 500, never a pass")
    func revocationFailure() async {
        let client = TestClient(app: Self.makeAuthApp(storageDown: true))
        let response = await client.get("/api/protected", headers: Self.bearer(Self.access))
        #expect(response.status == 500)
        #expect(response["message"] == .string(HTTPError.defaultMessage(for: .internalServerError)))
    }

    // MARK: Routes without auth

    @Test("routes without a requirement are not touched, whatever the credentials")
    func untouched() async {
        let revocations = RevocationList()
        let client = TestClient(app: Self.makeAuthApp(trustProxyHeaders: true, revocations: revocations))
        for headers: HTTPHeaders in [
            [:], ["Authorization": "Basic eA=="], Self.bearer(Self.access),
            ["X-Replit-User-Id": "7"],
        ] {
            let response = await client.get("/api/open", headers: headers)
            #expect(response.status == 200)
            #expect(response.text == #"{"identified": false}"#)
        }
        #expect(revocations.checks == 0)
    }

    @Test("unknown paths and wrong methods keep their 404 and 405")
    func routingFirst() async {
        let client = TestClient(app: Self.makeAuthApp())
        #expect(await client.get("/api/nowhere").status == 404)
        let wrongMethod = await client.request(.delete, "/api/protected")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers["WWW-Authenticate"] == nil)
    }

    // MARK: Proxy identity

    static let proxyHeaders: HTTPHeaders = [
        "X-Replit-User-Id": "7", "X-Replit-User-Name": "carol", "X-Replit-User-Roles": " ops, ,admin ,, viewer",
    ]

    @Test("trusted proxy headers identify the caller on routes that allow them")
    func proxyTrusted() async {
        let client = TestClient(app: Self.makeAuthApp(trustProxyHeaders: true))
        let response = await client.get("/api/me", headers: Self.proxyHeaders)
        #expect(response.status == 200)
        #expect(
            response.text
                == #"{"identified": true, "id": "7", "name": "carol", "roles": ["ops", "admin", "viewer"], "auth": "proxy", "type": null}"#
        )
        #expect(await client.get("/api/ops", headers: Self.proxyHeaders).status == 200)
    }

    @Test("proxy headers are ignored entirely when not trusted")
    func proxyUntrusted() async {
        let client = TestClient(app: Self.makeAuthApp(trustProxyHeaders: false))
        for path in ["/api/me", "/api/ops"] {
            let response = await client.get(path, headers: Self.proxyHeaders)
            #expect(response.status == 401)
            #expect(response.headers["WWW-Authenticate"] == "Bearer")
            #expect(response.text == Self.missingBody)
        }
        #expect(await client.get("/api/home", headers: Self.proxyHeaders).text == #"{"identified": false}"#)
    }

    @Test("routes that do not allow proxy identity still need a token")
    func proxyNotAllowed() async {
        let client = TestClient(app: Self.makeAuthApp(trustProxyHeaders: true))
        for (method, path) in [
            (HTTPMethod.get, "/api/protected"), (.get, "/api/admin"), (.post, "/api/refresh"),
            (.post, "/api/logout"),
        ] {
            let response = await client.request(method, path, headers: Self.proxyHeaders)
            #expect(response.status == 401, "\(path)")
            #expect(response.headers["WWW-Authenticate"] == "Bearer", "\(path)")
        }
    }

    @Test("proxy roles are checked like token roles")
    func proxyRoles() async {
        let client = TestClient(app: Self.makeAuthApp(trustProxyHeaders: true))
        var headers = Self.proxyHeaders
        headers["X-Replit-User-Roles"] = "admin,viewer"
        let response = await client.get("/api/ops", headers: headers)
        #expect(response.status == 403)
        #expect(response["message"] == "This resource requires the ops role.")
        headers["X-Replit-User-Roles"] = nil
        #expect(await client.get("/api/ops", headers: headers).status == 403)
        let me = await client.get("/api/me", headers: headers)
        #expect(me["roles"] == [])
    }

    @Test("an empty proxy user id is no identity")
    func proxyEmptyID() async {
        let client = TestClient(app: Self.makeAuthApp(trustProxyHeaders: true))
        let response = await client.get("/api/me", headers: ["X-Replit-User-Id": "", "X-Replit-User-Name": "x"])
        #expect(response.status == 401)
        #expect(response.headers["WWW-Authenticate"] == "Bearer")
    }

    @Test("a bearer token, when sent, takes precedence over proxy headers")
    func tokenPrecedence() async {
        let client = TestClient(app: Self.makeAuthApp(trustProxyHeaders: true))
        var headers = Self.proxyHeaders
        headers["Authorization"] = "Bearer " + Self.access
        let valid = await client.get("/api/me", headers: headers)
        #expect(valid["auth"] == "jwt")
        #expect(valid["id"] == "42")
        headers["Authorization"] = "Bearer " + F.token(signer: F.otherSigner)
        let invalid = await client.get("/api/me", headers: headers)
        #expect(invalid.status == 401)
        #expect(invalid.headers["WWW-Authenticate"] == Self.invalidToken("The token's key is not known."))
    }

    @Test("proxy roles: trimmed, empty items dropped, order kept")
    func proxyRoleParsing() {
        func roles(_ header: String?) -> [String]? {
            var headers: HTTPHeaders = ["X-Replit-User-Id": "7"]
            headers["X-Replit-User-Roles"] = header
            return Identity(proxyHeaders: headers)?.roles
        }
        #expect(roles(nil) == [])
        #expect(roles("") == [])
        #expect(roles(",, ,") == [])
        #expect(roles("admin") == ["admin"])
        #expect(roles(" admin ,\tops\t,, viewer") == ["admin", "ops", "viewer"])
        #expect(roles("a b, c") == ["a b", "c"])
        #expect(Identity(proxyHeaders: ["X-Replit-User-Name": "x"]) == nil)
        #expect(Identity(proxyHeaders: ["x-replit-user-id": "9"])?.name == "")
        #expect(Identity(proxyHeaders: ["x-replit-user-id": "9"])?.method == .proxy)
        #expect(Identity(proxyHeaders: ["x-replit-user-id": "9"])?.claims == nil)
    }

    // MARK: Optional

    @Test("an optional route never rejects, and identifies only by access token or trusted proxy")
    func optional() async {
        let client = TestClient(app: Self.makeAuthApp(trustProxyHeaders: true))
        let anonymous = #"{"identified": false}"#
        for headers: HTTPHeaders in [
            [:], ["Authorization": "Basic eA=="], Self.bearer("garbage"),
            Self.bearer(F.token([("exp", .integer(F.now))])), Self.bearer(Self.refresh),
            Self.bearer(F.token(signer: F.otherSigner)), ["X-Replit-User-Id": ""],
        ] {
            let response = await client.get("/api/home", headers: headers)
            #expect(response.status == 200)
            #expect(response.text == anonymous)
            #expect(response.headers["WWW-Authenticate"] == nil)
        }
        let byToken = await client.get("/api/home", headers: Self.bearer(Self.access))
        #expect(byToken["auth"] == "jwt")
        #expect(byToken["name"] == "alice")
        let byProxy = await client.get("/api/home", headers: Self.proxyHeaders)
        #expect(byProxy["auth"] == "proxy")
        #expect(byProxy["name"] == "carol")
    }

    @Test("an optional route ignores a revoked token")
    func optionalRevoked() async {
        let revocations = RevocationList()
        let client = TestClient(app: Self.makeAuthApp(revocations: revocations))
        #expect(await client.request(.post, "/api/logout", headers: Self.bearer(Self.access)).status == 204)
        let response = await client.get("/api/home", headers: Self.bearer(Self.access))
        #expect(response.status == 200)
        #expect(response.text == #"{"identified": false}"#)
    }

    // MARK: Declaration

    @Test("blueprint routes record their requirement in the route metadata")
    func metadata() {
        let api = Blueprint("api", prefix: "/api")
        api.get("/a") { _ in .empty() }
        api.post("/b", auth: .refreshToken) { _ in .empty() }
        api.put("/c", auth: .accessToken(role: "admin")) { _ in .empty() }
        api.patch("/d", auth: .accessToken(allowProxy: true)) { _ in .empty() }
        api.delete("/e", auth: .anyToken) { _ in .empty() }
        api.route(.get, "/f", auth: .optional) { _ in .empty() }
        let requirements = api.routes.map(\.metadata.auth)
        #expect(
            requirements == [
                .none, .refreshToken, .accessToken(role: "admin"), .accessToken(allowProxy: true), .anyToken, .optional,
            ])
        #expect(requirements[2].role == "admin")
        #expect(!requirements[2].allowsProxy)
        #expect(requirements[3].allowsProxy)
        #expect(AuthRequirement.accessToken == .accessToken())
        #expect(AuthRequirement.accessToken != .anyToken)
        #expect(RouteMetadata().auth == .none)
    }
}
