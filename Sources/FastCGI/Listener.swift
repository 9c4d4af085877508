// The listening socket: a unix socket, a loopback TCP port, or one passed by systemd.

import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Where the pool listens.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)
    /// The first socket systemd passed (`LISTEN_FDS`/`LISTEN_PID`, fd 3).
    case systemd

    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return "\(host):\(port)"
        case .systemd: return "systemd socket (fd 3)"
        }
    }
}

/// A bound, listening socket.
public struct Listener: Sendable {
    public let fd: Int32
    public let address: ListenAddress
    /// Whether this process created the unix socket file, and so removes it on exit.
    let ownsPath: Bool

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
        init(_ what: String, errno code: Int32) {
            self.description = "\(what): \(String(cString: strerror(code)))"
        }
    }

    /// Whether systemd passed this process a socket.
    public static var systemdSocketAvailable: Bool {
        guard let pid = getenv("LISTEN_PID").map({ String(cString: $0) }), Int32(pid) == getpid(),
            let count = getenv("LISTEN_FDS").map({ String(cString: $0) }), let n = Int(count), n >= 1
        else { return false }
        return true
    }

    /// Opens the listening socket.
    /// - Parameters:
    ///   - mode: permissions of a unix socket file (0660: the owner and nginx's group).
    ///   - group: group name for the unix socket file, so that nginx's workers can connect.
    public static func open(
        _ address: ListenAddress, mode: mode_t = 0o660, group: String? = nil, backlog: Int32 = 1024
    ) throws -> Listener {
        switch address {
        case .systemd:
            guard systemdSocketAvailable else { throw Failure("no socket passed by systemd (LISTEN_FDS)") }
            let fd: Int32 = 3
            setCloseOnExec(fd)
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_FDNAMES")
            return Listener(fd: fd, address: address, ownsPath: false)
        case .unix(let path):
            return try openUnix(path: path, mode: mode, group: group, backlog: backlog)
        case .tcp(let host, let port):
            return try openTCP(host: host, port: port, backlog: backlog)
        }
    }

    private static func openUnix(path: String, mode: mode_t, group: String?, backlog: Int32) throws -> Listener {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.utf8.count < capacity else { throw Failure("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        // A socket file left by a crashed master is replaced; a live one is not stolen.
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                throw Failure("\(path) exists and is not a socket")
            }
            if isAccepting(&addr) { throw Failure("\(path) is in use by another running server") }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket", errno: errno) }
        setCloseOnExec(fd)
        // Create the file with no access, then set the final mode: no window where anyone
        // beyond owner and group could connect.
        let oldMask = umask(0o777)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        let bindErrno = errno
        umask(oldMask)
        guard bound == 0 else {
            Glibc.close(fd)
            throw Failure("bind \(path)", errno: bindErrno)
        }
        if let group {
            guard let entry = getgrnam(group) else {
                Glibc.close(fd)
                unlink(path)
                throw Failure("unknown group '\(group)'")
            }
            guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else {
                let code = errno
                Glibc.close(fd)
                unlink(path)
                throw Failure("chown \(path) to group \(group)", errno: code)
            }
        }
        guard chmod(path, mode) == 0 else {
            let code = errno
            Glibc.close(fd)
            unlink(path)
            throw Failure("chmod \(path)", errno: code)
        }
        guard listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            unlink(path)
            throw Failure("listen \(path)", errno: code)
        }
        return Listener(fd: fd, address: .unix(path: path), ownsPath: true)
    }

    private static func isAccepting(_ addr: inout sockaddr_un) -> Bool {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { return false }
        defer { Glibc.close(probe) }
        let result = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    private static func openTCP(host: String, port: UInt16, backlog: Int32) throws -> Listener {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            throw Failure("--bind needs an IPv4 address, got '\(host)'")
        }
        // libfcgi would accept FastCGI from anyone who can reach the port; off loopback,
        // FCGI_WEB_SERVER_ADDRS must name the web servers allowed to connect.
        let isLoopback = (UInt32(bigEndian: addr.sin_addr.s_addr) >> 24) == 127
        if !isLoopback && getenv("FCGI_WEB_SERVER_ADDRS") == nil {
            throw Failure(
                "refusing to listen on \(host):\(port) without FCGI_WEB_SERVER_ADDRS (the web servers allowed to connect)"
            )
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket", errno: errno) }
        setCloseOnExec(fd)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Failure("bind \(host):\(port)", errno: code)
        }
        guard listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Failure("listen \(host):\(port)", errno: code)
        }
        return Listener(fd: fd, address: .tcp(host: host, port: port), ownsPath: false)
    }

    static func setCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    /// Closes the socket and removes the socket file this process created.
    public func close() {
        _ = Glibc.close(fd)
        if ownsPath, case .unix(let path) = address { unlink(path) }
    }
}
