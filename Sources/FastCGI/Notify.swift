// The sd_notify(3) protocol: state lines sent as datagrams to systemd's $NOTIFY_SOCKET.

// The socket constants come with libfcgi's headers, which include the socket API.
import CFastCGI

#if canImport(Glibc)
    import Glibc
#endif

/// A client of the service manager's notification socket, written against the protocol
/// rather than libsystemd, so the binary links nothing more.
///
/// `NOTIFY_SOCKET` names a datagram unix socket: a path, or an abstract name written with a
/// leading `@`. Each ``send(_:)`` is one datagram of newline-separated `KEY=VALUE` lines
/// (`READY=1`, `STATUS=…`). Sends never block: a manager that stops reading must not stall
/// the master, so a full queue drops the line.
///
/// ```swift
/// if let notifier = Notifier(socket: environment["NOTIFY_SOCKET"]) {
///     notifier.send("READY=1\nSTATUS=4 workers serving")
/// }
/// ```
public final class Notifier: @unchecked Sendable {
    // Immutable after init; the descriptor is closed only in deinit.
    private let fd: Int32
    private let address: sockaddr_un
    private let addressLength: socklen_t
    /// The socket's name as given, for log lines.
    public let socketName: String

    /// Opens a socket for `socket`, the value of `NOTIFY_SOCKET`; nil when it is unset,
    /// empty, not a unix socket name (`vsock:` and the like) or too long.
    public init?(socket: String?) {
        guard let socket, let first = socket.utf8.first,
            first == UInt8(ascii: "/") || first == UInt8(ascii: "@")
        else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(socket.utf8)
        // An abstract name starts with a NUL byte and its length is its bytes, with no terminator.
        if first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity, bytes.count > 1 else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.address = address
        self.addressLength = socklen_t(pathOffset + bytes.count + (first == UInt8(ascii: "@") ? 0 : 1))
        self.socketName = socket
    }

    deinit { close(fd) }

    /// Sends `state` (one or more `KEY=VALUE` lines) as one datagram; false if it was not
    /// delivered (no listener, queue full).
    @discardableResult
    public func send(_ state: String) -> Bool {
        var bytes = Array(state.utf8)
        var address = self.address
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(fd, &bytes, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), socketAddress, addressLength)
            }
        }
        return sent == bytes.count
    }

    /// `MONOTONIC_USEC=` of a `RELOADING=1` message: CLOCK_MONOTONIC in microseconds, by
    /// which systemd 253 and later tell a reload from a stale message.
    public static func monotonicMicroseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
    }

    /// The watchdog's keep-alive interval asked of this process, in seconds: half of
    /// `WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises; nil when the watchdog is off or
    /// meant for another process (`WATCHDOG_PID` set to a pid other than `pid`).
    public static func watchdogInterval(usec: String?, pid watchdogPID: String?, ownPID: pid_t) -> Double? {
        guard let usec, let microseconds = UInt64(usec), microseconds > 0 else { return nil }
        if let watchdogPID, !watchdogPID.isEmpty {
            guard let expected = pid_t(watchdogPID), expected == ownPID else { return nil }
        }
        return Double(microseconds) / 2e6
    }

    /// The variables that address the service manager: a child must not notify in the
    /// main process's name, so they are not passed on to workers.
    public static let environmentKeys = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]
}
