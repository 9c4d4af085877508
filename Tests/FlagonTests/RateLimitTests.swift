// Rate limits: the flask-limiter syntax, fixed windows, headers, 429s, exemptions and client keys.

import Synchronization
import Testing

@testable import Flagon

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let seconds: Mutex<Int64>
    init(_ start: Int64) { seconds = Mutex(start) }
    var now: Int64 { seconds.withLock { $0 } }
    func advance(_ by: Int64) { seconds.withLock { $0 += by } }
}

@Suite("Rate limits")
struct RateLimitTests {
    /// 20 seconds before the minute boundary 1_700_000_040.
    static let start: Int64 = 1_699_999_980 + 40

    /// `/api/limited` (3 per minute), `/api/open` (default), `/api/exempt` (`limit: []`),
    /// `/api/private` (token required), `/healthz`.
    static func makeLimitedApp(
        defaults: [RateLimit] = [RateLimit(2, per: .hour)], store: MemoryRateLimitStore = MemoryRateLimitStore(),
        clock: TestClock = TestClock(start), trustedProxies: TrustedProxies = TrustedProxies(), enabled: Bool = true
    ) -> TestClient {
        let api = Blueprint("api", prefix: "/api")
        api.get("/limited", name: "limited", limit: [RateLimit(3, per: .minute)]) { _ in .json(["ok": true]) }
        api.get("/open", name: "open") { _ in .json(["ok": true]) }
        api.get("/exempt", name: "exempt", limit: []) { _ in .json(["ok": true]) }
        api.get("/private", name: "private", auth: .accessToken) { _ in .json(["ok": true]) }
        api.get("/client", name: "client", limit: [RateLimit(1, per: .minute)]) { _ in .json(["ok": true]) }
        let health = Blueprint("health")
        health.get("/healthz", name: "healthz") { _ in .json(["status": "ok"]) }
        var app = makeApp(api, health)
        app.use(
            RateLimitMiddleware(
                defaultLimits: defaults, store: store, trustedProxies: trustedProxies, isEnabled: enabled,
                now: { clock.now }))
        app.use(AuthMiddleware(signer: JWTSigner(secret: String(repeating: "k", count: 32))) { _ in false })
        return TestClient(app: app)
    }

    // MARK: syntax

    @Test(
        "flask-limiter's syntax parses",
        arguments: [
            ("5 per minute", [RateLimit(5, per: .minute)]),
            ("50/hour", [RateLimit(50, per: .hour)]),
            ("10 per 2 minutes", [RateLimit(10, per: 2, .minute)]),
            ("200 per day;50 per hour", [RateLimit(200, per: .day), RateLimit(50, per: .hour)]),
            (
                "  1 PER Second , 7/3 days | 9 per 1 hours",
                [
                    RateLimit(1, per: .second), RateLimit(7, per: 3, .day), RateLimit(9, per: .hour),
                ]
            ),
            ("100000000 per hour", [RateLimit(100_000_000, per: .hour)]),
        ])
    func parses(text: String, expected: [RateLimit]) throws {
        #expect(try RateLimit.parseList(text, key: "RATELIMIT_DEFAULT") == expected)
    }

    @Test(
        "bad syntax is a one-line ConfigError naming the key",
        arguments: [
            "", "five per minute", "5 per fortnight", "5 minute", "5 per", "0 per minute", "5 per 0 minutes",
            "5 per minute extra", "per minute", "5 per month", "-5 per minute", "5 per minute;nonsense",
        ])
    func refusesBadSyntax(text: String) {
        let error = #expect(throws: ConfigError.self) { try RateLimit.parseList(text, key: "RATELIMIT_DEFAULT") }
        #expect(error?.message.hasPrefix("RATELIMIT_DEFAULT") == true)
        #expect(error?.message.contains("\n") == false)
    }

    @Test("limits are spelled as flask-limiter spells them")
    func spelling() {
        #expect(RateLimit(5, per: .minute).description == "5 per 1 minute")
        #expect(RateLimit(10, per: 2, .hour).description == "10 per 2 hour")
    }

