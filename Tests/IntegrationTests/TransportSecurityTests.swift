// Raw FastCGI peers against the pool: silent peers dropped, TCP peers checked, unsafe listeners refused.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("FastCGI transport security", .serialized)
struct TransportSecurityTests {
    @Test("a silent peer is dropped after --read-timeout; the single worker then serves the next requests")
    func silentPeerDropped() throws {
        let pool = try TransportPool(["--workers", "1", "--read-timeout", "1"], socket: true)
        defer { pool.stop() }
        try pool.waitUntilServing { try RawFastCGI.connect(unix: pool.socketPath) }

        let silent = try RawFastCGI.connect(unix: pool.socketPath)
        defer { close(silent) }
        let connected = Date()
        // Queued behind the silent peer: only its drop lets the one worker reach this request.
        let queued = AnswerBox()
        let group = DispatchGroup()
        Processes.onOwnThread(group: group) {
            queued.value = try? RawFastCGI.get("/api/hello", on: RawFastCGI.connect(unix: pool.socketPath))
        }
        var byte: UInt8 = 0
        #expect(read(silent, &byte, 1) == 0, "the worker closes the silent connection")
        let held = Date().timeIntervalSince(connected)
        #expect(held >= 0.9 && held < 8, "held for \(held) s with a 1 s timeout")
        group.wait()
        #expect(queued.value?.hasPrefix("Status: 200 OK\r\n") == true, "\(queued.value ?? "no answer")")
        for _ in 0..<3 {
            let answer = try RawFastCGI.get("/api/hello", on: RawFastCGI.connect(unix: pool.socketPath))
            #expect(answer?.contains(#"{"message": "Hello, World!"}"#) == true)
        }
        #expect(pool.log().contains("dropped FastCGI connection without a complete request"))
    }

    @Test("TCP with FCGI_WEB_SERVER_ADDRS=127.0.0.2: 127.0.0.1 is closed unanswered, 127.0.0.2 answered")
    func tcpPeerCheck() throws {
        let port = Processes.freePort()
        let pool = try TransportPool(
            ["--workers", "1", "--bind", "127.0.0.1:\(port)"], environment: ["FCGI_WEB_SERVER_ADDRS": "127.0.0.2"])
        defer { pool.stop() }
        try pool.waitUntilServing { try RawFastCGI.connect(host: "127.0.0.1", port: port, from: "127.0.0.2") }

        let refused = try RawFastCGI.exchange(
            RawFastCGI.request("/api/hello"), on: RawFastCGI.connect(host: "127.0.0.1", port: port))
        #expect(refused.isEmpty, "no response bytes to a peer that is not listed")
        let allowed = try RawFastCGI.get(
            "/api/hello", on: RawFastCGI.connect(host: "127.0.0.1", port: port, from: "127.0.0.2"))
        #expect(allowed?.hasPrefix("Status: 200 OK\r\n") == true)
        #expect(Processes.waitUntil(seconds: 5) { pool.log().contains("peer=127.0.0.1") })
        let warning = pool.log().split(separator: "\n").first { $0.contains("refused FastCGI connection") }
        #expect(warning?.contains("level=warning") == true)
        #expect(warning?.contains("peer=127.0.0.1") == true)
    }

    @Test("an IPv6 listener checks IPv6 peers: ::1 refused unless listed")
    func ipv6PeerCheck() throws {
        guard RawFastCGI.hasIPv6Loopback() else { return }
        for (listed, answered) in [("127.0.0.2", false), ("::1", true)] {
            let port = Processes.freePort()
            let pool = try TransportPool(
                ["--workers", "1", "--bind", "[::1]:\(port)"], environment: ["FCGI_WEB_SERVER_ADDRS": listed])
            defer { pool.stop() }
            #expect(Processes.waitUntil(seconds: 20) { pool.log().contains("worker started") })
            #expect(pool.log().contains("[::1]:\(port)"))
            var response: [UInt8] = []
            // Until a worker accepts, a connection waits in the backlog and is answered later.
            let deadline = Date().addingTimeInterval(20)
            repeat {
                response = try RawFastCGI.exchange(
                    RawFastCGI.request("/api/hello"), on: RawFastCGI.connect(host: "::1", port: port))
            } while answered && response.isEmpty && Date() < deadline
            #expect(!response.isEmpty == answered, "FCGI_WEB_SERVER_ADDRS=\(listed)")
            if !answered {
                #expect(Processes.waitUntil(seconds: 5) { pool.log().contains("peer=::1") })
            }
        }
    }

