// `GET /`: the signed-in user from the platform's identity headers, or a login page (the guide's).

import Flagon

extension Blueprints {
    /// The guide's Replit Auth page: who is signed in, or how to sign in.
    static func home() -> Blueprint {
        let home = Blueprint("home")
        home.get(
            "/", name: "index", summary: "The signed-in user, or a login page", auth: .optional,
            response: .html("The signed-in user, or how to sign in.")
        ) { request in
            guard let identity = request.identity else {
                return .html(
                    page(
                        title: "Sign in",
                        body: """
                            <p>You are not signed in.</p>
                            <p>Sign in through the hosting platform, or get a token with
                            <code>POST /api/auth/login</code>; the API is described at <a href="/docs">/docs</a>.</p>
                            """))
            }
            let roles = identity.roles.isEmpty ? "none" : identity.roles.map(escape).joined(separator: ", ")
            return .html(
                page(
                    title: "Signed in",
                    body: """
                        <p>Signed in as <strong>\(escape(identity.name))</strong>
                        (id <code>\(escape(identity.id))</code>, roles: \(roles), via \(identity.method.rawValue)).</p>
                        """))
        }
        return home
    }

    private static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>tasks-api: \(title)</title></head>
        <body><h1>\(title)</h1>
        \(body)
        </body></html>
        """
    }

    /// HTML-escapes text from headers or tokens before it goes into the page.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
