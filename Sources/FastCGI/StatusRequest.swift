// The status server's side of HTTP/1.x: one request head parsed, one response written.

/// A request to the status server, parsed from its head. Only the request line matters:
/// headers are skipped and a body is never read, since every route is a GET.
public struct StatusRequest: Sendable, Equatable {
    public var method: String
    public var path: String
    /// The query's keys (`json`, `full`), values ignored as PHP-FPM ignores them.
    public var flags: Set<String>

    /// The most bytes a head may take; a longer one is refused.
    public static let maximumHead = 8192

    public enum Parse: Sendable, Equatable {
        /// The head has not ended yet.
        case incomplete
        case request(StatusRequest)
        /// Not an HTTP/1.x request head, or one longer than ``maximumHead``.
        case malformed
    }

    /// Parses the bytes read so far.
    public static func parse(_ bytes: [UInt8]) -> Parse {
        guard let end = headEnd(bytes) else { return bytes.count >= maximumHead ? .malformed : .incomplete }
        guard end <= maximumHead else { return .malformed }
        let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\n"))!
        var line = bytes[..<lineEnd]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, let method = token(parts[0]), let target = visible(parts[1]),
            let version = visible(parts[2]), version == "HTTP/1.1" || version == "HTTP/1.0", target.hasPrefix("/")
        else { return .malformed }
        let query = target.firstIndex(of: "?")
        let path = String(target[..<(query ?? target.endIndex)])
        var flags: Set<String> = []
        if let query {
            for item in target[target.index(after: query)...].split(separator: "&") {
                flags.insert(String(item.prefix { $0 != "=" }))
            }
        }
        return .request(StatusRequest(method: method, path: path, flags: flags))
    }

    /// The length of the head up to and including its blank line, or nil before it.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) {
            let next = newline + 1
            if next < bytes.count && bytes[next] == UInt8(ascii: "\n") { return next + 1 }
            if next + 1 < bytes.count && bytes[next] == UInt8(ascii: "\r") && bytes[next + 1] == UInt8(ascii: "\n") {
                return next + 2
            }
            index = next
        }
        return nil
    }

    static func token(_ bytes: ArraySlice<UInt8>) -> String? {
        guard !bytes.isEmpty, bytes.allSatisfy({ (0x41...0x5a).contains($0) }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func visible(_ bytes: ArraySlice<UInt8>) -> String? {
        guard !bytes.isEmpty, bytes.allSatisfy({ (0x21...0x7e).contains($0) }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A response of the status server.
public struct StatusResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: String
    public var extraHeaders: [(String, String)] = []

    public static func == (lhs: StatusResponse, rhs: StatusResponse) -> Bool {
        lhs.status == rhs.status && lhs.contentType == rhs.contentType && lhs.body == rhs.body
            && lhs.extraHeaders.elementsEqual(rhs.extraHeaders, by: { $0 == $1 })
    }

    static let reasons = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"]

    /// A JSON error body as the API writes one (API.md section 2).
    static func error(_ status: Int, _ message: String) -> StatusResponse {
        let reason = reasons[status] ?? "Error"
        let body = #"{"error": "\#(reason)", "message": "\#(message)", "status": \#(status)}"#
        return StatusResponse(status: status, contentType: "application/json", body: body + "\n")
    }

    /// The whole response; `head` leaves the body out (a HEAD request).
    public func encoded(head: Bool = false) -> [UInt8] {
        let bytes = Array(body.utf8)
        var text = "HTTP/1.1 \(status) \(Self.reasons[status] ?? "Error")\r\n"
        text += "Content-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\n"
        text += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
        for (name, value) in extraHeaders { text += "\(name): \(value)\r\n" }
        text += "Connection: close\r\n\r\n"
        return Array(text.utf8) + (head ? [] : bytes)
    }
}

extension StatusRequest {
    /// The answer to this request; `report` is read only for the routes that show it.
    public func response(_ report: () -> StatusReport) -> StatusResponse {
        let routes = ["/status", "/ping", "/metrics"]
        guard routes.contains(path) else { return .error(404, "The requested URL was not found on the server.") }
        guard method == "GET" || method == "HEAD" else {
            var response = StatusResponse.error(405, "The method is not allowed for the requested URL.")
            response.extraHeaders = [("Allow", "GET, HEAD")]
            return response
        }
        switch path {
        case "/ping":
            return StatusResponse(status: 200, contentType: "text/plain; charset=utf-8", body: "pong\n")
        case "/metrics":
            return StatusResponse(
                status: 200, contentType: StatusReport.prometheusContentType, body: report().prometheusText())
        default:
            let full = flags.contains("full")
            if flags.contains("json") {
                return StatusResponse(
                    status: 200, contentType: "application/json", body: report().json(full: full).jsonText + "\n")
            }
            return StatusResponse(
                status: 200, contentType: "text/plain; charset=utf-8", body: report().text(full: full))
        }
    }
}
