// The users blueprint: who am I, and the admin's list of accounts (API contract §4).

import Flagon

extension Blueprints {
    /// `GET /api/users/me` (a token or the platform's proxy identity) and `GET /api/users` (admin).
    static func users(accounts: Accounts) -> Blueprint {
        let users = Blueprint("users", prefix: "/api/users")

        users.get(
            "/me", name: "me", operationId: "getCurrentUser", summary: "The caller's account",
            auth: .accessToken(allowProxy: true),
            response: .json("The caller.", schema: Schemas.currentUser)
        ) { request in
            guard let identity = request.identity else { throw HTTPError(.unauthorized) }
            if identity.method == .proxy {
                // The platform's user: its own id, not an account of this service.
                return .json([
                    "id": .string(identity.id), "username": .string(identity.name),
                    "roles": .array(identity.roles.map { .string($0) }), "auth": "proxy",
                ])
            }
            let user = try accounts.currentUser(of: identity)
            return .json([
                "id": .integer(user.id), "username": .string(user.username),
                "roles": .array(user.roles.map { .string($0) }), "auth": "jwt",
            ])
        }

        users.get(
            "", name: "list", operationId: "listUsers", summary: "Every account, a page at a time",
            auth: .accessToken(role: "admin"), query: PageQuery.schema,
            response: .page("One page of accounts.", item: User.resource.schema)
        ) { request in
            let page = try request.query(PageQuery.self)
            let (rows, total) = try accounts.store.users(offset: page.offset, limit: page.perPage)
            return Pagination(page: page, total: total).response(items: rows.map(\.json), for: request)
        }
        return users
    }
}
