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
public struct RateLimitMiddleware: Middleware, WrappingMiddleware {
    public static let defaultExemptPaths: Set<String> = ["/healthz", "/openapi.json", "/docs"]

    let defaultLimits: [RateLimit]
    let store: any RateLimitStore
    let trustedProxies: TrustedProxies
    let exemptPaths: Set<String>
    let isEnabled: Bool
    let now: @Sendable () -> Int64
    /// Bit n set when an exempt path is n bytes long.
    let exemptLengths: UInt64

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
        exemptLengths = exemptPaths.reduce(0) { $0 | Self.lengthBit($1) }
    }

    public func respond(to request: Request, next: Responder) async throws -> Response {
        guard let shown = try count(request) else { return try await next(request) }
        var response = try await responseIncludingErrors(of: next, for: request)
        Self.setHeaders(of: shown, on: &response.headers)
        return response
    }

    /// What ``respond(to:next:)`` does, in one closure: no async frame but the inner stages'.
    func responder(around next: @escaping Responder) -> Responder {
        guard isEnabled else { return next }
        return { request in
            guard let shown = try self.count(request) else { return try await next(request) }
            var response: Response
            do {
                response = try await next(request)
            } catch let error as any HTTPResponseError {
                response = error.response
            }
            Self.setHeaders(of: shown, on: &response.headers)
            return response
        }
    }

    /// Counts a request against its route's limits: the state its headers show, nil if it is
    /// not counted, or the `429` of the first limit exceeded.
    func count(_ request: Request) throws -> RateLimitState? {
        guard isEnabled, let route = request.route, request.storage[RoutingErrorKey.self] == nil,
            !isExempt(request.path)
        else { return nil }
        let limits = route.metadata.rateLimit ?? defaultLimits
        guard !limits.isEmpty else { return nil }
        return try count(endpoint: route.metadata.name, limits: limits, client: trustedProxies.clientKey(of: request))
    }

    /// Whether `path` is one of ``exemptPaths``, looked up only when its length is one of
    /// theirs: hashing every counted request's path costs more than the rest of the check.
    func isExempt(_ path: String) -> Bool {
        exemptLengths & Self.lengthBit(path) != 0 && exemptPaths.contains(path)
    }

    /// The bit of a path's length in ``exemptLengths``; the last bit stands for 63 bytes and more.
    static func lengthBit(_ path: String) -> UInt64 { 1 << UInt64(min(path.utf8.count, 63)) }

    /// Hits every limit; the most restrictive state, or the `429` of the first exceeded.
    func count(endpoint: String, limits: [RateLimit], client: String) throws -> RateLimitState {
        let now = now()
        var shown: RateLimitState?
        // The key is written on the stack and handed to the store as bytes.
        let capacity = endpoint.utf8.count + client.utf8.count + Self.keyNumbersCapacity
        for limit in limits {
            let hit = try withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 1) { buffer in
                let length = Self.writeCounterKey(
                    endpoint: endpoint, limit: limit, client: client, windowStart: limit.windowStart(at: now),
                    into: buffer)
                return try store.hit(
                    keyBytes: UnsafeRawBufferPointer(rebasing: buffer[..<length]), window: limit.window, now: now)
            }
            let state = RateLimitState(limit: limit, hit: hit)
            if hit.count > limit.amount {
                var headers = HTTPHeaders()
                Self.setHeaders(of: state, on: &headers)
                headers.add(name: "Retry-After", value: String(max(1, hit.windowEnd - now)))
                throw HTTPError(.tooManyRequests, message: limit.description, headers: headers)
            }
            if shown.map({ state.isMoreRestrictive(than: $0) }) ?? true { shown = state }
        }
        // `limits` is not empty, so a state was kept.
        return shown!
    }

    /// Sets the three fields (as numbers until read: ``RateLimitFields``), replacing any a
    /// stage inside set.
    static func setHeaders(of state: RateLimitState, on headers: inout HTTPHeaders) {
        headers.setRateLimit(
            limit: Int64(state.limit.amount), remaining: Int64(state.remaining), reset: state.hit.windowEnd)
    }

    /// Room for the key's numbers, unit and separators: three 20-digit integers (a sign
    /// included), the longest unit and five slashes.
    static let keyNumbersCapacity = 3 * 20 + 6 + 5

    /// `endpoint/amount/multiple/unit/client/windowStart`, flask-limiter's key.
    static func counterKey(endpoint: String, limit: RateLimit, client: String, windowStart: Int64) -> String {
        let capacity = endpoint.utf8.count + client.utf8.count + keyNumbersCapacity
        return String(unsafeUninitializedCapacity: capacity) { buffer in
            writeCounterKey(
                endpoint: endpoint, limit: limit, client: client, windowStart: windowStart,
                into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Writes ``counterKey(endpoint:limit:client:windowStart:)`` into `buffer`, which has room
    /// for it (``keyNumbersCapacity`` beyond the two strings); returns its length.
    static func writeCounterKey(
        endpoint: String, limit: RateLimit, client: String, windowStart: Int64,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        // A cursor of its own rather than nested functions: those would capture the length
        // in a box, checked for exclusive access on every write.
        var writer = KeyWriter(base: buffer.baseAddress!.bindMemory(to: UInt8.self, capacity: buffer.count))
        writer.append(endpoint)
        writer.slash()
        writer.append(limit.keyText)
        writer.slash()
        writer.append(client)
        writer.slash()
        writer.appendDecimal(windowStart)
        return writer.length
    }

    /// Writes a counter key into memory known to be large enough.
    struct KeyWriter {
        let base: UnsafeMutablePointer<UInt8>
        var length = 0

        mutating func append(_ text: String) {
            var text = text
            let count = text.withUTF8 { bytes in
                if let start = bytes.baseAddress { (base + length).update(from: start, count: bytes.count) }
                return bytes.count
            }
            length += count
        }

        mutating func slash() {
            base[length] = UInt8(ascii: "/")
            length += 1
        }

        mutating func appendDecimal(_ value: Int64) {
            length += DecimalText.write(value, to: base + length)
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
}