    @Test("windows are fixed and aligned to the epoch")
    func windowMath() {
        let minute = RateLimit(5, per: .minute)
        #expect(minute.window == 60)
        #expect(minute.windowStart(at: 1_700_000_000) == 1_699_999_980)
        #expect(minute.windowEnd(at: 1_700_000_000) == 1_700_000_040)
        #expect(minute.windowStart(at: 1_700_000_040) == 1_700_000_040)
        let twoHours = RateLimit(1, per: 2, .hour)
        #expect(twoHours.window == 7200)
        #expect(twoHours.windowStart(at: 7199) == 0)
        #expect(twoHours.windowEnd(at: 7200) == 14_400)
        #expect(RateLimit(1, per: .day).windowStart(at: 86_400 * 3 + 5) == 86_400 * 3)
    }

    // MARK: the middleware

    @Test("a route's limit counts down in the headers, then 429 with Retry-After and the limit as message")
    func countsDownThen429() async throws {
        let clock = TestClock(Self.start)
        let client = Self.makeLimitedApp(clock: clock)
        let reset = String(RateLimit(3, per: .minute).windowEnd(at: clock.now))
        for remaining in [2, 1, 0] {
            let response = await client.get("/api/limited")
            #expect(response.status == 200)
            #expect(response.headers["X-RateLimit-Limit"] == "3")
            #expect(response.headers["X-RateLimit-Remaining"] == String(remaining))
            #expect(response.headers["X-RateLimit-Reset"] == reset)
            #expect(response.headers["Retry-After"] == nil)
        }
        clock.advance(5)
        let refused = await client.get("/api/limited")
        #expect(refused.status == 429)
        #expect(
            refused.text == #"{"error": "Too Many Requests", "message": "3 per 1 minute", "status": 429}"#)
        #expect(refused.headers["X-RateLimit-Limit"] == "3")
        #expect(refused.headers["X-RateLimit-Remaining"] == "0")
        #expect(refused.headers["X-RateLimit-Reset"] == reset)
        #expect(refused.headers["Retry-After"] == String(Int64(reset)! - clock.now))
        #expect(refused.headers["Content-Type"] == "application/json")

        // The next window starts afresh.
        clock.advance(Int64(reset)! - clock.now)
        let again = await client.get("/api/limited")
        #expect(again.status == 200)
        #expect(again.headers["X-RateLimit-Remaining"] == "2")
    }

    @Test("a route's own limit replaces the default; other routes use the default, each counted apart")
    func perRouteVersusDefault() async {
        let client = Self.makeLimitedApp(defaults: [RateLimit(2, per: .hour)])
        #expect(await client.get("/api/limited").headers["X-RateLimit-Limit"] == "3")
        let first = await client.get("/api/open")
        #expect(first.headers["X-RateLimit-Limit"] == "2")
        #expect(first.headers["X-RateLimit-Remaining"] == "1")
        #expect(await client.get("/api/open").status == 200)
        let refused = await client.get("/api/open")
        #expect(refused.status == 429)
        #expect(refused["message"] == "2 per 1 hour")
        // /api/limited's counter is its own.
        #expect(await client.get("/api/limited").headers["X-RateLimit-Remaining"] == "1")
    }

    @Test("several default limits: headers show the most restrictive; the first exceeded answers 429")
    func severalLimits() async {
        let clock = TestClock(Self.start)
        let client = Self.makeLimitedApp(
            defaults: [RateLimit(10, per: .day), RateLimit(2, per: .minute)], clock: clock)
        let first = await client.get("/api/open")
        #expect(first.headers["X-RateLimit-Limit"] == "2")
        #expect(first.headers["X-RateLimit-Remaining"] == "1")
        _ = await client.get("/api/open")
        let refused = await client.get("/api/open")
        #expect(refused.status == 429)
        #expect(refused["message"] == "2 per 1 minute")
        clock.advance(60)
        let later = await client.get("/api/open")
        #expect(later.status == 200)
        #expect(later.headers["X-RateLimit-Limit"] == "2")
        #expect(later.headers["X-RateLimit-Remaining"] == "1")
    }

