// The worker's own accept: a connected descriptor, its peer, its timeouts, its close.

import CFastCGI

#if canImport(Glibc)
    import Glibc
#endif

/// One accepted FastCGI connection, before libfcgi reads from it.
///
/// The worker accepts by itself rather than through libfcgi: libfcgi checks only IPv4
/// peers and sets no timeouts, so a peer that connects and sends nothing would hold the
/// worker forever.
struct Connection {
    let fd: Int32
    /// The peer's address; nil on a unix socket.
    let peer: IPAddress?

    enum Accepted {
        case connection(Connection)
        /// A signal, or an error worth retrying (the peer left before the accept).
        case retry
        case failed(Int32)
    }

    /// Waits for the next connection on `listenSocket`.
    static func accept(on listenSocket: Int32) -> Accepted {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                cfastcgi_accept_cloexec(listenSocket, $0, &length)
            }
        }
        guard fd >= 0 else {
            let code = errno
            return isTransient(code) ? .retry : .failed(code)
        }
        let peer = withUnsafePointer(to: &storage) { IPAddress(UnsafeRawPointer($0)) }
        return .connection(Connection(fd: fd, peer: peer))
    }

    /// Errors of one connection, not of the listening socket (accept(2): Linux passes
    /// pending network errors of the new socket to accept).
    static func isTransient(_ code: Int32) -> Bool {
        [
            EINTR, EAGAIN, ECONNABORTED, EPROTO, ECONNRESET, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN,
            ENONET, ENOPROTOOPT, EPERM,
        ]
        .contains(code)
    }

    /// How a peer is named in logs.
    var peerDescription: String { peer.map { "\($0)" } ?? "unix" }

    /// Bounds every read and write on the connection: a peer that stops sending (or
    /// reading) fails the call after `seconds` instead of holding the worker.
    func setTimeouts(seconds: Double) {
        // At least 1 ms: a zero timeval would mean no timeout at all.
        let micros = max(1000, Int(seconds * 1_000_000))
        var time = timeval(tv_sec: micros / 1_000_000, tv_usec: micros % 1_000_000)
        let size = socklen_t(MemoryLayout<timeval>.size)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, size)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, size)
        if peer != nil {
            // Responses go out in one write and nothing answers them: no Nagle delay.
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Closes a connection whose response is written: shuts the sending side, then reads
    /// what the peer still sends, for at most `seconds` in all, so that unread input does
    /// not make the kernel reset the connection before the peer read the response.
    /// libfcgi's own close does the same but waits 2 s per read, without a total bound.
    static func closeGracefully(_ fd: Int32, within seconds: Double) {
        defer { close(fd) }
        guard shutdown(fd, Int32(SHUT_WR)) == 0 else { return }
        let deadline = monotonicNow() + seconds
        var trash = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline - monotonicNow()
            guard left > 0 else { return }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(max(1, left * 1000))) > 0 else { return }
            guard read(fd, &trash, trash.count) > 0 else { return }
        }
    }

    static func monotonicNow() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
