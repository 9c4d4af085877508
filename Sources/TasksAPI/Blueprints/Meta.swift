// The meta routes: the guide's hello endpoint and the health check.

import Flagon

extension Blueprints {
    /// `GET /api/hello`, `GET /api/protected`, `GET /api/limited-endpoint`, `GET /healthz`,
    /// `GET /openapi.json` and `GET /docs` (API contract §3, §4 and §6).
    static func meta(database: Database, docs: APIDocs, templates: Templates) -> [Blueprint] {
        let api = Blueprint("meta", prefix: "/api")
        // The greeting never changes: serialised once, not per request.
        let hello = Response.json(["message": "Hello, World!"])
        api.get(
            "/hello", name: "hello", operationId: "hello", summary: "A greeting",
            response: .json("The greeting.", schema: Schemas.message)
        ) { _ in hello }
        api.get(
            "/protected", name: "protected", operationId: "getProtected", summary: "The guide's protected route",
            auth: .accessToken,
            response: .json("Access granted.", schema: Schemas.protected)
        ) { request in
            .json([
                "msg": "Access granted to protected resource", "user": .string(request.identity?.name ?? ""),
            ])
        }

        // The guide's `@limiter.limit("5 per minute")` example: this limit replaces the default.
        let limited = Response.json(["message": "This endpoint is rate limited"])
        api.get(
            "/limited-endpoint", name: "limited_endpoint", operationId: "getLimited",
            summary: "Limited to 5 requests per minute per client",
            limit: [RateLimit(5, per: .minute)], response: .json("The message.", schema: Schemas.message)
        ) { _ in limited }

        let health = Blueprint("health")
        health.get(
            "/healthz", name: "healthz", operationId: "healthCheck", summary: "Liveness and database check",
            response: .json("The service and its database are up.", schema: Schemas.health),
            errors: [.serviceUnavailable]
        ) { _ in
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

        // The same blueprint's routes outside its `/api` prefix; both exempt from rate limits
        // by path (RateLimitMiddleware.defaultExemptPaths).
        let site = Blueprint("meta")
        site.get(
            "/openapi.json", name: "openapi", operationId: "getOpenAPIDocument", summary: "This OpenAPI 3.1 document",
            response: .json("The OpenAPI document of every route.", schema: Schemas.openAPIDocument)
        ) { _ in try docs.documentResponse() }
        site.get(
            "/docs", name: "docs", operationId: "getDocs", summary: "The API documentation, rendered by Swagger UI",
            response: .html("A page rendering /openapi.json with Swagger UI, whose files nginx serves.")
        ) { _ in try templates.docsPage(title: Application.title, documentPath: "/openapi.json") }
        return [api, health, site]
    }
}

/// Namespace of the application's blueprints, one file each.
enum Blueprints {}
