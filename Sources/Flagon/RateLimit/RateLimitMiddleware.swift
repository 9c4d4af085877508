// Applies the default and per-route rate limits before authentication, as flask-limiter does.

/// Counts requests per route and per client in fixed windows and answers `429` past a limit.
///
/// - A route's own limits (``RouteMetadata/rateLimit``) replace the default ones; an empty list
///   exempts the route. Paths in `exemptPaths` (`/healthz`, `/openapi.json`, `/docs`) are
///   exempt, and so are requests that matched no route (404, 405, automatic `OPTIONS`):
///   only requests a route answers count.
/// - Counter key: endpoint name, limit, client (``TrustedProxies/clientKey(of:)``: the address,
///   an IPv6 one reduced to its /64 by default) and window start, as flask-limiter keys them.
/// - Limits are hit in order; the first one exceeded stops the request (`429` with
///   `Retry-After` and the limit as its message, `5 per 1 minute`), as flask-limiter does.
/// - Every response of a limited route, errors included, carries `X-RateLimit-Limit`,
///   `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds) of the most restrictive
///   limit: the one with the fewest hits remaining (the later reset on a tie).
/// - A store failure propagates (a logged `500`), as flask-limiter without `SWALLOW_ERRORS`.
///
/// ```swift
/// app.use(RateLimitMiddleware(defaultLimits: [RateLimit(50, per: .hour)], store: MemoryRateLimitStore()))
/// ```
public struct RateLimitMiddleware: Middleware {
    public static let defaultExemptPaths: Set<String> = ["/healthz", "/openapi.json", "/docs"]

    let defaultLimits: [RateLimit]
    let store: any RateLimitStore
    let trustedProxies: TrustedProxies
    let exemptPaths: Set<String>
    let isEnabled: Bool
    let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - defaultLimits: `RATELIMIT_DEFAULT`, for routes that declare none.
    ///   - store: The shared counters.
    ///   - trustedProxies: `TRUSTED_PROXIES`, for the client address.
    ///   - exemptPaths: Paths never limited.
    ///   - isEnabled: `RATELIMIT_ENABLED`; when false every request passes untouched.
    ///   - now: The clock, in epoch seconds.
    public init(
        defaultLimits: [RateLimit], store: any RateLimitStore, trustedProxies: TrustedProxies = TrustedProxies(),
        exemptPaths: Set<String> = RateLimitMiddleware.defaultExemptPaths, isEnabled: Bool = true,
        now: @escaping @Sendable () -> Int64 = UnixTime.now
    ) {
        self.defaultLimits = defaultLimits
        self.store = store
        self.trustedProxies = trustedProxies
        self.exemptPaths = exemptPaths
        self.isEnabled = isEnabled
        self.now = now
    }

    public func respond(to request: Request, next: Responder) async throws -> Response {
        guard isEnabled, let route = request.route, request.storage[RoutingErrorKey.self] == nil,
            !exemptPaths.contains(request.path)
        else { return try await next(request) }
        let limits = route.metadata.rateLimit ?? defaultLimits
        guard !limits.isEmpty else { return try await next(request) }

        let client = trustedProxies.clientKey(of: request)
        let now = now()
        var shown: RateLimitState?
        for limit in limits {
            let key = Self.counterKey(
                endpoint: route.metadata.name, limit: limit, client: client, windowStart: limit.windowStart(at: now))
            let hit = try store.hit(key: key, window: limit.window, now: now)
            let state = RateLimitState(limit: limit, hit: hit)
            if hit.count > limit.amount {
                var headers = state.headers
                headers.add(name: "Retry-After", value: String(max(1, hit.windowEnd - now)))
                throw HTTPError(.tooManyRequests, message: limit.description, headers: headers)
            }
            if shown.map({ state.isMoreRestrictive(than: $0) }) ?? true { shown = state }
        }

        var response = try await responseIncludingErrors(of: next, for: request)
        if let shown {
            response.headers.reserveCapacity(response.headers.count + 5)
            response.headers.replaceOrAdd(name: "X-RateLimit-Limit", value: String(shown.limit.amount))
            response.headers.replaceOrAdd(name: "X-RateLimit-Remaining", value: String(shown.remaining))
            response.headers.replaceOrAdd(name: "X-RateLimit-Reset", value: String(shown.hit.windowEnd))
        }
        return response
    }

    /// `endpoint/amount/multiple/unit/client/windowStart`, flask-limiter's key, written as
    /// bytes into one buffer: it is built for every limit of every counted request.
    static func counterKey(endpoint: String, limit: RateLimit, client: String, windowStart: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(endpoint.utf8.count + client.utf8.count + 48)
        bytes.append(contentsOf: endpoint.utf8)
        bytes.append(UInt8(ascii: "/"))
        appendDecimal(Int64(limit.amount), to: &bytes)
        bytes.append(UInt8(ascii: "/"))
        appendDecimal(Int64(limit.multiple), to: &bytes)
        bytes.append(UInt8(ascii: "/"))
        bytes.append(contentsOf: limit.unit.rawValue.utf8)
        bytes.append(UInt8(ascii: "/"))
        bytes.append(contentsOf: client.utf8)
        bytes.append(UInt8(ascii: "/"))
        appendDecimal(windowStart, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        guard value >= 0 else {
            bytes.append(contentsOf: String(value).utf8)
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            bytes.append(contentsOf: buffer[(24 - count)...])
        }
    }
}

/// One limit's standing after a hit.
struct RateLimitState {
    let limit: RateLimit
    let hit: RateLimitHit

    var remaining: Int { max(0, limit.amount - hit.count) }

    func isMoreRestrictive(than other: RateLimitState) -> Bool {
        remaining != other.remaining ? remaining < other.remaining : hit.windowEnd > other.hit.windowEnd
    }

    var headers: HTTPHeaders {
        [
            "X-RateLimit-Limit": String(limit.amount), "X-RateLimit-Remaining": String(remaining),
            "X-RateLimit-Reset": String(hit.windowEnd),
        ]
    }
}
