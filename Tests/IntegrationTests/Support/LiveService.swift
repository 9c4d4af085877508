// Starts the real service for a test: a worker pool and nginx in front of it, on free ports.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where the repository and the built binary are.
enum Paths {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `tasks-api`, built beside the test bundle (or `TASKS_API_BIN`).
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["TASKS_API_BIN"] { return path }
        var candidates: [String] = []
        if let bundle = Bundle.main.executableURL?.deletingLastPathComponent() {
            candidates.append(bundle.appendingPathComponent("tasks-api").path)
        }
        let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(argument0.appendingPathComponent("tasks-api").path)
        candidates.append(argument0.deletingLastPathComponent().appendingPathComponent("tasks-api").path)
        candidates.append(repositoryRoot.appendingPathComponent(".build/debug/tasks-api").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }()
}

/// One running copy of the service: `tasks-api serve` (or spawn-fcgi workers) behind a
/// real nginx rendered from the repository's `nginx.conf`. Everything lives in a fresh
/// directory and is stopped by PID in ``stop()``; if the test runner dies first, a
/// ``Lifeline`` watchdog kills pool and nginx (each its own process group) and removes the
/// directory.
final class LiveService: @unchecked Sendable {
    enum Pool {
        /// `tasks-api serve --workers N` with extra arguments; with `--min-workers` among
        /// them, a dynamic pool that starts N workers, and no `--workers`.
        case master(workers: Int, arguments: [String])
        /// `spawn-fcgi -F N -- tasks-api worker`.
        case spawnFCGI(workers: Int)
        /// No pool at all: nginx answers 502 on its own.
        case none
    }

    let directory: URL
    let port: UInt16
    let socketPath: String
    /// nginx's internal status listener, and the master's status socket behind it.
    let statusPort: UInt16
    var statusSocketPath: String { socketPath + ".status" }
    let environment: [String: String]
    let client: HTTPClient
    private(set) var master: Process?
    private(set) var spawnedWorkers: [pid_t] = []
    private var nginx: Process?
    private let masterLog: URL
    private let lifeline: Lifeline

    /// Whether nginx passes the platform identity headers through, as the one documented
    /// change in nginx/fastcgi.conf does for a trusted proxy in front of nginx.
    let trustedIdentityHop: Bool
    /// Whether nginx opens one connection per FastCGI request (`fastcgi_keep_conn off`)
    /// instead of the shipped kept connections, to compare the two.
    let connectionPerRequest: Bool
    /// The `tasks-api` the master is started from.
    let binary: String