    @Test("error responses of a limited route carry the headers too; the limit applies before auth")
    func headersOnErrorsAndBeforeAuth() async {
        let client = Self.makeLimitedApp(defaults: [RateLimit(2, per: .hour)])
        let first = await client.get("/api/private")
        #expect(first.status == 401)
        #expect(first.headers["WWW-Authenticate"] == "Bearer")
        #expect(first.headers["X-RateLimit-Remaining"] == "1")
        _ = await client.get("/api/private")
        #expect(await client.get("/api/private").status == 429)
    }

    @Test("exempt: /healthz, routes with limit: [], 404, 405 and automatic OPTIONS; no X-RateLimit headers")
    func exemptions() async {
        let client = Self.makeLimitedApp(defaults: [RateLimit(1, per: .hour)])
        for _ in 0..<3 {
            for (method, target, status) in [
                (HTTPMethod.get, "/healthz", 200), (.get, "/api/exempt", 200), (.get, "/api/missing", 404),
                (.post, "/api/open", 405), (.options, "/api/open", 204),
            ] {
                let response = await client.request(method, target)
                #expect(response.status == status, "\(method) \(target)")
                #expect(!response.headers.contains { $0.name.hasPrefix("X-RateLimit") }, "\(method) \(target)")
            }
        }
        // None of that counted against the default limit of /api/open.
        #expect(await client.get("/api/open").status == 200)
    }

    @Test("RATELIMIT_ENABLED=false: nothing is counted or limited")
    func disabled() async {
        let store = MemoryRateLimitStore()
        let client = Self.makeLimitedApp(store: store, enabled: false)
        for _ in 0..<5 {
            let response = await client.get("/api/limited")
            #expect(response.status == 200)
            #expect(response.headers["X-RateLimit-Limit"] == nil)
        }
        #expect(store.count == 0)
    }

    @Test("clients are counted apart by REMOTE_ADDR; X-Forwarded-For is ignored without TRUSTED_PROXIES")
    func perClient() async {
        let client = Self.makeLimitedApp()
        #expect(await client.request(.get, "/api/client", remoteAddress: "192.0.2.1").status == 200)
        #expect(await client.request(.get, "/api/client", remoteAddress: "192.0.2.1").status == 429)
        #expect(await client.request(.get, "/api/client", remoteAddress: "192.0.2.2").status == 200)
        let spoofed = await client.request(
            .get, "/api/client", headers: ["X-Forwarded-For": "198.51.100.9"], remoteAddress: "192.0.2.1")
        #expect(spoofed.status == 429)
    }

    @Test("behind trusted proxies the right-most untrusted X-Forwarded-For entry is the client")
    func trustedProxiesThroughMiddleware() async throws {
        let proxies = try TrustedProxies(["10.0.0.0/8"])
        let client = Self.makeLimitedApp(trustedProxies: proxies)
        let first = await client.request(
            .get, "/api/client", headers: ["X-Forwarded-For": "1.1.1.1, 203.0.113.5"], remoteAddress: "10.0.0.1")
        #expect(first.status == 200)
        // The same client with a different spoofed left entry, through another proxy: still counted.
        let spoofed = await client.request(
            .get, "/api/client", headers: ["X-Forwarded-For": "9.9.9.9, 203.0.113.5, 10.0.0.7"],
            remoteAddress: "10.0.0.2")
        #expect(spoofed.status == 429)
        let other = await client.request(
            .get, "/api/client", headers: ["X-Forwarded-For": "203.0.113.6"], remoteAddress: "10.0.0.1")
        #expect(other.status == 200)
    }

