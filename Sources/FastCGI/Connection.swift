// The worker's own accept: a connected descriptor, its peer, its timeouts, its writes, its close.

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
        // What is read is thrown away: a buffer on the stack, neither allocated nor zeroed
        // for every connection closed.
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 16) { trash in
            while true {
                let left = deadline - monotonicNow()
                guard left > 0 else { return }
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, Int32(max(1, left * 1000))) > 0 else { return }
                guard read(fd, trash.baseAddress, trash.count) > 0 else { return }
            }
        }
    }

    /// Makes `accept` on the listening socket return at once when another worker took the
    /// connection that woke this one: the worker waits in `poll`, where signals reach it,
    /// never in `accept`.
    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 && flags & O_NONBLOCK == 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// What an idle kept connection holds when `poll` says it is readable.
    enum Pending: Equatable {
        /// Bytes of the peer's next request.
        case request
        /// The peer closed it (or it failed).
        case closed
        /// Nothing after all.
        case nothing
    }

    /// Looks at a readable idle connection without consuming anything.
    static func pending(_ fd: Int32) -> Pending {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if count > 0 { return .request }
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return .nothing }
        return .closed
    }

    /// Writes all of `bytes` (the socket's send timeout bounds each call); false when the
    /// peer has gone away or stopped reading.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// ``writeAll(_:_:)`` of bytes wherever they are (the release thread's are on its stack).
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        guard fd >= 0, let base = buffer.baseAddress else { return fd >= 0 }
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, base + offset, buffer.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    static func monotonicNow() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// The FastCGI records of a response, framed by the worker itself (libfcgi only decodes).
enum Records {
    static let version: UInt8 = 1
    static let endRequest: UInt8 = 3
    static let stdout: UInt8 = 6
    static let stderr: UInt8 = 7
    /// The most content one record carries.
    static let maxContent = 65535

    /// An 8-byte record header.
    static func header(_ type: UInt8, requestID: UInt16, length: Int, padding: Int) -> [UInt8] {
        [
            version, type, UInt8(requestID >> 8), UInt8(requestID & 0xff), UInt8(length >> 8), UInt8(length & 0xff),
            UInt8(padding), 0,
        ]
    }

    /// The record that asks nginx to close a kept connection: an empty FCGI_STDERR record.
    ///
    /// nginx keeps an upstream connection only when FCGI_END_REQUEST ends exactly where its
    /// read ended, and closes a cached idle connection as soon as it becomes readable; an
    /// empty stderr record that arrives instead at the start of its next response is skipped
    /// (it logs stderr only when it has content). So the record is safe in every state of
    /// the connection: after a response in the same write (nginx does not keep it), on an
    /// idle connection (nginx closes it), or racing a request nginx has just sent (nginx
    /// skips it and the response that follows carries another).
    static func release(requestID: UInt16) -> [UInt8] {
        header(stderr, requestID: requestID, length: 0, padding: 0)
    }

    /// STDOUT records carrying `body`, padded to 8 bytes as libfcgi does, the empty STDOUT
    /// record, FCGI_END_REQUEST (status 0, request complete), and the release record when
    /// `release` is set.
    static func response(_ body: [UInt8], requestID: UInt16, release: Bool) -> [UInt8] {
        let records = max(1, (body.count + maxContent - 1) / maxContent)
        var out: [UInt8] = []
        out.reserveCapacity(body.count + records * 16 + 40)
        var offset = 0
        while offset < body.count {
            let length = min(maxContent, body.count - offset)
            let padding = (8 - length % 8) % 8
            appendHeader(stdout, requestID: requestID, length: length, padding: padding, to: &out)
            out += body[offset..<(offset + length)]
            for _ in 0..<padding { out.append(0) }
            offset += length
        }
        appendHeader(stdout, requestID: requestID, length: 0, padding: 0, to: &out)
        appendHeader(endRequest, requestID: requestID, length: 8, padding: 0, to: &out)
        for _ in 0..<8 { out.append(0) }
        if release { appendHeader(stderr, requestID: requestID, length: 0, padding: 0, to: &out) }
        return out
    }

    /// ``header(_:requestID:length:padding:)`` appended in place: no array of its own for
    /// each of a response's records.
    private static func appendHeader(
        _ type: UInt8, requestID: UInt16, length: Int, padding: Int, to out: inout [UInt8]
    ) {
        out.append(version)
        out.append(type)
        out.append(UInt8(requestID >> 8))
        out.append(UInt8(requestID & 0xff))
        out.append(UInt8(length >> 8))
        out.append(UInt8(length & 0xff))
        out.append(UInt8(padding))
        out.append(0)
    }
}
