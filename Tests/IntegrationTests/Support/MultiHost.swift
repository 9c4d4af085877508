// Several hosts' pools on 127.0.0.2, 127.0.0.3, … behind one real nginx, sharing one database.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Two or more `tasks-api serve` pools, each a "host": its own TCP listener on its own
/// loopback address, its own instance and run folders (so its own host region: scoreboard,
/// counters, shared-memory limiter, revocation generation), `FCGI_WEB_SERVER_ADDRS=127.0.0.1`,
/// and the same secrets and `DATABASE_URL` as the others. One nginx fronts them with the
/// upstream and retry policy of `deploy/nginx-multihost.conf` on ``port``, and reaches each
/// host alone on that host's ``Host/port``, so a test can choose the host of a request.
///
/// Everything lives in a fresh folder and is stopped by PID in ``stop()``; a ``Lifeline``
/// cleans up if the test runner dies first.
final class MultiHost: @unchecked Sendable {
    /// One host's pool.
    final class Host: @unchecked Sendable {
        /// The loopback address its pool listens on.
        let address: String
        /// The pool's FastCGI port on ``address``.
        let fastCGIPort: UInt16
        /// nginx's port that reaches this host only.
        let port: UInt16
        let client: HTTPClient
        /// Its instance folder, run folder and log.
        let directory: URL
        fileprivate(set) var master: Process?
        fileprivate let logURL: URL

        fileprivate init(address: String, fastCGIPort: UInt16, port: UInt16, directory: URL) {
            self.address = address
            self.fastCGIPort = fastCGIPort
            self.port = port
            self.directory = directory
            client = HTTPClient(port: port)
            logURL = directory.appendingPathComponent("master.log")
        }

        /// What its master and workers logged so far.
        func log() -> String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

        /// Its workers.
        func workerPIDs() -> [pid_t] { master.map { Processes.children(of: $0.processIdentifier) } ?? [] }

        /// Access-log lines of its workers for `path` answered with `status`.
        func answered(_ path: String, status: Int) -> Int {
            log().split(separator: "\n").filter {
                $0.contains("msg=request") && $0.contains("path=\(path) ") && $0.contains("status=\(status)")
            }.count
        }
    }

    let directory: URL
    let hosts: [Host]
    /// nginx's port whose upstream lists every host.
    let port: UInt16
    let client: HTTPClient
    /// The database every host uses.
    let databaseURL: String
    /// The environment every host shares (secrets and database included).
    let environment: [String: String]
    private var nginx: Process?
    private let lifeline: Lifeline

    /// Starts `count` hosts of `workers` workers each and nginx in front of them, and waits
    /// until every host answers `/healthz` through nginx.
    /// - Parameter databaseURL: the shared database; nil: a fresh SQLite file in the harness's
    ///   folder, which every pool on this machine can share.
    static func start(
        hosts count: Int = 2, workers: Int = 2, environment: [String: String] = [:], databaseURL: String? = nil
    ) throws -> MultiHost {
        let harness = try MultiHost(hosts: count, environment: environment, databaseURL: databaseURL)
        do {
            for host in harness.hosts { try harness.startPool(host, workers: workers) }
            try harness.startNginx()
            for host in harness.hosts {
                let ready = Processes.waitUntil(seconds: 20) { (try? host.client.get("/healthz"))?.status == 200 }
                guard ready else {
                    throw HTTPClientError(description: "host \(host.address) not ready; log:\n\(host.log())")
                }
            }
        } catch {
            harness.stop()
            throw error
        }
        return harness
    }

