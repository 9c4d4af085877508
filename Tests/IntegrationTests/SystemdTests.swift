// The pool under systemd's protocols: socket activation, sd_notify states, the watchdog, log files reopened on SIGUSR1.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("systemd", .serialized)
struct SystemdTests {
    /// A bound datagram socket standing in for systemd's `NOTIFY_SOCKET`, as
    /// systemd-socket-activate sets up none.
    final class NotifySocket {
        let path: String
        private let fd: Int32
        /// Every datagram received so far, in order.
        private(set) var datagrams: [String] = []

        init(path: String) throws {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw HTTPClientError(description: "socket: \(String(cString: strerror(errno)))") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { bytes in
                for (index, byte) in path.utf8.enumerated() { bytes[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard bound == 0 else {
                throw HTTPClientError(description: "bind \(path): \(String(cString: strerror(errno)))")
            }
            var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// Every line received so far (a datagram may hold several).
        var lines: [String] { datagrams.flatMap { $0.split(separator: "\n").map(String.init) } }

        /// Receives until `count` lines starting with `prefix` arrived since line `after`;
        /// the index of the last of them, or nil after `seconds`.
        @discardableResult
        func waitFor(_ prefix: String, count: Int = 1, after: Int = -1, seconds: Double = 30) -> Int? {
            let deadline = Date().addingTimeInterval(seconds)
            while true {
                let matches = lines.enumerated().filter { $0.offset > after && $0.element.hasPrefix(prefix) }
                if matches.count >= count { return matches[count - 1].offset }
                if Date() >= deadline { return nil }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let received = recv(fd, &buffer, buffer.count, 0)
                if received > 0 { datagrams.append(String(decoding: buffer[..<received], as: UTF8.self)) }
            }
        }
    }

    /// A master this test starts itself (through systemd-socket-activate or alone), with
    /// its own lifeline and folder.
    final class Master {
        let directory: URL
        let pid: pid_t
        let log: String
        private let lifeline: Lifeline
        private var exitStatus: Int32?

        /// With `journal`, its output file stands in for the journal: JOURNAL_STREAM names it.
        init(executable: String, arguments: [String], environment: [String: String], journal: Bool = false) throws {
            directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("tasks-api-systemd-\(getpid())-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            lifeline = try Lifeline(cleaning: directory)
            log = directory.appendingPathComponent("master.log").path
            var environment = environment
            if journal {
                _ = FileManager.default.createFile(atPath: log, contents: nil)
                var status = stat()
                guard stat(log, &status) == 0 else { throw HTTPClientError(description: "stat \(log)") }
                environment["JOURNAL_STREAM"] = "\(status.st_dev):\(status.st_ino)"
            }
            pid = try Processes.spawn(
                executable: executable, arguments: arguments, environment: environment,
                fileActions: [
                    .open(0, path: "/dev/null", flags: O_RDONLY),
                    .open(1, path: log, flags: O_WRONLY | O_CREAT | O_APPEND),
                    .duplicate(1, to: 2),
                ])
            lifeline.watch(process: pid)
        }

        var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        /// Its exit status once it exited, else nil after `seconds`.
        func waitForExit(seconds: Double) -> Int32? {
            Processes.waitUntil(seconds: seconds) {
                var status: Int32 = 0
                guard exitStatus == nil, waitpid(pid, &status, WNOHANG) == pid else { return exitStatus != nil }
                exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                return true
            }
            return exitStatus
        }

        /// Stops it (and its workers, which leave with it) if a test left it running.
        func stop() {
            if waitForExit(seconds: 0) == nil {
                kill(pid, SIGTERM)
                if waitForExit(seconds: 15) == nil {
                    for worker in Processes.children(of: pid) { kill(worker, SIGKILL) }
                    kill(pid, SIGKILL)
                    _ = waitForExit(seconds: 5)
                }
            }
            lifeline.forget(process: pid)
            try? FileManager.default.removeItem(at: directory)
            lifeline.release()
        }
    }

    /// The environment of a master the test starts: its own instance folder, and nothing of
    /// a systemd the test runner itself may run under.
    static func environment(_ directory: URL, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            ![
                "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "TASKS_API_MASTER_PID", "APP_ENV", "REPLIT_DEPLOYMENT",
                "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
            ].contains(key)
        }
        environment["INSTANCE_PATH"] = directory.appendingPathComponent("instance").path
        environment["LOG_LEVEL"] = "info"
        environment["RATELIMIT_ENABLED"] = "false"
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    @Test(
        "socket activation: READY=1 once a worker serves, STATUS=, RELOADING=1 and READY=1 on SIGHUP, STOPPING=1"
    )
    func socketActivationAndNotifications() throws {
        let activate = try #require(Processes.which("systemd-socket-activate"), "scripts/install-deps test")
        // nginx only: the pool is started below, on the socket nginx forwards to.
        let service = try LiveService.start(.none)
        defer { service.stop() }
        let notify = try NotifySocket(path: service.directory.appendingPathComponent("notify.sock").path)
        let instance = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-activated-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: instance) }
        // systemd-socket-activate passes on only the variables named with -E.
        var arguments = ["-l", service.socketPath]
        for (key, value) in Self.environment(instance, ["NOTIFY_SOCKET": notify.path]) where key != "PATH" {
            arguments += ["-E", "\(key)=\(value)"]
        }
        arguments += [Paths.binary, "serve", "--workers", "2", "--graceful-timeout", "10"]
        let master = try Master(
            executable: activate, arguments: arguments, environment: ProcessInfo.processInfo.environment)
        defer { master.stop() }

        // It binds the socket, then waits for the first connection before it execs the master.
        #expect(Processes.waitUntil(seconds: 20) { FileManager.default.fileExists(atPath: service.socketPath) })
        if Processes.isRoot {
            // nginx's workers run as www-data: the socket unit's SocketGroup= and SocketMode=.
            chown(service.socketPath, uid_t.max, getgrnam("www-data")?.pointee.gr_gid ?? gid_t.max)
            chmod(service.socketPath, 0o660)
        }
        #expect(notify.lines.isEmpty)
        let first = DispatchGroup()
        let firstStatus = Statuses()
        let client = service.client
        Processes.onOwnThread(group: first) {
            firstStatus.append((try? client.get("/healthz"))?.status ?? 0)
        }

        let ready = try #require(
            notify.waitFor("READY=1"), "no READY=1; received \(notify.lines); log:\n\(master.output)")
        first.wait()
        #expect(firstStatus.all == [200], "the request that activated the socket")
        #expect(notify.lines[...ready].contains { $0.hasPrefix("STATUS=") && $0.contains("workers serving") })
        #expect(master.output.contains("serving"), "\(master.output)")
        #expect(try service.client.get("/api/hello").status == 200)

        kill(master.pid, SIGHUP)
        let reloading = try #require(notify.waitFor("RELOADING=1", after: ready), "received \(notify.lines)")
        let reloadDatagram = try #require(notify.datagrams.first { $0.hasPrefix("RELOADING=1") })
        #expect(reloadDatagram.contains(#/MONOTONIC_USEC=[0-9]+/#), "\(reloadDatagram)")
        let readyAgain = try #require(notify.waitFor("READY=1", after: reloading), "received \(notify.lines)")
        #expect(try service.client.get("/api/hello").status == 200)

        kill(master.pid, SIGTERM)
        #expect(notify.waitFor("STOPPING=1", after: readyAgain) != nil, "received \(notify.lines)")
        #expect(master.waitForExit(seconds: 20) == 0, "\(master.output)")
        print(
            "systemd notifications received:\n"
                + notify.datagrams.map { "  " + $0.replacingOccurrences(of: "\n", with: " | ") }.joined(separator: "\n")
        )
    }

    @Test("the master sends WATCHDOG=1 again and again when WATCHDOG_USEC is set and WATCHDOG_PID is unset")
    func watchdogIsFed() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-watchdog-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let notify = try NotifySocket(path: directory.appendingPathComponent("notify.sock").path)
        let master = try Master(
            executable: Paths.binary,
            arguments: ["serve", "--socket", directory.appendingPathComponent("pool.sock").path, "--workers", "1"],
            environment: Self.environment(directory, ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"]))
        defer { master.stop() }

        let ready = try #require(notify.waitFor("READY=1"), "received \(notify.lines); log:\n\(master.output)")
        // Fed from the master's loop every 0.1 s: five more after READY=1 take about half a second.
        #expect(notify.waitFor("WATCHDOG=1", count: 5, after: ready) != nil, "received \(notify.lines)")
        // The workers cannot notify in the master's name.
        let worker = try #require(Processes.children(of: master.pid).first)
        let environ = try String(
            decoding: Data(contentsOf: URL(fileURLWithPath: "/proc/\(worker)/environ")), as: UTF8.self)
        #expect(!environ.contains("NOTIFY_SOCKET="))
        #expect(!environ.contains("WATCHDOG_USEC="))
        kill(master.pid, SIGTERM)
        #expect(master.waitForExit(seconds: 20) == 0, "\(master.output)")
    }

    @Test("no WATCHDOG=1 when WATCHDOG_PID names another process")
    func watchdogOfAnotherProcess() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-watchdog-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let notify = try NotifySocket(path: directory.appendingPathComponent("notify.sock").path)
        let master = try Master(
            executable: Paths.binary,
            arguments: ["serve", "--socket", directory.appendingPathComponent("pool.sock").path, "--workers", "1"],
            environment: Self.environment(
                directory, ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"]))
        defer { master.stop() }

        // A fed watchdog sends its first WATCHDOG=1 with the master's first state, before READY=1.
        #expect(notify.waitFor("READY=1") != nil, "received \(notify.lines); log:\n\(master.output)")
        kill(master.pid, SIGTERM)
        #expect(notify.waitFor("STOPPING=1") != nil)
        #expect(master.waitForExit(seconds: 20) == 0, "\(master.output)")
        #expect(!notify.lines.contains("WATCHDOG=1"), "received \(notify.lines)")
    }

    @Test("with stderr the journal's stream, the master's and workers' lines start with their syslog priority")
    func journalPriorities() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-journal-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let master = try Master(
            executable: Paths.binary,
            arguments: ["serve", "--socket", directory.appendingPathComponent("pool.sock").path, "--workers", "1"],
            environment: Self.environment(directory, ["LOG_LEVEL": "debug"]), journal: true)
        defer { master.stop() }

        let started = Processes.waitUntil(seconds: 20) {
            master.output.contains(#"<7>"#) && master.output.contains(#"msg="worker ready""#)
        }
        #expect(started, "\(master.output)")
        kill(master.pid, SIGTERM)
        #expect(master.waitForExit(seconds: 20) == 0, "\(master.output)")
        let lines = master.output.split(separator: "\n")
        #expect(lines.allSatisfy { $0.contains(#/^<[0-7]>ts=/#) }, "\(master.output)")
        #expect(lines.contains { $0.hasPrefix("<6>") && $0.contains(#"msg="master started""#) })
        #expect(lines.contains { $0.hasPrefix("<7>") && $0.contains("logger=tasks-api.worker") })
    }

    @Test("a production pool starts with its secrets only as systemd credentials")
    func credentialsInProduction() throws {
        let credentials = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-credentials-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: credentials) }
        for key in ["SECRET_KEY", "JWT_SECRET_KEY"] {
            let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined() + "\n"
            try Data(secret.utf8).write(to: credentials.appendingPathComponent(key))
        }
        // Empty variables, as deploy/env.example ships them: the credentials win.
        let service = try LiveService.start(
            .master(workers: 1, arguments: []),
            environment: [
                "APP_ENV": "production", "CREDENTIALS_DIRECTORY": credentials.path, "SECRET_KEY": "",
                "JWT_SECRET_KEY": "",
            ])
        defer { service.stop() }
        #expect(try service.client.get("/api/hello").status == 200)
    }

    /// The lines of a file that hold every fragment.
    static func lines(of path: String, containing fragments: [String]) -> [Substring] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { line in fragments.allSatisfy { line.contains($0) } }
    }

