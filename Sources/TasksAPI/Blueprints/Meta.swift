// The meta routes: the guide's hello endpoint and the health check.

import Flagon

extension Blueprints {
    /// `GET /api/hello`, `GET /api/protected`, `GET /api/limited-endpoint` and `GET /healthz`
    /// (API contract §3, §4 and §6).
    static func meta(database: Database) -> [Blueprint] {
        let api = Blueprint("meta", prefix: "/api")
        // The greeting never changes: serialised once, not per request.
        let hello = Response.json(["message": "Hello, World!"])
        api.get("/hello", name: "hello", summary: "A greeting") { _ in hello }
        api.get("/protected", name: "protected", summary: "The guide's protected route", auth: .accessToken) {
            request in
            .json([
                "msg": "Access granted to protected resource", "user": .string(request.identity?.name ?? ""),
            ])
        }

        // The guide's `@limiter.limit("5 per minute")` example: this limit replaces the default.
        let limited = Response.json(["message": "This endpoint is rate limited"])
        api.get(
            "/limited-endpoint", name: "limited_endpoint", summary: "Limited to 5 requests per minute per client",
            limit: [RateLimit(5, per: .minute)]
        ) { _ in limited }

        let health = Blueprint("health")
        health.get("/healthz", name: "healthz", summary: "Liveness and database check") { _ in
            if database.isHealthy() {
                return .json(["status": "ok", "database": "ok"])
            }
            let error = HTTPError(.serviceUnavailable, message: "The database is unavailable.")
            guard case .object(var body) = error.body else { return error.response }
            body["database"] = "unavailable"
            var response = Response.json(.object(body), status: .serviceUnavailable)
            response.headers["Retry-After"] = "5"
            return response
        }
        return [api, health]
    }
}

/// Namespace of the application's blueprints, one file each.
enum Blueprints {}