    private init(hosts count: Int, environment extra: [String: String], databaseURL: String?) throws {
        precondition(count >= 2 && count <= 250)
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-mh-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        // nginx's workers run as www-data when the tests run as root: they write their temp files here.
        chmod(base.path, 0o755)
        directory = base
        lifeline = try Lifeline(cleaning: base)
        var taken: Set<UInt16> = []
        func freePort(on address: String) -> UInt16 {
            var candidate = Processes.freePort(address: address)
            while taken.contains(candidate) { candidate = Processes.freePort(address: address) }
            taken.insert(candidate)
            return candidate
        }
        port = freePort(on: "127.0.0.1")
        client = HTTPClient(port: port)
        hosts = try (0..<count).map { index in
            let address = "127.0.0.\(index + 2)"
            let folder = base.appendingPathComponent("host-\(index + 1)")
            try FileManager.default.createDirectory(
                at: folder.appendingPathComponent("run"), withIntermediateDirectories: true)
            return Host(
                address: address, fastCGIPort: freePort(on: address), port: freePort(on: "127.0.0.1"),
                directory: folder)
        }
        let shared = base.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        self.databaseURL = databaseURL ?? "sqlite:///" + shared.appendingPathComponent("app.sqlite").path

        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            ![
                "LISTEN_FDS", "LISTEN_PID", "TASKS_API_MASTER_PID", "APP_ENV", "REPLIT_DEPLOYMENT", "INSTANCE_PATH",
                "RUN_DIR", "CREDENTIALS_DIRECTORY", "RATELIMIT_STORAGE_URL",
            ].contains(key)
        }
        // Every host signs and verifies with the same keys; generated ones would differ per instance.
        env["SECRET_KEY"] = Self.randomHex(32)
        env["JWT_SECRET_KEY"] = Self.randomHex(32)
        env["DATABASE_URL"] = self.databaseURL
        env["FCGI_WEB_SERVER_ADDRS"] = "127.0.0.1"
        env["LOG_LEVEL"] = "info"
        env["RATELIMIT_ENABLED"] = "false"
        for (key, value) in extra { env[key] = value }
        environment = env
    }

    private static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    /// The environment of one host: the shared one with its own instance and run folders.
    func environment(of host: Host) -> [String: String] {
        var env = environment
        env["INSTANCE_PATH"] = host.directory.appendingPathComponent("instance").path
        env["RUN_DIR"] = host.directory.appendingPathComponent("run").path
        return env
    }

    private func startPool(_ host: Host, workers: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.binary)
        process.arguments = [
            "serve", "--bind", "\(host.address):\(host.fastCGIPort)", "--workers", String(workers),
            "--graceful-timeout", "10", "--status-socket",
            host.directory.appendingPathComponent("run/status.sock").path,
        ]
        process.environment = environment(of: host)
        _ = FileManager.default.createFile(atPath: host.logURL.path, contents: nil)
        let logFile = try FileHandle(forWritingTo: host.logURL)
        process.standardOutput = logFile
        process.standardError = logFile
        try process.run()
        host.master = process
        // Foundation starts it as the leader of a new group, which its workers join.
        lifeline.watch(group: process.processIdentifier)
        let up = Processes.waitUntil(seconds: 30) {
            !process.isRunning || Processes.children(of: process.processIdentifier).count == workers
        }
        guard up, process.isRunning else {
            throw HTTPClientError(description: "host \(host.address) did not start; log:\n\(host.log())")
        }
    }

    /// The `upstream tasks_api_hosts` block and the `location /` of `deploy/nginx-multihost.conf`,
    /// with the shipped servers replaced by this harness's hosts (keeping their parameters).
    private func shippedUpstreamAndLocation() throws -> (upstream: String, location: String) {
        let path = Paths.repositoryRoot.appendingPathComponent("deploy/nginx-multihost.conf").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let upstreamStart = text.range(of: "upstream tasks_api_hosts {"),
            let upstreamEnd = text.range(of: "\n}", range: upstreamStart.upperBound..<text.endIndex),
            let locationStart = text.range(of: "    location / {\n        fastcgi_pass tasks_api_hosts;"),
            let locationEnd = text.range(of: "\n    }\n", range: locationStart.upperBound..<text.endIndex)
        else {
            throw HTTPClientError(description: "\(path) has no upstream tasks_api_hosts or location / passing to it")
        }
        var upstream: [String] = []
        var parameters: String?
        for line in text[upstreamStart.lowerBound..<upstreamEnd.upperBound].split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if words.first == "server" {
                let rest = words.dropFirst(2).joined(separator: " ")
                if parameters == nil { parameters = rest.isEmpty ? ";" : rest }
                continue
            }
            if line.hasPrefix("}") {
                for host in hosts {
                    upstream.append("    server \(host.address):\(host.fastCGIPort) \(parameters ?? ";")")
                }
            }
            upstream.append(String(line))
        }
        return (upstream.joined(separator: "\n"), String(text[locationStart.lowerBound..<locationEnd.upperBound]))
    }

    private func startNginx() throws {
        let runDir = directory.appendingPathComponent("nginx").path
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        chmod(runDir, 0o755)
        let snippets = Paths.repositoryRoot.appendingPathComponent("nginx").path
        let (upstream, location) = try shippedUpstreamAndLocation()
        // The FastCGI snippet at server level, as deploy/nginx-multihost.conf includes it.
        let pinned = hosts.enumerated().map { index, host in
            """
                upstream tasks_api_host_\(index + 1) {
                    server \(host.address):\(host.fastCGIPort);
                    keepalive 8;
                }
                server {
                    listen 127.0.0.1:\(host.port);
                    include \(snippets)/errors.conf;
                    include \(snippets)/fastcgi.conf;
                    location / {
                        fastcgi_pass tasks_api_host_\(index + 1);
                        fastcgi_keep_conn on;
                    }
                }
            """
        }.joined(separator: "\n")
        let conf = """
            \(Processes.isRoot ? "user www-data www-data;" : "")
            daemon off;
            master_process on;
            worker_processes 1;
            pid \(runDir)/nginx.pid;
            error_log \(runDir)/error.log notice;
            events { worker_connections 1024; }
            http {
                log_format hosts escape=json '{"method":"$request_method","uri":"$request_uri","status":$status,'
                    '"upstream_addr":"$upstream_addr","upstream_status":"$upstream_status"}';
                access_log \(runDir)/access.log hosts;
                client_body_temp_path \(runDir)/client_body_temp;
                fastcgi_temp_path \(runDir)/fastcgi_temp;
                proxy_temp_path \(runDir)/proxy_temp;
                uwsgi_temp_path \(runDir)/uwsgi_temp;
                scgi_temp_path \(runDir)/scgi_temp;
            \(upstream)
                server {
                    listen 127.0.0.1:\(port);
                    include \(snippets)/errors.conf;
                    include \(snippets)/fastcgi.conf;
            \(location)
                }
            \(pinned)
            }

            """
        let confPath = runDir + "/nginx.conf"
        try conf.write(toFile: confPath, atomically: true, encoding: .utf8)
        nginx = try TestNginx.start(conf: confPath, runDirectory: runDir, probe: client, lifeline: lifeline)
    }

    /// What nginx logged to its error log so far.
    func nginxErrors() -> String {
        (try? String(contentsOfFile: directory.appendingPathComponent("nginx/error.log").path, encoding: .utf8)) ?? ""
    }

    /// nginx's access log so far: one entry per request, with the upstream addresses it tried.
    func accessLog() -> [[String: Any]] {
        let path = directory.appendingPathComponent("nginx/access.log").path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// `kill -9` of a host's whole pool, master first so that it starts no replacement, then
    /// every worker; returns once all of them are gone, with their pids.
    @discardableResult
    func killHost(_ host: Host) -> [pid_t] {
        guard let master = host.master else { return [] }
        let pids = [master.processIdentifier] + Processes.children(of: master.processIdentifier)
        for pid in pids { kill(pid, SIGKILL) }
        // A worker the master started between the listing and its death leads no group of
        // its own: it is in the master's, which the master leads.
        kill(-master.processIdentifier, SIGKILL)
        Processes.waitUntil(seconds: 10) { pids.allSatisfy(Processes.isDead) }
        master.waitUntilExit()
        lifeline.forget(group: master.processIdentifier)
        host.master = nil
        return pids
    }

    /// Stops every pool and nginx, and removes the folder.
    func stop() {
        for host in hosts {
            guard let master = host.master else { continue }
            if master.isRunning {
                kill(master.processIdentifier, SIGTERM)
                if !Processes.waitUntil(seconds: 15, { !master.isRunning }) {
                    for pid in Processes.children(of: master.processIdentifier) { kill(pid, SIGKILL) }
                    kill(master.processIdentifier, SIGKILL)
                    master.waitUntilExit()
                }
            }
            lifeline.forget(group: master.processIdentifier)
            host.master = nil
        }
        if let nginx { TestNginx.stop(nginx, lifeline: lifeline) }
        nginx = nil
        try? FileManager.default.removeItem(at: directory)
        lifeline.release()
    }

    deinit { stop() }
}