    @Test("--bind off loopback without FCGI_WEB_SERVER_ADDRS (unset or empty) refuses to start")
    func bindRefusal() throws {
        let port = Processes.freePort()
        for environment in [[:], ["FCGI_WEB_SERVER_ADDRS": ""], ["FCGI_WEB_SERVER_ADDRS": " , "]] {
            let pool = try TransportPool(["--workers", "1", "--bind", "0.0.0.0:\(port)"], environment: environment)
            defer { pool.stop() }
            #expect(pool.waitForExit() == 1)
            #expect(pool.log().contains("refusing to listen for FastCGI on 0.0.0.0"))
            #expect(!pool.log().contains("master started"))
        }
    }

    @Test("a read timeout that is not a positive number of seconds refuses to start")
    func readTimeoutRefusal() throws {
        let cases: [([String], [String: String], String)] = [
            (["--read-timeout", "0"], [:], "--read-timeout must be more than 0"),
            ([], ["FCGI_READ_TIMEOUT": "soon"], "FCGI_READ_TIMEOUT must be more than 0"),
            ([], ["FCGI_READ_TIMEOUT": "-1"], "FCGI_READ_TIMEOUT must be more than 0"),
        ]
        try Self.expectRefusals(cases)
    }

    /// Starts a one-worker master with each case's arguments and environment and expects it
    /// to exit non-zero with the case's message in its log.
    static func expectRefusals(_ cases: [([String], [String: String], String)]) throws {
        for (arguments, environment, message) in cases {
            let pool = try TransportPool(["--workers", "1"] + arguments, environment: environment, socket: true)
            defer { pool.stop() }
            let status = pool.waitForExit()
            #expect(status != nil && status != 0, "\(arguments) \(environment)")
            #expect(pool.log().contains(message), "\(pool.log())")
        }
    }

    @Test("a non-loopback socket from systemd or on a lone worker's fd 0 is refused without a list")
    func passedSocketRefusal() throws {
        // Bound to the wildcard but never listening: nothing can connect to it.
        let wildcard = try RawFastCGI.boundSocket("0.0.0.0", port: 0)
        defer { close(wildcard) }
        let master = try TransportPool([], environment: ["FCGI_WEB_SERVER_ADDRS": ""], systemdSocket: wildcard)
        defer { master.stop() }
        #expect(master.waitForExit() == 1)
        #expect(master.log().contains("systemd socket: refusing to listen for FastCGI on 0.0.0.0"))

        let worker = try TransportPool(["worker"], environment: [:], workerSocket: wildcard)
        defer { worker.stop() }
        #expect(worker.waitForExit() == 3)
        #expect(worker.log().contains("refusing to listen for FastCGI on 0.0.0.0"))
    }

    @Test("a loopback socket from systemd: its peers are checked against FCGI_WEB_SERVER_ADDRS")
    func passedSocketChecked() throws {
        let port = Processes.freePort()
        let listening = try RawFastCGI.boundSocket("127.0.0.1", port: port)
        defer { close(listening) }
        #expect(listen(listening, 16) == 0)
        let pool = try TransportPool(
            ["--workers", "1"], environment: ["FCGI_WEB_SERVER_ADDRS": "127.0.0.2"], systemdSocket: listening)
        defer { pool.stop() }
        try pool.waitUntilServing { try RawFastCGI.connect(host: "127.0.0.1", port: port, from: "127.0.0.2") }
        let refused = try RawFastCGI.exchange(
            RawFastCGI.request("/api/hello"), on: RawFastCGI.connect(host: "127.0.0.1", port: port))
        #expect(refused.isEmpty)
        #expect(Processes.waitUntil(seconds: 5) { pool.log().contains("peer=127.0.0.1") })
        #expect(pool.log().contains("127.0.0.2/32"), "the master logs the allowed peers")
    }

