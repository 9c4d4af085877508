// `GET /`: the signed-in user from the platform's identity headers, or a login page (the guide's).

import Flagon

extension Blueprints {
    /// The guide's Replit Auth page: `index.html` for the signed-in user, `login.html` otherwise.
    static func home(templates: Templates) -> Blueprint {
        let home = Blueprint("home")
        home.get(
            "/", name: "index", operationId: "getHome", summary: "The signed-in user, or a login page", auth: .optional,
            response: .html("The signed-in user, or how to sign in.")
        ) { request in
            guard let identity = request.identity else { return try templates.page("login", [:]) }
            return try templates.page(
                "index",
                [
                    "id": identity.id, "name": identity.name, "roles": identity.roles,
                    "method": identity.method.rawValue,
                ])
        }
        return home
    }
}
