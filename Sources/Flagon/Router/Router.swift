// The route table: resolves a method and path to a route, a 405 or a 404.

/// The outcome of looking a request up in the route table.
public enum RouteResolution: Sendable {
    case matched(Route, Parameters)
    /// The path exists but not for this method; the methods it accepts.
    case methodNotAllowed(allow: [HTTPMethod])
    /// `OPTIONS` on a path without an explicit `OPTIONS` route: answered with `Allow`.
    case automaticOptions(allow: [HTTPMethod])
    case notFound
}

/// All routes of an application.
public struct Router: Sendable {
    public private(set) var routes: [Route] = []
    /// The number of segments of each route's pattern, by position in ``routes``: a path is
    /// matched only against the routes of its own length, the others not even retained.
    private var segmentCounts: [Int] = []

    public init() {}

    public mutating func add(_ route: Route) {
        routes.append(route)
        segmentCounts.append(route.pattern.segments.count)
    }

    /// The position of `route` in ``routes``.
    public func index(of route: Route) -> Int? {
        routes.firstIndex { $0 === route }
    }

    /// Resolves a request. `HEAD` falls back to `GET`; `OPTIONS` is answered automatically.
    public func resolve(method: HTTPMethod, path: String) -> RouteResolution {
        guard let segments = Self.segments(of: path) else { return .notFound }
        let percentEncoded = path.utf8.contains(UInt8(ascii: "%"))
        // One pass: keep the routes of the most specific matching pattern.
        var best: [Int]?
        var methods: [HTTPMethod] = []
        var hit: (route: Route, parameters: Parameters)?
        var getHit: (route: Route, parameters: Parameters)?
        for index in segmentCounts.indices where segmentCounts[index] == segments.count {
            let route = routes[index]
            guard let parameters = route.pattern.match(segments, percentEncoded: percentEncoded) else { continue }
            let rank = route.pattern.rank
            if let current = best {
                if current.lexicographicallyPrecedes(rank) {
                    methods = []
                    hit = nil
                    getHit = nil
                } else if current != rank {
                    continue
                }
            }
            best = rank
            methods.append(route.method)
            if hit == nil && route.method == method { hit = (route, parameters) }
            if getHit == nil && route.method == .get { getHit = (route, parameters) }
        }
        guard best != nil else { return .notFound }
        if let hit { return .matched(hit.route, hit.parameters) }
        if method == .head, let getHit { return .matched(getHit.route, getHit.parameters) }
        let allow = Self.allowed(methods)
        if method == .options { return .automaticOptions(allow: allow) }
        return .methodNotAllowed(allow: allow)
    }

    /// The `Allow` list: the declared methods, `HEAD` with `GET`, and `OPTIONS`, in a fixed order.
    static func allowed(_ methods: [HTTPMethod]) -> [HTTPMethod] {
        var set = Set(methods)
        if set.contains(.get) { set.insert(.head) }
        set.insert(.options)
        let known = HTTPMethod.canonicalOrder.filter { set.contains($0) }
        let other = set.subtracting(HTTPMethod.canonicalOrder).sorted { $0.rawValue < $1.rawValue }
        return known + other
    }

    /// Path segments; nil when the path is not absolute or has empty segments (`//`, trailing `/`).
    /// Split on the bytes: `/` is ASCII, so every slash is a character boundary, and no
    /// character of the path is built only to be compared with `/`.
    static func segments(of path: String) -> [Substring]? {
        let bytes = path.utf8
        guard bytes.first == UInt8(ascii: "/") else { return nil }
        var parts: [Substring] = []
        parts.reserveCapacity(6)
        var start = bytes.index(after: bytes.startIndex)
        if start == bytes.endIndex { return parts }
        var index = start
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "/") {
                if index == start { return nil }
                parts.append(path[start..<index])
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        if start == bytes.endIndex { return nil }
        parts.append(path[start..<bytes.endIndex])
        return parts
    }
}
