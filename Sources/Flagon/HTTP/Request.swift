// The framework's view of one HTTP request, independent of the transport that decoded it.

/// One HTTP request as the application sees it.
///
/// The FastCGI worker and the in-memory ``TestClient`` both build this value, so the
/// same ``App`` serves production and tests.
public struct Request: Sendable {
    public var method: HTTPMethod
    /// The path, still percent-encoded, without the query string.
    public var path: String
    /// The raw query string, without the leading `?`.
    public var query: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The peer address the front end reported (`REMOTE_ADDR`).
    public var remoteAddress: String
    /// The request id (section 1 of the API contract), set by ``RequestIDMiddleware``.
    public var id: String = ""
    /// Typed path parameters of the matched route.
    public var parameters = Parameters()
    /// The route the router matched, if any.
    public internal(set) var route: Route?
    /// A problem the transport found while decoding (a malformed `Content-Length`, say);
    /// answered as an error response by the application, with its usual headers and log line.
    public var transportError: HTTPError?
    /// Values middleware attach for later stages (the authenticated identity, for example).
    public var storage = RequestStorage()

    public init(
        method: HTTPMethod,
        path: String,
        query: String = "",
        headers: HTTPHeaders = [:],
        body: [UInt8] = [],
        remoteAddress: String = "127.0.0.1"
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// Builds a request from a request target such as `/api/tasks?page=2`.
    public init(
        method: HTTPMethod,
        target: String,
        headers: HTTPHeaders = [:],
        body: [UInt8] = [],
        remoteAddress: String = "127.0.0.1"
    ) {
        let (path, query) = Request.split(target: target)
        self.init(
            method: method, path: path, query: query, headers: headers, body: body,
            remoteAddress: remoteAddress)
    }

    /// Splits a request target at the first `?`.
    public static func split(target: String) -> (path: String, query: String) {
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (target, "") }
        let path = String(target[..<mark])
        let query = String(target[target.utf8.index(after: mark)...])
        return (path, query)
    }

    /// Query parameters in order, percent-decoded, `+` read as a space.
    public var queryItems: [(name: String, value: String)] {
        QueryString.parse(query)
    }

    /// The first value of a query parameter.
    public func queryValue(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }
}

/// A key for a value stored on a request by middleware.
public protocol RequestStorageKey {
    associatedtype Value: Sendable
}

/// Typed values attached to a request.
///
/// A request carries a handful of values at most, so they are found by a short scan of an
/// array rather than by hashing the key: most requests look up keys they never stored.
public struct RequestStorage: Sendable {
    private var values: [(key: ObjectIdentifier, value: any Sendable)] = []

    public init() {}

    public subscript<Key: RequestStorageKey>(key: Key.Type) -> Key.Value? {
        get {
            let id = ObjectIdentifier(key)
            for entry in values where entry.key == id { return entry.value as? Key.Value }
            return nil
        }
        set {
            let id = ObjectIdentifier(key)
            if let index = values.firstIndex(where: { $0.key == id }) {
                if let newValue { values[index].value = newValue } else { values.remove(at: index) }
            } else if let newValue {
                values.append((id, newValue))
            }
        }
    }
}
