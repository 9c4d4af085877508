// A minimal blocking HTTP/1.1 client over TCP, so tests control every byte they send.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A parsed HTTP response.
struct HTTPResult: Sendable {
    let status: Int
    let reason: String
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed with Foundation, for assertions on JSON objects.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}

struct HTTPClientError: Error, CustomStringConvertible {
    let description: String
}

/// Sends one request per connection (`Connection: close`) to 127.0.0.1.
struct HTTPClient: Sendable {
    let port: UInt16
    var timeoutSeconds = 15
    /// The local IPv4 address to send from (any 127.x works on loopback), so tests can appear
    /// to nginx as different clients (`REMOTE_ADDR`); nil lets the kernel choose.
    var sourceAddress: String?

    func get(_ target: String, headers: [(String, String)] = []) throws -> HTTPResult {
        try send("GET", target, headers: headers)
    }

    func send(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) throws -> HTTPResult {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return try exchange(Array(head.utf8) + (body ?? []), isHead: method == "HEAD")
    }

    /// Sends raw bytes and reads the whole response until the server closes.
    func exchange(_ request: [UInt8], isHead: Bool = false) throws -> HTTPResult {
        let fd = try connected()
        defer { close(fd) }
        // The server may answer (413) and close before reading everything.
        _ = Self.write(request, to: fd)
        return try Self.parse(Self.readAll(fd))
    }

    /// Opens a connection to 127.0.0.1:`port` with the client's timeouts and source address.
    func connected() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPClientError(description: "socket failed") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if let sourceAddress {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(sourceAddress)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                close(fd)
                throw HTTPClientError(description: "bind to \(sourceAddress): \(String(cString: strerror(errno)))")
            }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw HTTPClientError(description: "connect to port \(port): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// Writes as much of `bytes` as the peer takes; false if it stopped reading.
    static func write(_ bytes: [UInt8], to fd: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Reads until the server closes the connection.
    static func readAll(_ fd: Int32) throws -> [UInt8] {
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 {
                response.append(contentsOf: buffer[0..<count])
            } else if count == 0 || (count < 0 && errno == ECONNRESET && !response.isEmpty) {
                return response
            } else {
                throw HTTPClientError(description: "read: \(String(cString: strerror(errno)))")
            }
        }
    }

    static func parse(_ bytes: [UInt8]) throws -> HTTPResult {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.firstRange(of: separator) else {
            throw HTTPClientError(description: "no complete response head in \(bytes.count) bytes")
        }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2).map(String.init)
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw HTTPClientError(description: "bad status line")
        }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(bytes[end.upperBound...])
        if let chunked = headers.first(where: { $0.0.lowercased() == "transfer-encoding" }),
            chunked.1.lowercased().contains("chunked")
        {
            body = dechunk(body)
        }
        return HTTPResult(
            status: status, reason: statusLine.count > 2 ? statusLine[2] : "", headers: headers, body: body)
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = bytes[index...].firstRange(of: [13, 10]) else { break }
            let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            out.append(contentsOf: bytes[start..<min(start + size, bytes.count)])
            index = start + size + 2
        }
        return out
    }
}

/// One connection written to piece by piece, for a request that arrives slowly.
final class HTTPConnection {
    private let fd: Int32

    init(_ client: HTTPClient) throws { fd = try client.connected() }

    func send(_ bytes: [UInt8]) throws {
        guard HTTPClient.write(bytes, to: fd) else {
            throw HTTPClientError(description: "write: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads the response until the server closes.
    func response() throws -> HTTPResult { try HTTPClient.parse(HTTPClient.readAll(fd)) }

    deinit { close(fd) }
}