    @Test(
        "client address derivation",
        arguments: [
            // (trusted, REMOTE_ADDR, X-Forwarded-For values, expected)
            ([String](), "192.0.2.1", ["203.0.113.5"], "192.0.2.1"),
            (["10.0.0.0/8"], "192.0.2.1", ["203.0.113.5"], "192.0.2.1"),
            (["10.0.0.0/8"], "10.1.2.3", ["203.0.113.5"], "203.0.113.5"),
            (["10.0.0.0/8"], "10.1.2.3", ["6.6.6.6, 203.0.113.5"], "203.0.113.5"),
            (["10.0.0.0/8"], "10.1.2.3", ["6.6.6.6", "203.0.113.5, 10.9.9.9"], "203.0.113.5"),
            (["10.0.0.0/8"], "10.1.2.3", ["10.0.0.5, 10.0.0.6"], "10.0.0.5"),
            (["10.0.0.0/8"], "10.1.2.3", [], "10.1.2.3"),
            (["127.0.0.1", "fd00::/8"], "fd12::1", ["2001:db8::7, fd00::2"], "2001:db8::7"),
            (["2001:db8::/32"], "2001:db8:0:1::5", ["198.51.100.1"], "198.51.100.1"),
            (["192.168.0.0/16"], "::ffff:192.168.1.1", ["198.51.100.1"], "198.51.100.1"),
            (["192.168.0.0/16"], "192.169.0.1", ["198.51.100.1"], "192.169.0.1"),
        ])
    func clientAddress(trusted: [String], remote: String, forwarded: [String], expected: String) throws {
        let proxies = try TrustedProxies(trusted)
        #expect(proxies.clientAddress(remoteAddress: remote, forwardedFor: forwarded) == expected)
    }

    @Test(
        "client keys: canonical IPv4, IPv4-mapped IPv6 as IPv4, IPv6 by its prefix",
        arguments: [
            // (IPv6 prefix length, address, key)
            (64, "192.0.2.1", "192.0.2.1"),
            (64, "::ffff:192.0.2.1", "192.0.2.1"),
            (64, "::FFFF:c000:0201", "192.0.2.1"),
            (64, "2001:db8::1", "2001:db8::/64"),
            (64, "2001:0db8:0:0::2", "2001:db8::/64"),
            (64, "2001:DB8:0:0:ffff:ffff:ffff:ffff", "2001:db8::/64"),
            (64, "2001:db8:0:1::1", "2001:db8:0:1::/64"),
            (48, "2001:db8:0:1::1", "2001:db8::/48"),
            (56, "2001:db8:0:1ff::1", "2001:db8:0:100::/56"),
            (128, "2001:0db8::0001", "2001:db8::1/128"),
            (1, "ffff::1", "8000::/1"),
            (64, "not an address", "not an address"),
            (64, "192.0.2.01", "192.0.2.01"),
            (64, "192.0.2", "192.0.2"),
            (64, "255.255.255.255", "255.255.255.255"),
            (64, "::ffff:192.0.2.256", "::ffff:192.0.2.256"),
            (64, "", ""),
        ])
    func clientKey(prefix: Int, address: String, expected: String) {
        #expect(TrustedProxies(ipv6PrefixLength: prefix).key(of: address) == expected)
    }

