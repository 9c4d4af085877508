// A client of the status socket, for `tasks-api status` on the same host.

// The socket API constants (SOCK_CLOEXEC, MSG_NOSIGNAL) come with libfcgi's headers.
import CFastCGI

#if canImport(Glibc)
    import Glibc
#endif

/// Asks the status server one request over its unix socket.
public enum StatusClient {
    /// GETs `target` from the status socket at `socket`; the status and body of the answer.
    /// Fails when nothing listens there, or on no full answer within `timeout` seconds.
    public static func get(
        _ target: String, socket path: String, timeout: Int = 5
    ) throws -> (
        status: Int, body: [UInt8]
    ) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw Listener.Failure("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Listener.Failure("socket", errno: errno) }
        defer { close(fd) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { throw Listener.Failure("connect \(path)", errno: errno) }
        let request = Array("GET \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else { throw Listener.Failure("send to \(path)", errno: errno) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { break }
            guard count > 0 else { throw Listener.Failure("read from \(path)", errno: errno) }
            response += buffer[..<count]
        }
        guard let end = StatusRequest.headEnd(response),
            let line = String(decoding: response[..<end], as: UTF8.self).split(separator: "\r\n").first,
            line.hasPrefix("HTTP/1."), let status = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { throw Listener.Failure("no HTTP answer from \(path)") }
        return (status, Array(response[end...]))
    }
}