    @Test("the pool's socket file: mode 0660, a planted symlink replaced and its target untouched")
    func socketFile() throws {
        let directory = try TransportPool.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = directory + "/precious"
        #expect(FileManager.default.createFile(atPath: target, contents: Data("x".utf8)))
        chmod(target, 0o600)
        let path = directory + "/pool.sock"
        #expect(symlink(target, path) == 0)
        let pool = try TransportPool(["--workers", "1"], socket: true, socketPath: path)
        defer { pool.stop() }
        try pool.waitUntilServing { try RawFastCGI.connect(unix: path) }
        var file = stat()
        #expect(lstat(path, &file) == 0)
        #expect(file.st_mode & S_IFMT == S_IFSOCK)
        #expect(file.st_mode & 0o7777 == 0o660)
        var kept = stat()
        #expect(lstat(target, &kept) == 0)
        #expect(kept.st_mode & S_IFMT == S_IFREG && kept.st_mode & 0o7777 == 0o600)
        #expect(kept.st_uid == geteuid() && kept.st_gid == getegid())
    }
}

/// `tasks-api serve` (or `worker`) started for one test, with its log in its own directory,
/// stopped by PID.
final class TransportPool: @unchecked Sendable {
    let directory: String
    let socketPath: String
    let pid: pid_t
    private var exitStatus: Int32?

    static func makeDirectory() throws -> String {
        var template = Array("/tmp/tasks-api-transport-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TransportTestError(description: "mkdtemp failed") }
        return String(cString: made)
    }

    /// - Parameters:
    ///   - systemdSocket: passed as fd 3 with `LISTEN_FDS=1` and this process's `LISTEN_PID`.
    ///   - workerSocket: passed as fd 0 to `arguments` run as they are (`worker`).
    init(
        _ arguments: [String], environment: [String: String] = [:], socket: Bool = false,
        socketPath: String? = nil, systemdSocket: Int32? = nil, workerSocket: Int32? = nil
    ) throws {
        directory = try Self.makeDirectory()
        chmod(directory, 0o755)
        self.socketPath = socketPath ?? directory + "/pool.sock"
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            ![
                "LISTEN_FDS", "LISTEN_PID", "TASKS_API_MASTER_PID", "APP_ENV", "REPLIT_DEPLOYMENT",
                "FCGI_WEB_SERVER_ADDRS",
            ]
            .contains(key)
        }
        env["INSTANCE_PATH"] = directory + "/instance"
        env["LOG_LEVEL"] = "info"
        env["RATELIMIT_ENABLED"] = "false"
        for (key, value) in environment { env[key] = value }

        var argv = [Paths.binary]
        if workerSocket == nil { argv += ["serve"] }
        argv += arguments
        if socket { argv += ["--socket", self.socketPath] }
        if systemdSocket != nil {
            env["LISTEN_FDS"] = "1"
            argv = ["/bin/sh", "-c", "LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\""] + argv
        }

        let log = directory + "/pool.log"
        var actions: [Processes.FileAction] = [
            workerSocket.map { .duplicate($0, to: 0) } ?? .open(0, path: "/dev/null", flags: O_RDONLY),
            .open(1, path: log, flags: O_WRONLY | O_CREAT | O_APPEND),
            .duplicate(1, to: 2),
        ]
        if let systemdSocket { actions.append(.duplicate(systemdSocket, to: 3)) }
        pid = try Processes.spawn(
            executable: argv[0], arguments: Array(argv.dropFirst()), environment: env, fileActions: actions)
    }

    func log() -> String {
        (try? String(contentsOfFile: directory + "/pool.log", encoding: .utf8)) ?? ""
    }