    init(
        environment: [String: String] = [:], maxContentLength: Int? = nil, trustedIdentityHop: Bool = false,
        connectionPerRequest: Bool = false, binary: String = Paths.binary
    ) throws {
        self.binary = binary
        self.trustedIdentityHop = trustedIdentityHop
        self.connectionPerRequest = connectionPerRequest
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-it-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        // nginx's workers run as www-data when the tests run as root: they must reach the socket.
        chmod(base.path, 0o755)
        directory = base
        lifeline = try Lifeline(cleaning: base)
        port = Processes.freePort()
        var statusPort = Processes.freePort()
        while statusPort == port { statusPort = Processes.freePort() }
        self.statusPort = statusPort
        socketPath = base.appendingPathComponent("pool.sock").path
        masterLog = base.appendingPathComponent("master.log")
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !["LISTEN_FDS", "LISTEN_PID", "TASKS_API_MASTER_PID", "APP_ENV", "REPLIT_DEPLOYMENT"].contains(key)
        }
        env["INSTANCE_PATH"] = base.appendingPathComponent("instance").path
        env["LOG_LEVEL"] = "info"
        // Pool and transport tests send hundreds of requests from one address, past the default
        // limit (50 per hour); the rate-limit tests turn the limiter on in `environment`.
        env["RATELIMIT_ENABLED"] = "false"
        if let maxContentLength { env["MAX_CONTENT_LENGTH"] = String(maxContentLength) }
        for (key, value) in environment { env[key] = value }
        self.environment = env
        client = HTTPClient(port: port)
    }

    /// Starts pool and nginx and waits until `/healthz` answers through nginx.
    static func start(
        _ pool: Pool = .master(workers: 4, arguments: []), environment: [String: String] = [:],
        maxContentLength: Int? = nil, trustedIdentityHop: Bool = false, connectionPerRequest: Bool = false,
        binary: String = Paths.binary
    ) throws -> LiveService {
        let service = try LiveService(
            environment: environment, maxContentLength: maxContentLength, trustedIdentityHop: trustedIdentityHop,
            connectionPerRequest: connectionPerRequest, binary: binary)
        do {
            try service.startPool(pool)
            try service.startNginx()
            if case .none = pool { return service }
            let ready = Processes.waitUntil(seconds: 20) { (try? service.client.get("/healthz"))?.status == 200 }
            guard ready else { throw HTTPClientError(description: "service not ready; log:\n\(service.log())") }
        } catch {
            service.stop()
            throw error
        }
        return service
    }

    func startPool(_ pool: Pool) throws {
        switch pool {
        case .master(let workers, let arguments):
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            var args = ["serve", "--socket", socketPath, "--graceful-timeout", "10"]
            if !arguments.contains("--min-workers") { args += ["--workers", String(workers)] }
            if Processes.isRoot { args += ["--socket-group", "www-data"] }
            process.arguments = args + arguments
            process.environment = environment
            _ = FileManager.default.createFile(atPath: masterLog.path, contents: nil)
            let logFile = try FileHandle(forWritingTo: masterLog)
            logFile.seekToEndOfFile()
            process.standardOutput = logFile
            process.standardError = logFile
            try process.run()
            master = process
            // Foundation starts it as the leader of a new group, which its workers join.
            lifeline.watch(group: process.processIdentifier)
            let up = Processes.waitUntil(seconds: 20) {
                !process.isRunning
                    || (FileManager.default.fileExists(atPath: self.socketPath)
                        && Processes.children(of: process.processIdentifier).count == workers)
            }
            guard up, process.isRunning else {
                throw HTTPClientError(description: "pool did not start; log:\n\(log())")
            }
        case .spawnFCGI(let workers):
            // Through the shipped deploy/spawn-fcgi.sh, which also migrates first.
            var env = environment
            env["TASKS_API"] = Paths.binary
            let script = Paths.repositoryRoot.appendingPathComponent("deploy/spawn-fcgi.sh").path
            let (status, output) = try Processes.run(
                "/bin/bash", [script, socketPath, String(workers)], environment: env)
            try? output.write(to: masterLog, atomically: true, encoding: .utf8)
            let pidFile = (try? String(contentsOfFile: socketPath + ".pids", encoding: .utf8)) ?? ""
            spawnedWorkers = pidFile.split(separator: "\n").compactMap { pid_t($0) }
            for pid in spawnedWorkers { lifeline.watch(process: pid) }
            guard status == 0, spawnedWorkers.count == workers else {
                spawnedWorkers.forEach { kill($0, SIGKILL) }
                throw HTTPClientError(description: "spawn-fcgi.sh failed (\(status)): \(output)")
            }
        case .none:
            break
        }
    }

    private func startNginx() throws {
        let runDir = directory.appendingPathComponent("nginx").path
        let conf = runDir + "/nginx.conf"
        var env = environment
        env["RUN_DIR"] = runDir
        env["SOCKET"] = socketPath
        env["PORT"] = String(port)
        env["STATUS_PORT"] = String(statusPort)
        env["MAX_CONTENT_LENGTH"] = environment["MAX_CONTENT_LENGTH"] ?? "1048576"
        let render = Paths.repositoryRoot.appendingPathComponent("scripts/render-nginx-conf").path
        let rendered = try Processes.run(
            "/bin/bash", [render, Paths.repositoryRoot.appendingPathComponent("nginx.conf").path, conf],
            environment: env)
        guard rendered.status == 0 else {
            throw HTTPClientError(description: "render-nginx-conf failed: \(rendered.output)")
        }
        if trustedIdentityHop { try passIdentityHeaders(conf: conf, runDir: runDir) }
        if connectionPerRequest {
            let rendered = try String(contentsOfFile: conf, encoding: .utf8)
            guard rendered.contains("fastcgi_keep_conn on;") else {
                throw HTTPClientError(description: "nginx.conf does not set fastcgi_keep_conn on")
            }
            try rendered.replacingOccurrences(of: "fastcgi_keep_conn on;", with: "fastcgi_keep_conn off;").write(
                toFile: conf, atomically: true, encoding: .utf8)
        }
        nginx = try TestNginx.start(conf: conf, runDirectory: runDir, probe: client, lifeline: lifeline)
    }

    /// Applies the change nginx/fastcgi.conf documents for a trusted platform proxy: the
    /// identity headers pass through instead of being removed.
    private func passIdentityHeaders(conf: String, runDir: String) throws {
        let shipped = Paths.repositoryRoot.appendingPathComponent("nginx/fastcgi.conf").path
        var snippet = try String(contentsOfFile: shipped, encoding: .utf8)
        for header in ["ID", "NAME", "ROLES"] {
            let stripped = "fastcgi_param  HTTP_X_REPLIT_USER_\(header)"
            let lines = snippet.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                guard line.hasPrefix(stripped), line.contains("\"\" if_not_empty;") else { return String(line) }
                return
                    "fastcgi_param HTTP_X_REPLIT_USER_\(header) $http_x_replit_user_\(header.lowercased()) if_not_empty;"
            }
            snippet = lines.joined(separator: "\n")
        }
        let copy = runDir + "/fastcgi-trusted-hop.conf"
        try snippet.write(toFile: copy, atomically: true, encoding: .utf8)
        let rendered = try String(contentsOfFile: conf, encoding: .utf8)
        guard rendered.contains(shipped) else {
            throw HTTPClientError(description: "nginx.conf does not include \(shipped)")
        }
        try rendered.replacingOccurrences(of: shipped, with: copy).write(
            toFile: conf, atomically: true, encoding: .utf8)
    }

    /// The worker processes of the pool.
    func workerPIDs() -> [pid_t] {
        if let master { return Processes.children(of: master.processIdentifier) }
        return spawnedWorkers.filter { !Processes.isDead($0) }
    }

    /// What the master and its workers logged so far.
    func log() -> String {
        (try? String(contentsOf: masterLog, encoding: .utf8)) ?? ""
    }

    /// What nginx logged to its error log so far.
    func nginxErrors() -> String {
        let path = directory.appendingPathComponent("nginx/error.log").path
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Sends a signal to the master.
    func signalMaster(_ signal: Int32) {
        if let master { kill(master.processIdentifier, signal) }
    }

    /// Waits for the master to exit; its exit status, or nil on timeout.
    func waitForMaster(seconds: Double) -> Int32? {
        guard let master else { return nil }
        guard Processes.waitUntil(seconds: seconds, { !master.isRunning }) else { return nil }
        return master.terminationStatus
    }

    /// Stops the pool only (nginx keeps running), for restart and 502 tests.
    func stopPool() {
        if let master, master.isRunning {
            kill(master.processIdentifier, SIGTERM)
            if !Processes.waitUntil(seconds: 15, { !master.isRunning }) {
                for pid in Processes.children(of: master.processIdentifier) { kill(pid, SIGKILL) }
                kill(master.processIdentifier, SIGKILL)
                master.waitUntilExit()
            }
        }
        if let master { lifeline.forget(group: master.processIdentifier) }
        master = nil
        for pid in spawnedWorkers {
            kill(pid, SIGKILL)
            lifeline.forget(process: pid)
        }
        spawnedWorkers = []
    }

    /// Stops the pool and nginx, keeping the instance folder, then starts both again on the
    /// same port and socket: what a host restart does to the service.
    func restart(_ pool: Pool) throws {
        stopPool()
        stopNginx()
        try startPool(pool)
        try startNginx()
        let ready = Processes.waitUntil(seconds: 20) { (try? self.client.get("/healthz"))?.status == 200 }
        guard ready else { throw HTTPClientError(description: "service not ready after restart; log:\n\(log())") }
    }

    private func stopNginx() {
        if let nginx { TestNginx.stop(nginx, lifeline: lifeline) }
        nginx = nil
    }

    /// Stops everything this service started and removes its directory.
    func stop() {
        stopPool()
        stopNginx()
        try? FileManager.default.removeItem(at: directory)
        lifeline.release()
    }

    /// nginx's master process, while it runs.
    var nginxPID: pid_t? { nginx.map(\.processIdentifier) }

    /// Lets go of the lifeline and stops nothing: what the kernel does when the test runner
    /// is killed, so that a test can show the watchdog cleans up after it.
    func abandonLifeline() { lifeline.release() }

    deinit { stop() }
}

