// The auth blueprint: register, login, refresh and logout (API contract §4).

import Flagon

extension Blueprints {
    /// `POST /api/auth/register`, `/login`, `/refresh`, `/logout`.
    static func auth(accounts: Accounts, tokens: TokenIssuer) -> Blueprint {
        let auth = Blueprint("auth", prefix: "/api/auth")

        auth.post(
            "/register", name: "register", operationId: "register", summary: "Create an account",
            body: Schemas.credentials,
            response: .json("The new account.", schema: Schemas.registeredUser, status: .created),
            errors: [.conflict]
        ) { request in
            let user = try accounts.create(try request.decode(RegisterInput.self))
            return .json(
                ["id": .integer(user.id), "username": .string(user.username), "roles": .array([])],
                status: .created)
        }

        auth.post(
            "/login", name: "login", operationId: "login",
            summary: "Exchange credentials for an access and a refresh token", body: Schemas.login,
            response: .json("The tokens.", schema: Schemas.tokenPair),
            errors: [.unauthorized]
        ) { request in
            let user = try accounts.authenticate(try request.decode(LoginInput.self))
            let access = tokens.issue(.access, subject: String(user.id), name: user.username, roles: user.roles)
            let refresh = tokens.issue(.refresh, subject: String(user.id), name: user.username, roles: user.roles)
            return .json([
                "access_token": .string(access.token), "refresh_token": .string(refresh.token),
                "token_type": "Bearer", "expires_in": .integer(access.expiresIn),
            ])
        }

        auth.post(
            "/refresh", name: "refresh", operationId: "refreshToken", summary: "A new access token for a refresh token",
            auth: .refreshToken,
            response: .json("A new access token.", schema: Schemas.accessToken)
        ) { request in
            // The account is read again: a deleted user gets no new token, and changed roles apply.
            let user = try accounts.currentUser(of: request.identity)
            let access = tokens.issue(.access, subject: String(user.id), name: user.username, roles: user.roles)
            return .json([
                "access_token": .string(access.token), "token_type": "Bearer", "expires_in": .integer(access.expiresIn),
            ])
        }

        auth.post(
            "/logout", name: "logout", operationId: "logout", summary: "Revoke the token sent, in every worker",
            auth: .anyToken,
            response: .noContent("The token is revoked.")
        ) { request in
            guard let identity = request.identity, let jti = identity.tokenID, let expiresAt = identity.expiresAt else {
                throw HTTPError(.unauthorized, headers: ["WWW-Authenticate": "Bearer"])
            }
            try accounts.store.revoke(jti: jti, expiresAt: expiresAt, now: UnixTime.now())
            return .empty()
        }
        return auth
    }
}
