// The accounts routes through the in-memory test client, on SQLite and on PostgreSQL (API contract §4).

import Flagon
import Foundation
import TasksAPI
import Testing

@Suite("Auth endpoints")
struct AuthEndpointsTests {
    @Test(
        "register answers 201 with id, username and no roles; the same name again (any case) is 409",
        arguments: Backend.allCases)
    func register(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let created = await fixture.register("alice")
            #expect(created.status == 201)
            #expect(created.text == #"{"id": 1, "username": "alice", "roles": []}"#)
            let again = await fixture.register("alice")
            #expect(again.status == 409)
            #expect(again["error"] == "Conflict")
            #expect(again["message"] == "The username is already taken.")
            #expect(await fixture.register("ALICE").status == 409)
        }
    }

    @Test("register validates every field at once with marshmallow's messages", arguments: Backend.allCases)
    func registerValidation(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let response = await fixture.client.send(
                .post, "/api/auth/register", json: ["username": "a b", "password": "short", "admin": true])
            #expect(response.status == 400)
            #expect(response["message"] == "Validation failed.")
            let errors = try #require(response["errors"]?.objectValue)
            #expect(errors["username"] == ["String does not match expected pattern."])
            #expect(errors["password"] == ["Length must be between 8 and 128."])
            #expect(errors["admin"] == ["Unknown field."])
            let missing = await fixture.client.send(.post, "/api/auth/register", json: [:])
            #expect(missing["errors"]?.objectValue?["username"] == ["Missing data for required field."])
            #expect(missing["errors"]?.objectValue?["password"] == ["Missing data for required field."])
            let long = await fixture.register(String(repeating: "x", count: 33))
            #expect(long["errors"]?.objectValue?["username"] == ["Length must be between 3 and 32."])
        }
    }

    @Test(
        "login: tokens with the contract's claims; wrong password and unknown user are the same 401",
        arguments: Backend.allCases)
    func login(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            _ = await fixture.register("alice")
            let response = await fixture.login("alice")
            #expect(response.status == 200)
            #expect(response["token_type"] == "Bearer")
            #expect(response["expires_in"] == 900)
            let access = try #require(response["access_token"]?.stringValue)
            let signer = JWTSigner(secret: fixture.application.settings.jwtSecretKey)
            let claims = try signer.verify(access, now: UnixTime.now())
            #expect(claims["sub"] == "1")
            #expect(claims["name"] == "alice")
            #expect(claims["roles"] == [])
            #expect(claims["type"] == "access")
            #expect(claims["jti"]?.stringValue?.count == 32)
            guard case .integer(let iat) = claims["iat"], case .integer(let exp) = claims["exp"] else {
                Issue.record("iat/exp are not integers")
                return
            }
            #expect(exp - iat == 900)
            #expect(claims["nbf"] == .integer(iat))
            let refresh = try #require(response["refresh_token"]?.stringValue)
            let refreshClaims = try signer.verify(refresh, now: UnixTime.now())
            #expect(refreshClaims["type"] == "refresh")

            let wrong = await fixture.login("alice", "not the password")
            let unknown = await fixture.login("nobody", "not the password")
            #expect(wrong.status == 401 && unknown.status == 401)
            #expect(wrong.text == unknown.text)
            #expect(wrong["message"] == "Invalid credentials")
            #expect(wrong.headers["WWW-Authenticate"] == "Bearer")
        }
    }

    @Test("configured lifetimes apply to the tokens", arguments: Backend.allCases)
    func lifetimes(backend: Backend) async throws {
        try await AccountsFixture.with(
            ["JWT_ACCESS_TOKEN_EXPIRES": "60", "JWT_REFRESH_TOKEN_EXPIRES": "120"], on: backend
        ) {
            fixture in
            _ = await fixture.register("alice")
            let response = await fixture.login("alice")
            #expect(response["expires_in"] == 60)
            let refresh = try #require(response["refresh_token"]?.stringValue)
            let claims = try JWTSigner(secret: fixture.application.settings.jwtSecretKey)
                .verify(refresh, now: UnixTime.now())
            guard case .integer(let iat) = claims["iat"], case .integer(let exp) = claims["exp"] else {
                Issue.record("iat/exp are not integers")
                return
            }
            #expect(exp - iat == 120)
        }
    }

    @Test(
        "after key rotation a token of the previous key is still accepted; once the key is removed it is not",
        arguments: Backend.allCases)
    func keyRotation(backend: Backend) async throws {
        try await withTemporaryDirectory { folder in
            let oldKey = String(repeating: "o", count: 40)
            let newKey = String(repeating: "n", count: 40)
            let database = try backend.databaseURL(folder: folder)
            func client(_ overrides: [String: String]) async throws -> TestClient {
                let values = ["ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "DATABASE_URL": database]
                    .merging(overrides) { $1 }
                let config = try await Config.load(overrides: values, environment: [:], instancePath: folder)
                return TestClient(app: try await makeApplication(config: config, logger: quietLogger).app)
            }
            func login(_ client: TestClient) async throws -> (access: String, refresh: String) {
                let response = await client.send(
                    .post, "/api/auth/login", json: ["username": "alice", "password": "a good password"])
                return (
                    try #require(response["access_token"]?.stringValue),
                    try #require(response["refresh_token"]?.stringValue)
                )
            }
            func bearer(_ token: String) -> HTTPHeaders { ["Authorization": "Bearer \(token)"] }

            let before = try await client(["JWT_SECRET_KEY": oldKey])
            _ = await before.send(
                .post, "/api/auth/register", json: ["username": "alice", "password": "a good password"])
            let old = try await login(before)

            let rotated = try await client(["JWT_SECRET_KEY": newKey, "JWT_PREVIOUS_SECRET_KEYS": oldKey])
            #expect(await rotated.get("/api/protected", headers: bearer(old.access)).status == 200)
            let refreshed = await rotated.request(.post, "/api/auth/refresh", headers: bearer(old.refresh))
            #expect(refreshed.status == 200)
            let fresh = try #require(refreshed["access_token"]?.stringValue)
            #expect(await rotated.get("/api/protected", headers: bearer(fresh)).status == 200)
            // The new key signs: the fresh token names it, and the old configuration does not know it.
            #expect(await before.get("/api/protected", headers: bearer(fresh)).status == 401)

            let after = try await client(["JWT_SECRET_KEY": newKey])
            let refused = await after.get("/api/protected", headers: bearer(old.access))
            #expect(refused.status == 401)
            #expect(refused["message"] == "The token's key is not known.")
            #expect(await after.get("/api/protected", headers: bearer(fresh)).status == 200)
        }
    }

    @Test(
        "a stored hash with absurd costs is refused without computing it, logged with the user id",
        arguments: Backend.allCases)
    func absurdStoredHash(backend: Backend) async throws {
        let capture = LogCapture()
        try await withTemporaryDirectory { folder in
            let values = [
                "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1",
                "DATABASE_URL": try backend.databaseURL(folder: folder),
            ]
            let config = try await Config.load(overrides: values, environment: [:], instancePath: folder)
            let application = try await makeApplication(config: config, logger: capture.logger)
            let client = TestClient(app: application.app)
            let user = try application.accounts.create(username: "alice", password: "a good password")
            let salt = "c2FsdHNhbHRzYWx0c2FsdA"
            let digest = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
            let absurd = "$argon2id$v=19$m=4194304,t=1000,p=1$\(salt)$\(digest)"
            try application.accounts.store.updatePasswordHash(userID: user.id, passwordHash: absurd)

            let hasher = application.accounts.hasher
            let before = hasher.computations
            #expect(hasher.check("a good password", encoded: absurd) == .costTooHigh)
            let response = await client.send(
                .post, "/api/auth/login", json: ["username": "alice", "password": "a good password"])
            #expect(response.status == 401)
            #expect(response["message"] == "Invalid credentials")
            // The stored hash was never computed: the login cost one dummy verification at the
            // configured cost, exactly what an unknown username costs, and answers the same.
            #expect(hasher.computations == before + 1)
            let unknown = await client.send(.post, "/api/auth/login", json: ["username": "bob", "password": "x"])
            #expect(unknown.text == response.text)
            #expect(hasher.computations == before + 2)
            let warning = try #require(
                capture.logged.first { $0.message.hasPrefix("refused a stored password hash") })
            #expect(warning.level == .warning)
            #expect(warning.metadata["user_id"] == String(user.id))
            #expect(!warning.metadata.values.contains { $0.contains(digest) || $0.contains(salt) })
        }
    }

    @Test("protected needs an access token; a refresh token is refused there", arguments: Backend.allCases)
    func protected(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let (access, refresh) = try await fixture.tokens(for: "alice")
            let granted = await fixture.get("/api/protected", token: access)
            #expect(granted.text == #"{"msg": "Access granted to protected resource", "user": "alice"}"#)
            let none = await fixture.client.get("/api/protected")
            #expect(none.status == 401)
            #expect(none.headers["WWW-Authenticate"] == "Bearer")
            let wrongType = await fixture.get("/api/protected", token: refresh)
            #expect(wrongType.status == 401)
            #expect(wrongType.headers["WWW-Authenticate"]?.hasPrefix("Bearer error=\"invalid_token\"") == true)
        }
    }

    @Test("refresh gives a new access token for a refresh token only", arguments: Backend.allCases)
    func refresh(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let (access, refresh) = try await fixture.tokens(for: "alice")
            let renewed = await fixture.post("/api/auth/refresh", token: refresh)
            #expect(renewed.status == 200)
            #expect(renewed["refresh_token"] == nil)
            #expect(renewed["token_type"] == "Bearer")
            let fresh = try #require(renewed["access_token"]?.stringValue)
            #expect(fresh != access)
            #expect(await fixture.get("/api/protected", token: fresh).status == 200)
            #expect(await fixture.post("/api/auth/refresh", token: access).status == 401)
        }
    }

    @Test("logout revokes exactly the token sent", arguments: Backend.allCases)
    func logout(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let (access, refresh) = try await fixture.tokens(for: "alice")
            let second = try #require(await fixture.login("alice")["access_token"]?.stringValue)
            #expect(await fixture.post("/api/auth/logout", token: access).status == 204)
            let refused = await fixture.get("/api/protected", token: access)
            #expect(refused.status == 401)
            #expect(refused.headers["WWW-Authenticate"]?.contains("invalid_token") == true)
            #expect(await fixture.get("/api/protected", token: second).status == 200)
            // A refresh token can be logged out too, and then no longer refreshes.
            #expect(await fixture.post("/api/auth/logout", token: refresh).status == 204)
            #expect(await fixture.post("/api/auth/refresh", token: refresh).status == 401)
            #expect(await fixture.post("/api/auth/logout", token: access).status == 401)
        }
    }

    @Test(
        "users/me answers from the account for a token, from the headers for a trusted proxy identity",
        arguments: Backend.allCases)
    func me(backend: Backend) async throws {
        try await AccountsFixture.with(["TRUST_PROXY_AUTH": "true"], on: backend) { fixture in
            let (access, _) = try await fixture.tokens(for: "alice")
            let me = await fixture.get("/api/users/me", token: access)
            #expect(me.text == #"{"id": 1, "username": "alice", "roles": [], "auth": "jwt"}"#)
            let proxy = await fixture.client.get(
                "/api/users/me",
                headers: ["X-Replit-User-Id": "77", "X-Replit-User-Name": "carol", "X-Replit-User-Roles": "a,b"])
            #expect(proxy.text == #"{"id": "77", "username": "carol", "roles": ["a", "b"], "auth": "proxy"}"#)
        }
        try await AccountsFixture.with { fixture in
            let ignored = await fixture.client.get(
                "/api/users/me", headers: ["X-Replit-User-Id": "77", "X-Replit-User-Name": "carol"])
            #expect(ignored.status == 401)
        }
    }

    @Test("users is admin only and paginated", arguments: Backend.allCases)
    func usersList(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            _ = try fixture.application.accounts.create(username: "root", password: "root password", roles: ["admin"])
            for name in ["bob", "carol", "dave"] { _ = await fixture.register(name) }
            let admin = try #require(await fixture.login("root", "root password")["access_token"]?.stringValue)
            let page = await fixture.get("/api/users?page=2&per_page=2", token: admin)
            #expect(page.status == 200)
            #expect(page["total"] == 4)
            #expect(page["pages"] == 2)
            #expect(page["page"] == 2)
            guard case .array(let items) = page["items"] else {
                Issue.record("no items")
                return
            }
            #expect(items.map { $0.objectValue?["username"] } == ["carol", "dave"])
            #expect(items.first?.objectValue?["password_hash"] == nil)
            #expect(page.headers["Link"] == "</api/users?page=1&per_page=2>; rel=\"prev\"")
            let invalid = await fixture.get("/api/users?per_page=0", token: admin)
            #expect(invalid.status == 400)
            #expect(
                invalid["errors"]?.objectValue?["per_page"]
                    == ["Must be greater than or equal to 1 and less than or equal to 100."])

            let (user, _) = try await fixture.tokens(for: "erin")
            let forbidden = await fixture.get("/api/users", token: user)
            #expect(forbidden.status == 403)
            #expect(forbidden["error"] == "Forbidden")
        }
    }

    @Test("the home page greets a proxy identity, escaped, and otherwise shows the login page")
    func home() async throws {
        try await AccountsFixture.with(["TRUST_PROXY_AUTH": "true"]) { fixture in
            let anonymous = await fixture.client.get("/")
            #expect(anonymous.status == 200)
            #expect(anonymous.headers["Content-Type"] == "text/html; charset=utf-8")
            #expect(anonymous.text.contains("You are not signed in."))
            let signedIn = await fixture.client.get(
                "/", headers: ["X-Replit-User-Id": "9", "X-Replit-User-Name": "<script>x</script>"])
            #expect(signedIn.text.contains("Signed in as <strong>&lt;script&gt;x&lt;/script&gt;</strong>"))
            #expect(!signedIn.text.contains("<script>"))
        }
    }

    @Test("create(username:password:roles:) validates like registration", arguments: Backend.allCases)
    func createValidates(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            #expect(throws: HTTPError.self) {
                try fixture.application.accounts.create(username: "x", password: "long enough password")
            }
            let admin = try fixture.application.accounts.create(
                username: "root", password: "root password", roles: ["admin"])
            #expect(admin.roles == ["admin"])
        }
    }
}