    /// The exit status once the process has exited (128 + signal when killed), or nil.
    func reap() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return exitStatus
    }

    func waitForExit(seconds: Double = 20) -> Int32? {
        Processes.waitUntil(seconds: seconds) { reap() != nil }
        return reap()
    }

    /// Waits until a request on a fresh connection from `connect` is answered.
    func waitUntilServing(_ connect: () throws -> Int32) throws {
        let ready = Processes.waitUntil(seconds: 30) {
            guard reap() == nil, let fd = try? connect() else { return false }
            return (try? RawFastCGI.get("/healthz", on: fd))??.hasPrefix("Status: 200") == true
        }
        guard ready else { throw TransportTestError(description: "pool not serving; log:\n\(log())") }
    }

    /// Stops the master (its workers follow it) and removes the directory.
    func stop() {
        if reap() == nil {
            kill(pid, SIGTERM)
            if waitForExit(seconds: 15) == nil {
                for worker in Processes.children(of: pid) { kill(worker, SIGKILL) }
                kill(pid, SIGKILL)
                _ = waitForExit(seconds: 5)
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}

/// A FastCGI client that writes the records itself, as a hostile peer would.
enum RawFastCGI {
    static func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
        [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
    }

    /// BEGIN_REQUEST (responder), PARAMS, an empty PARAMS and an empty STDIN.
    static func request(_ uri: String) -> [UInt8] {
        var params: [UInt8] = []
        for (name, value) in [
            ("REQUEST_METHOD", "GET"), ("REQUEST_URI", uri), ("REMOTE_ADDR", "203.0.113.1"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
        ] {
            params += [UInt8(name.utf8.count), UInt8(value.utf8.count)] + Array(name.utf8) + Array(value.utf8)
        }
        return record(1, [0, 1, 0, 0, 0, 0, 0, 0]) + record(4, params) + record(4, []) + record(5, [])
    }

    /// Sends `bytes`, reads until the server closes, closes `fd`: every byte that came back.
    static func exchange(_ bytes: [UInt8], on fd: Int32) throws -> [UInt8] {
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            received += buffer[..<count]
        }
        return received
    }

    /// The STDOUT stream of the answer to `GET uri`, or nil when nothing came back.
    static func get(_ uri: String, on fd: Int32) throws -> String? {
        var bytes = try exchange(request(uri), on: fd)[...]
        var stdout: [UInt8] = []
        while bytes.count >= 8 {
            let header = Array(bytes.prefix(8))
            let length = Int(header[4]) << 8 | Int(header[5])
            let total = 8 + length + Int(header[6])
            guard bytes.count >= total else { break }
            if header[1] == 6 { stdout += bytes.dropFirst(8).prefix(length) }
            bytes = bytes.dropFirst(total)
        }
        return stdout.isEmpty ? nil : String(decoding: stdout, as: UTF8.self)
    }

    /// A socket with a generous receive timeout, so a broken server fails a test, never hangs it.
    private static func clientSocket(_ family: Int32) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TransportTestError(description: "socket: \(errno)") }
        // Kept out of the processes a test starts, except where passed on purpose.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var time = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func connect(unix path: String) throws -> Int32 {
        let fd = try clientSocket(AF_UNIX)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: path.utf8) }
        let result = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw TransportTestError(description: "connect \(path): \(errno)")
        }
        return fd
    }

    /// A TCP connection to `host`, from the local address `source` when given.
    static func connect(host: String, port: UInt16, from source: String? = nil) throws -> Int32 {
        let family = host.contains(":") ? AF_INET6 : AF_INET
        let fd = try clientSocket(family)
        do {
            if let source { try bind(fd, address(source, port: 0)) }
            let target = try address(host, port: port)
            let result = target.withUnsafeBytes {
                Glibc.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
            }
            guard result == 0 else { throw TransportTestError(description: "connect \(host):\(port): \(errno)") }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// A TCP socket bound (not listening) to `host:port`.
    static func boundSocket(_ host: String, port: UInt16) throws -> Int32 {
        let fd = try clientSocket(AF_INET)
        do {
            try bind(fd, address(host, port: port))
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    static func hasIPv6Loopback() -> Bool {
        guard let fd = try? clientSocket(AF_INET6) else { return false }
        defer { close(fd) }
        return (try? bind(fd, address("::1", port: 0))) != nil
    }

    private static func address(_ host: String, port: UInt16) throws -> [UInt8] {
        if host.contains(":") {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &addr.sin6_addr) == 1 else { throw TransportTestError(description: host) }
            return withUnsafeBytes(of: addr) { Array($0) }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw TransportTestError(description: host) }
        return withUnsafeBytes(of: addr) { Array($0) }
    }

    private static func bind(_ fd: Int32, _ address: [UInt8]) throws {
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = address.withUnsafeBytes {
            Glibc.bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard result == 0 else { throw TransportTestError(description: "bind: \(String(cString: strerror(errno)))") }
    }
}

struct TransportTestError: Error, CustomStringConvertible {
    let description: String
}

/// An answer set by one thread and read after a join.
private final class AnswerBox: @unchecked Sendable {
    var value: String?
}
