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

    public init() {}

    public mutating func add(_ route: Route) {
        routes.append(route)
    }

    /// Resolves a request. `HEAD` falls back to `GET`; `OPTIONS` is answered automatically.
    public func resolve(method: HTTPMethod, path: String) -> RouteResolution {
        let segments = Self.segments(of: path)
        guard let segments else { return .notFound }
        var candidates: [(route: Route, parameters: Parameters)] = []
        for route in routes {
            if let parameters = route.pattern.match(segments) { candidates.append((route, parameters)) }
        }
        guard !candidates.isEmpty else { return .notFound }
        // The most specific pattern wins; only routes sharing it decide 405 vs match.
        let best = candidates.map(\.route.pattern.rank).max { $0.lexicographicallyPrecedes($1) }!
        candidates.removeAll { $0.route.pattern.rank != best }
        if let hit = candidates.first(where: { $0.route.method == method }) {
            return .matched(hit.route, hit.parameters)
        }
        if method == .head, let hit = candidates.first(where: { $0.route.method == .get }) {
            return .matched(hit.route, hit.parameters)
        }
        let allow = Self.allowed(candidates.map(\.route.method))
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
    static func segments(of path: String) -> [Substring]? {
        guard path.hasPrefix("/") else { return nil }
        if path == "/" { return [] }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains(where: \.isEmpty) { return nil }
        return parts
    }
}
