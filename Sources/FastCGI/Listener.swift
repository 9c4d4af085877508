// The listening socket: a unix socket, a TCP port (loopback or allow-listed), or one passed by systemd.

// The socket API constants (SOCK_CLOEXEC, MSG_NOSIGNAL) come with libfcgi's headers.
import CFastCGI
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
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .systemd: return "systemd socket (fd 3)"
        }
    }

    /// Parses `--bind`'s `HOST:PORT`, with an IPv6 host in brackets (`[::1]:9000`).
    public static func parseBind(_ text: String) -> ListenAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
            guard host.contains(":") else { return nil }
        } else if host.contains(":") {
            return nil
        }
        guard IPAddress(String(host)) != nil else { return nil }
        return .tcp(host: String(host), port: port)
    }
}

/// A bound, listening socket.
public struct Listener: Sendable {
    public let fd: Int32
    public let address: ListenAddress
    /// Who may connect; the workers derive the same from their fd 0.
    public let peers: PeerPolicy
    /// The socket file this process created (device and inode), removed on exit unless
    /// another file has replaced it meanwhile.
    let ownedFile: (device: UInt64, inode: UInt64)?

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

    /// The value of `FCGI_WEB_SERVER_ADDRS` in this process's environment, or nil.
    public static var webServersFromEnvironment: String? {
        getenv(PeerPolicy.environmentKey).map { String(cString: $0) }
    }

    /// Opens the listening socket. A TCP listener (bound here or passed by systemd) off
    /// loopback without allowed web servers is refused before it accepts anything.
    /// - Parameters:
    ///   - mode: permissions of a unix socket file (0660: the owner and the socket's group).
    ///   - group: group name for the unix socket file, the group nginx's user is in.
    ///   - webServers: `FCGI_WEB_SERVER_ADDRS` (see ``PeerPolicy``).
    public static func open(
        _ address: ListenAddress, mode: mode_t = 0o660, group: String? = nil, backlog: Int32 = 1024,
        webServers: String? = Listener.webServersFromEnvironment
    ) throws -> Listener {
        switch address {
        case .systemd:
            guard systemdSocketAvailable else { throw Failure("no socket passed by systemd (LISTEN_FDS)") }
            let fd: Int32 = 3
            let peers: PeerPolicy
            do {
                peers = try PeerPolicy.forSocket(fd, webServers: webServers)
            } catch {
                throw Failure("systemd socket: \(error)")
            }
            setCloseOnExec(fd)
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_FDNAMES")
            return Listener(fd: fd, address: address, peers: peers, ownedFile: nil)
        case .unix(let path):
            return try openUnix(path: path, mode: mode, group: group, backlog: backlog)
        case .tcp(let host, let port):
            return try openTCP(host: host, port: port, backlog: backlog, webServers: webServers)
        }
    }

    /// Creates the socket file with its final mode and group without following a symlink:
    /// bound inside a fresh 0700 directory beside the target, where nobody else can plant
    /// anything, given its group and mode there, then renamed into place. `rename` replaces
    /// whatever is at the path (a symlink included) and never writes through it.
    private static func openUnix(path: String, mode: mode_t, group: String?, backlog: Int32) throws -> Listener {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw Failure("socket path names a directory: \(path)") }
        var target = sockaddr_un()
        try fill(&target, path: path)
        // A socket file left by a crashed master is replaced; a live one is not stolen.
        var info = stat()
        if lstat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFSOCK:
                if isAccepting(&target) { throw Failure("\(path) is in use by another running server") }
            case S_IFLNK:
                break
            default:
                throw Failure("\(path) exists and is not a socket")
            }
        }
        let gid: gid_t?
        if let group {
            guard let entry = getgrnam(group) else { throw Failure("unknown group '\(group)'") }
            gid = entry.pointee.gr_gid
        } else {
            gid = nil
        }

        var template = Array("\(directory)/.\(name).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure("mkdtemp in \(directory)", errno: errno) }
        let privateDirectory = String(cString: made)
        let staged = privateDirectory + "/s"
        var stagedAddress = sockaddr_un()
        do {
            try fill(&stagedAddress, path: staged)
        } catch {
            rmdir(privateDirectory)
            throw Failure("socket path too long: \(path)")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            let code = errno
            rmdir(privateDirectory)
            throw Failure("socket", errno: code)
        }
        setCloseOnExec(fd)
        func fail(_ what: String, _ code: Int32) -> Failure {
            Glibc.close(fd)
            unlink(staged)
            rmdir(privateDirectory)
            return Failure(what, errno: code)
        }
        let oldMask = umask(0o777)
        let bound = withUnsafePointer(to: &stagedAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        let bindErrno = errno
        umask(oldMask)
        guard bound == 0 else { throw fail("bind \(path)", bindErrno) }
        if let gid, fchownat(AT_FDCWD, staged, uid_t.max, gid, AT_SYMLINK_NOFOLLOW) != 0 {
            throw fail("chown \(path) to group \(group ?? "")", errno)
        }
        guard chmod(staged, mode) == 0 else { throw fail("chmod \(path)", errno) }
        guard lstat(staged, &info) == 0 else { throw fail("stat \(path)", errno) }
        guard listen(fd, backlog) == 0 else { throw fail("listen \(path)", errno) }
        guard rename(staged, path) == 0 else { throw fail("rename into \(path)", errno) }
        rmdir(privateDirectory)
        return Listener(
            fd: fd, address: .unix(path: path), peers: .unixSocket,
            ownedFile: (UInt64(info.st_dev), UInt64(info.st_ino)))
    }

    private static func fill(_ addr: inout sockaddr_un, path: String) throws {
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.utf8.count < capacity else { throw Failure("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
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

    private static func openTCP(host: String, port: UInt16, backlog: Int32, webServers: String?) throws -> Listener {
        guard let local = IPAddress(host) else { throw Failure("--bind needs an IPv4 or IPv6 address, got '\(host)'") }
        // Checked before binding: nothing listens, even for a moment, where it should not.
        let peers: PeerPolicy
        do {
            peers = try PeerPolicy.tcp(listeningOn: local, webServers: webServers)
        } catch {
            throw Failure("\(error)")
        }
        var storage = sockaddr_storage()
        let length: socklen_t
        if local.isIPv4 {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &addr.sin_addr)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: addr, as: sockaddr_in.self) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &addr.sin6_addr)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: addr, as: sockaddr_in6.self) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
        let fd = socket(Int32(storage.ss_family), Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket", errno: errno) }
        setCloseOnExec(fd)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        let address = ListenAddress.tcp(host: host, port: port)
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Failure("bind \(address)", errno: code)
        }
        guard listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Failure("listen \(address)", errno: code)
        }
        return Listener(fd: fd, address: address, peers: peers, ownedFile: nil)
    }

    static func setCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    /// Closes the socket and removes the socket file this process created.
    public func close() {
        _ = Glibc.close(fd)
        guard let ownedFile, case .unix(let path) = address else { return }
        var info = stat()
        if lstat(path, &info) == 0, UInt64(info.st_dev) == ownedFile.device, UInt64(info.st_ino) == ownedFile.inode {
            unlink(path)
        }
    }
}