    /// Sends a request with a fresh X-Request-Id; returns the id.
    static func tracedRequest(_ service: LiveService) throws -> String {
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let response = try service.client.get("/api/hello", headers: [("X-Request-Id", id)])
        #expect(response.status == 200)
        return id
    }

    @Test("--log-file: after a rename, SIGUSR1 to the master makes it and every worker write to a new file at the path")
    func logFileReopenedOnSIGUSR1() throws {
        let logDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-logs-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logDirectory) }
        let path = logDirectory.appendingPathComponent("tasks-api.log").path
        let rotated = path + ".1"
        let service = try LiveService.start(.master(workers: 2, arguments: ["--log-file", path]))
        defer { service.stop() }
        let workers = service.workerPIDs()
        #expect(workers.count == 2)

        let before = try Self.tracedRequest(service)
        #expect(
            Processes.waitUntil(seconds: 10) { !Self.lines(of: path, containing: ["request_id=\(before)"]).isEmpty })
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o037 == 0, "mode \(String(status.st_mode & 0o777, radix: 8))")
        #expect(!service.log().contains("msg=request"), "lines still went to the inherited stderr")

        #expect(rename(path, rotated) == 0)
        service.signalMaster(SIGUSR1)
        let reopened = Processes.waitUntil(seconds: 20) {
            !Self.lines(of: path, containing: [#"msg="reopening log files""#]).isEmpty
                && workers.allSatisfy {
                    !Self.lines(of: path, containing: ["pid=\($0) ", #"msg="log file reopened""#]).isEmpty
                }
        }
        #expect(reopened, "new file:\n\((try? String(contentsOfFile: path, encoding: .utf8)) ?? "none")")
        #expect(service.workerPIDs() == workers, "SIGUSR1 must not stop a worker")

        let after = try Self.tracedRequest(service)
        #expect(Processes.waitUntil(seconds: 10) { !Self.lines(of: path, containing: ["request_id=\(after)"]).isEmpty })
        #expect(Self.lines(of: rotated, containing: ["request_id=\(after)"]).isEmpty)
        #expect(!Self.lines(of: rotated, containing: ["request_id=\(before)"]).isEmpty)
    }

    @Test("deploy/spawn-fcgi.sh keeps the workers' log in a file, which SIGUSR1 to each worker reopens")
    func spawnFCGIKeepsLogs() throws {
        let service = try LiveService.start(.spawnFCGI(workers: 2))
        defer { service.stop() }
        let path = service.directory.appendingPathComponent("pool.log").path
        let before = try Self.tracedRequest(service)
        #expect(
            Processes.waitUntil(seconds: 10) { !Self.lines(of: path, containing: ["request_id=\(before)"]).isEmpty })

        let workers = service.workerPIDs()
        #expect(rename(path, path + ".1") == 0)
        for pid in workers { kill(pid, SIGUSR1) }
        let reopened = Processes.waitUntil(seconds: 20) {
            workers.allSatisfy {
                !Self.lines(of: path, containing: ["pid=\($0) ", #"msg="log file reopened""#]).isEmpty
            }
        }
        #expect(reopened)
        let after = try Self.tracedRequest(service)
        #expect(Processes.waitUntil(seconds: 10) { !Self.lines(of: path, containing: ["request_id=\(after)"]).isEmpty })
        #expect(service.workerPIDs() == workers)
    }
}
