// CORS for configured origins: actual requests, preflights, error responses, other paths.

import Flagon
import Testing

@Suite("CORS")
struct CORSTests {
    static let allowed = "https://app.example"
    static let exposed =
        "Location, X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, ETag"

    /// CORS, then a 1-per-hour rate limit, then auth, as the application orders them.
    static func makeCORSApp(origins: [String] = [allowed]) -> TestClient {
        let api = Blueprint("api", prefix: "/api")
        api.get("/items", name: "items") { _ in .json(["ok": true]) }
        api.post("/items", name: "create") { _ in .json(["ok": true], status: .created) }
        api.get("/private", name: "private", auth: .accessToken) { _ in .json(["ok": true]) }
        let root = Blueprint("root")
        root.get("/healthz", name: "healthz") { _ in .json(["status": "ok"]) }
        var app = makeApp(api, root)
        app.use(CORSMiddleware(allowedOrigins: origins))
        app.use(RateLimitMiddleware(defaultLimits: [RateLimit(1, per: .hour)], store: MemoryRateLimitStore()))
        app.use(AuthMiddleware(signer: JWTSigner(secret: String(repeating: "k", count: 32))) { _ in false })
        return TestClient(app: app)
    }

    static func accessControlHeaders(_ response: TestResponse) -> [String] {
        response.headers.map(\.name).filter { $0.lowercased().hasPrefix("access-control-") }
    }

    static let preflightHeaders: HTTPHeaders = [
        "Origin": allowed, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
    ]

    @Test("an allowed origin gets Allow-Origin, Vary and the exposed headers")
    func allowedOrigin() async {
        let response = await Self.makeCORSApp().get("/api/items", headers: ["Origin": Self.allowed])
        #expect(response.status == 200)
        #expect(response.headers["Access-Control-Allow-Origin"] == Self.allowed)
        #expect(response.headers["Vary"] == "Origin")
        #expect(response.headers["Access-Control-Expose-Headers"] == Self.exposed)
        #expect(response.headers["Access-Control-Allow-Credentials"] == nil)
        #expect(response.headers["X-RateLimit-Limit"] == "1")
    }

    @Test(
        "a refused origin, or none, gets no Access-Control-* header but still Vary: Origin",
        arguments: ["https://evil.example", "https://app.example.evil", "http://app.example", "null", ""])
    func refusedOrigin(origin: String) async {
        let headers: HTTPHeaders = origin.isEmpty ? [:] : ["Origin": origin]
        let response = await Self.makeCORSApp().get("/api/items", headers: headers)
        #expect(response.status == 200)
        #expect(Self.accessControlHeaders(response).isEmpty)
        #expect(response.headers["Vary"] == "Origin")
    }

    @Test("a preflight from an allowed origin is 204 with exactly the CORS headers, before limits and auth")
    func preflight() async {
        let client = Self.makeCORSApp()
        for target in ["/api/items", "/api/private", "/api/private"] {
            let response = await client.request(.options, target, headers: Self.preflightHeaders)
            #expect(response.status == 204)
            #expect(response.response.body.isEmpty)
            #expect(
                Self.accessControlHeaders(response) == [
                    "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                    "Access-Control-Max-Age",
                ])
            #expect(response.headers["Access-Control-Allow-Origin"] == Self.allowed)
            #expect(response.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, PATCH, DELETE")
            #expect(response.headers["Access-Control-Allow-Headers"] == "Content-Type, Authorization")
            #expect(response.headers["Access-Control-Max-Age"] == "600")
            #expect(response.headers["Vary"] == "Origin")
            #expect(response.headers["X-RateLimit-Limit"] == nil)
            #expect(response.headers["WWW-Authenticate"] == nil)
            #expect(response.headers["X-Request-Id"] != nil)
        }
        // The preflights did not count: the 1-per-hour limit still has its one request.
        let actual = await client.request(.post, "/api/items", headers: ["Origin": Self.allowed])
        #expect(actual.status == 201)
        #expect(actual.headers["X-RateLimit-Remaining"] == "0")
    }

    @Test("a preflight from a refused origin gets the plain OPTIONS answer, without CORS headers")
    func refusedPreflight() async {
        var headers = Self.preflightHeaders
        headers["Origin"] = "https://evil.example"
        let response = await Self.makeCORSApp().request(.options, "/api/items", headers: headers)
        #expect(response.status == 204)
        #expect(response.headers["Allow"] == "GET, HEAD, POST, OPTIONS")
        #expect(Self.accessControlHeaders(response).isEmpty)
    }

    @Test("error responses carry the CORS headers: 401, 404, 405, 429")
    func errors() async {
        let client = Self.makeCORSApp()
        let origin: HTTPHeaders = ["Origin": Self.allowed]
        let unauthorized = await client.get("/api/private", headers: origin)
        let notFound = await client.get("/api/nothing-here", headers: origin)
        let notAllowed = await client.request(.delete, "/api/items", headers: origin)
        _ = await client.get("/api/items", headers: origin)
        let limited = await client.get("/api/items", headers: origin)
        for (response, status) in [(unauthorized, 401), (notFound, 404), (notAllowed, 405), (limited, 429)] {
            #expect(response.status == status)
            #expect(response.headers["Access-Control-Allow-Origin"] == Self.allowed, "\(status)")
            #expect(response.headers["Access-Control-Expose-Headers"] == Self.exposed, "\(status)")
            #expect(response.headers["Vary"] == "Origin", "\(status)")
            #expect(response.headers["Content-Type"] == "application/json", "\(status)")
        }
        #expect(unauthorized.headers["WWW-Authenticate"] == "Bearer")
        #expect(notAllowed.headers["Allow"] == "GET, HEAD, POST, OPTIONS")
        #expect(limited.headers["Retry-After"] != nil)
        #expect(limited["message"] == "1 per 1 hour")
    }

    @Test("paths outside /api/ are untouched, even from an allowed origin")
    func otherPaths() async {
        let client = Self.makeCORSApp()
        let health = await client.get("/healthz", headers: ["Origin": Self.allowed])
        #expect(health.status == 200)
        #expect(Self.accessControlHeaders(health).isEmpty)
        #expect(health.headers["Vary"] == nil)
        let preflight = await client.request(.options, "/healthz", headers: Self.preflightHeaders)
        #expect(Self.accessControlHeaders(preflight).isEmpty)
    }

    @Test("with no origins configured nothing is added, not even Vary")
    func noOrigins() async {
        let client = Self.makeCORSApp(origins: [])
        let response = await client.get("/api/items", headers: ["Origin": Self.allowed])
        #expect(Self.accessControlHeaders(response).isEmpty)
        #expect(response.headers["Vary"] == nil)
        let preflight = await client.request(.options, "/api/items", headers: Self.preflightHeaders)
        #expect(preflight.status == 204)
        #expect(Self.accessControlHeaders(preflight).isEmpty)
    }

    @Test("Origin is added to an existing Vary once")
    func varyMerge() async {
        let api = Blueprint("api", prefix: "/api")
        api.get("/negotiated", name: "negotiated") { _ in
            var response = Response.json(["ok": true])
            response.headers["Vary"] = "Accept-Encoding"
            return response
        }
        var app = makeApp(api)
        app.use(CORSMiddleware(allowedOrigins: [Self.allowed]))
        let response = await TestClient(app: app).get("/api/negotiated", headers: ["Origin": Self.allowed])
        #expect(response.headers.values(for: "Vary") == ["Accept-Encoding, Origin"])
    }
}