/// A `/_testing/sleep` request sent from a background thread (the service needs TESTING=true).
final class SlowRequest: @unchecked Sendable {
    /// Its X-Request-Id, which the worker's "sleep started" line carries.
    let requestID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    /// The worker that logged it started.
    fileprivate(set) var workerPID: pid_t = 0
    fileprivate let group = DispatchGroup()
    fileprivate var result: Result<HTTPResult, any Error>?

    /// Waits for the answer.
    func response() throws -> HTTPResult {
        group.wait()
        return try result!.get()
    }
}

extension LiveService {
    /// The first line of the pool's log that holds every fragment, once it is there.
    func waitForLogLine(containing fragments: [String], seconds: Double = 20) -> String? {
        var found: String?
        Processes.waitUntil(seconds: seconds) {
            found = log().split(separator: "\n").first { line in fragments.allSatisfy { line.contains($0) } }
                .map(String.init)
            return found != nil
        }
        return found
    }

    /// Sends `/_testing/sleep?seconds=S` and returns once a worker has logged that the
    /// handler started: from then on the request is in flight in that worker.
    func startSlowRequest(seconds: Double) throws -> SlowRequest {
        let slow = SlowRequest()
        let client = self.client
        Processes.onOwnThread(group: slow.group) {
            slow.result = Result {
                try client.get("/_testing/sleep?seconds=\(seconds)", headers: [("X-Request-Id", slow.requestID)])
            }
        }
        guard let line = waitForLogLine(containing: [#"msg="sleep started""#, "request_id=\(slow.requestID)"]) else {
            throw HTTPClientError(description: "the slow request never started; log:\n\(log())")
        }
        let pidField = line.split(separator: " ").first { $0.hasPrefix("pid=") }
        slow.workerPID = pidField.flatMap { pid_t($0.dropFirst(4)) } ?? 0
        return slow
    }
}