    @Test(
        "counter keys are endpoint, limit, client and window start, joined by slashes",
        arguments: [
            (
                "meta.hello", RateLimit(5, per: .minute), "192.0.2.1", 1_795_590_000 as Int64,
                "meta.hello/5/1/minute/192.0.2.1/1795590000"
            ),
            (
                "tasks.create", RateLimit(100_000_000, per: 2, .hour), "2001:db8::/64", 0,
                "tasks.create/100000000/2/hour/2001:db8::/64/0"
            ),
            ("caf\u{E9}.x", RateLimit(9, per: 10, .second), "", -60, "caf\u{E9}.x/9/10/second//-60"),
        ])
    func counterKeys(endpoint: String, limit: RateLimit, client: String, windowStart: Int64, key: String) {
        #expect(
            RateLimitMiddleware.counterKey(endpoint: endpoint, limit: limit, client: client, windowStart: windowStart)
                == key)
    }

    @Test("the store is handed each limit's counter key as bytes, the same text counterKey spells")
    func storeGetsKeyBytes() async throws {
        let store = RecordingRateLimitStore()
        let api = Blueprint("api", prefix: "/api")
        api.get("/two", name: "two", limit: [RateLimit(3, per: .minute), RateLimit(9, per: 2, .hour)]) { _ in
            .json(["ok": true])
        }
        var app = makeApp(api)
        app.use(RateLimitMiddleware(defaultLimits: [], store: store, now: { 1_700_000_050 }))
        #expect(await TestClient(app: app).request(.get, "/api/two", remoteAddress: "192.0.2.9").status == 200)
        #expect(
            store.keys == [
                "api.two/3/1/minute/192.0.2.9/1700000040", "api.two/9/2/hour/192.0.2.9/1699999200",
            ])
    }

    @Test("respond(to:next:) called directly counts and sets the headers as the chain does")
    func respondDirectly() async throws {
        let api = Blueprint("api", prefix: "/api")
        api.get("/one", name: "one", limit: [RateLimit(1, per: .minute)]) { _ in .json(["ok": true]) }
        let router = makeApp(api).router
        guard case .matched(let route, _) = router.resolve(method: .get, path: "/api/one") else {
            Issue.record("no route")
            return
        }
        var request = Request(method: .get, target: "/api/one")
        request.route = route
        let middleware = RateLimitMiddleware(defaultLimits: [], store: MemoryRateLimitStore(), now: { 1_700_000_050 })
        let first = try await middleware.respond(to: request) { _ in .json(["ok": true]) }
        #expect(first.headers["X-RateLimit-Remaining"] == "0")
        #expect(first.headers["X-RateLimit-Reset"] == "1700000100")
        let error = await #expect(throws: HTTPError.self) {
            try await middleware.respond(to: request) { _ in .json(["ok": true]) }
        }
        #expect(error?.status == .tooManyRequests)
    }

    @Test(
        "counter keys hold the integers' decimal text",
        arguments: [0, 7, 10, 99, 100_000_000, 1_700_000_100, -60, Int64.max, Int64.min])
    func decimalText(value: Int64) {
        #expect(
            RateLimitMiddleware.counterKey(
                endpoint: "e", limit: RateLimit(1, per: .second), client: "c", windowStart: value)
                == "e/1/1/second/c/\(value)")
    }

    @Test("exempt paths are recognised by their whole text, whatever their length")
    func exemptPathsByText() {
        let long = "/" + String(repeating: "x", count: 80)
        let middleware = RateLimitMiddleware(
            defaultLimits: [], store: MemoryRateLimitStore(), exemptPaths: ["/healthz", "/docs", long])
        #expect(middleware.isExempt("/healthz"))
        #expect(middleware.isExempt("/docs"))
        #expect(middleware.isExempt(long))
        #expect(!middleware.isExempt("/healthy"))
        #expect(!middleware.isExempt("/doc"))
        #expect(!middleware.isExempt(long + "x"))
        #expect(!middleware.isExempt("/" + String(repeating: "y", count: 80)))
    }

    @Test("rate-limit headers a handler set are replaced, not repeated")
    func headersReplaced() async throws {
        let api = Blueprint("api", prefix: "/api")
        api.get("/sets", name: "sets", limit: [RateLimit(3, per: .minute)]) { _ in
            .json(["ok": true], headers: ["x-ratelimit-limit": "99", "X-RATELIMIT-RESET": "1", "X-Other": "kept"])
        }
        var app = makeApp(api)
        app.use(RateLimitMiddleware(defaultLimits: [], store: MemoryRateLimitStore(), now: { 1_700_000_050 }))
        let response = await TestClient(app: app).get("/api/sets")
        #expect(response.headers.values(for: "X-RateLimit-Limit") == ["3"])
        #expect(response.headers.values(for: "X-RateLimit-Remaining") == ["2"])
        #expect(response.headers.values(for: "X-RateLimit-Reset") == ["1700000100"])
        #expect(response.headers["X-Other"] == "kept")
    }

    @Test("IPv6 clients of one /64 share a counter, directly and through X-Forwarded-For")
    func ipv6ClientsShareTheirPrefix() async throws {
        let client = Self.makeLimitedApp()
        #expect(await client.request(.get, "/api/client", remoteAddress: "2001:db8:1:2::1").status == 200)
        #expect(await client.request(.get, "/api/client", remoteAddress: "2001:db8:1:2:abcd::9").status == 429)
        #expect(await client.request(.get, "/api/client", remoteAddress: "2001:db8:1:3::1").status == 200)
        #expect(await client.request(.get, "/api/client", remoteAddress: "::ffff:192.0.2.77").status == 200)
        #expect(await client.request(.get, "/api/client", remoteAddress: "192.0.2.77").status == 429)

        let proxied = Self.makeLimitedApp(trustedProxies: try TrustedProxies(["10.0.0.0/8"]))
        let first = await proxied.request(
            .get, "/api/client", headers: ["X-Forwarded-For": "2001:db8:5::1"], remoteAddress: "10.0.0.1")
        #expect(first.status == 200)
        let rotated = await proxied.request(
            .get, "/api/client", headers: ["X-Forwarded-For": "2001:0db8:5:0:1:2:3:4"], remoteAddress: "10.0.0.2")
        #expect(rotated.status == 429)
    }

    @Test("a narrower IPv6 prefix can be configured: /128 counts each address")
    func ipv6PrefixConfigurable() async throws {
        let client = Self.makeLimitedApp(trustedProxies: TrustedProxies(ipv6PrefixLength: 128))
        #expect(await client.request(.get, "/api/client", remoteAddress: "2001:db8::1").status == 200)
        #expect(await client.request(.get, "/api/client", remoteAddress: "2001:db8::2").status == 200)
        #expect(await client.request(.get, "/api/client", remoteAddress: "2001:0db8:0:0::2").status == 429)
    }

    @Test(
        "malformed TRUSTED_PROXIES entries are a ConfigError naming the key",
        arguments: ["10.0.0.0/33", "not-an-ip", "fd00::/129", "10.0.0/8", "1.2.3.4/"])
    func badProxies(entry: String) {
        let error = #expect(throws: ConfigError.self) { try TrustedProxies([entry]) }
        #expect(error?.message.hasPrefix("TRUSTED_PROXIES") == true)
    }

    @Test("CIDR matching, IPv4 and IPv6")
    func cidr() throws {
        let v4 = try #require(IPNetwork("172.16.0.0/12"))
        #expect(v4.contains("172.31.255.255"))
        #expect(!v4.contains("172.32.0.0"))
        #expect(!v4.contains("2001:db8::1"))
        let v6 = try #require(IPNetwork("2001:db8::/33"))
        #expect(v6.contains("2001:db8:7fff::1"))
        #expect(!v6.contains("2001:db8:8000::1"))
        #expect(try #require(IPNetwork("0.0.0.0/0")).contains("8.8.8.8"))
    }

    @Test("the memory store counts per key and window and forgets ended windows")
    func memoryStore() throws {
        let store = MemoryRateLimitStore()
        #expect(try store.hit(key: "a", window: 60, now: 100) == RateLimitHit(count: 1, windowEnd: 120))
        #expect(try store.hit(key: "a", window: 60, now: 119) == RateLimitHit(count: 2, windowEnd: 120))
        #expect(try store.hit(key: "b", window: 60, now: 119) == RateLimitHit(count: 1, windowEnd: 120))
        #expect(try store.hit(key: "a", window: 60, now: 120) == RateLimitHit(count: 1, windowEnd: 180))
        #expect(store.count == 1)
    }
}

/// A store that counts like the memory store and keeps every key it was given, in order;
/// it implements only the `String` entry point, so bytes reach it through the default.
final class RecordingRateLimitStore: RateLimitStore {
    private let recorded = Mutex<[String]>([])
    private let counts = MemoryRateLimitStore()

    var keys: [String] { recorded.withLock { $0 } }

    func hit(key: String, window: Int64, now: Int64) throws -> RateLimitHit {
        recorded.withLock { $0.append(key) }
        return try counts.hit(key: key, window: window, now: now)
    }
}
