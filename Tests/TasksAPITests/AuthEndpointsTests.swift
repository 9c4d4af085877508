// The accounts routes through the in-memory test client, on a real SQLite file (API contract §4).

import Flagon
import Foundation
import TasksAPI
import Testing

@Suite("Auth endpoints")
struct AuthEndpointsTests {
    @Test("register answers 201 with id, username and no roles; the same name again (any case) is 409")
    func register() async throws {
        try await AccountsFixture.with { fixture in
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

    @Test("register validates every field at once with marshmallow's messages")
    func registerValidation() async throws {
        try await AccountsFixture.with { fixture in
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

    @Test("login: tokens with the contract's claims; wrong password and unknown user are the same 401")
    func login() async throws {
        try await AccountsFixture.with { fixture in
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

    @Test("configured lifetimes apply to the tokens")
    func lifetimes() async throws {
        try await AccountsFixture.with(["JWT_ACCESS_TOKEN_EXPIRES": "60", "JWT_REFRESH_TOKEN_EXPIRES": "120"]) {
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

    @Test("protected needs an access token; a refresh token is refused there")
    func protected() async throws {
        try await AccountsFixture.with { fixture in
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

    @Test("refresh gives a new access token for a refresh token only")
    func refresh() async throws {
        try await AccountsFixture.with { fixture in
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

    @Test("logout revokes exactly the token sent")
    func logout() async throws {
        try await AccountsFixture.with { fixture in
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

    @Test("users/me answers from the account for a token, from the headers for a trusted proxy identity")
    func me() async throws {
        try await AccountsFixture.with(["TRUST_PROXY_AUTH": "true"]) { fixture in
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

    @Test("users is admin only and paginated")
    func usersList() async throws {
        try await AccountsFixture.with { fixture in
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

    @Test("create(username:password:roles:) validates like registration")
    func createValidates() async throws {
        try await AccountsFixture.with { fixture in
            #expect(throws: HTTPError.self) {
                try fixture.application.accounts.create(username: "x", password: "long enough password")
            }
            let admin = try fixture.application.accounts.create(
                username: "root", password: "root password", roles: ["admin"])
            #expect(admin.roles == ["admin"])
        }
    }
}
