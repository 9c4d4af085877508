// `tasks-api serve`: the master process of the worker pool.

import ArgumentParser
import FastCGI
import Flagon
import Foundation
import HostRegion
import Logging
import TasksAPI

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the master: bind the socket, start and supervise the workers.",
        discussion: """
            Without --socket or --bind, takes the socket systemd passes (LISTEN_FDS).
            SIGTERM/SIGINT stop gracefully. SIGHUP runs `tasks-api migrate`, then replaces the workers,
            retiring the old ones once the new ones are ready. SIGUSR2 does the same after executing
            the binary on disk in place (same PID, same socket). SIGUSR1 reopens --log-file, in the
            master and every worker. Under systemd (NOTIFY_SOCKET), sends READY=1 once a worker
            serves, STATUS=, RELOADING=1, STOPPING=1, and WATCHDOG=1 when WatchdogSec= is set.
            """
    )

    @Option(help: "Unix socket path to create (mode 0660).")
    var socket: String?

    @Option(
        help: "TCP HOST:PORT to listen on, [::1]:PORT for IPv6 (loopback, or with FCGI_WEB_SERVER_ADDRS).")
    var bind: String?

    @Option(help: "Group of the unix socket file, one that nginx's user is in (e.g. tasks-api-fcgi).")
    var socketGroup: String?

    @Option(
        help: ArgumentHelp(
            "Seconds a worker waits for a peer to send (or read) before dropping the connection.",
            discussion: "Default: FCGI_READ_TIMEOUT, else 10."))
    var readTimeout: Double?

    @Option(help: "Connections each worker keeps open for nginx to reuse while it serves one of them (0: none).")
    var keptConnections: Int = Worker.defaultKeptConnections

    @Option(
        help: ArgumentHelp(
            "Seconds a request runs before the worker asks nginx to close its other kept connections.",
            discussion: "So that nginx sends the next requests to idle workers (0: as each request begins)."))
    var releaseAfter: Double = Worker.defaultReleaseAfter

    @Option(help: "Number of worker processes (default: 2 per CPU).")
    var workers: Int?

    @Option(help: "A dynamic pool's fewest workers, with --max-workers (instead of --workers).")
    var minWorkers: Int?

    @Option(help: "A dynamic pool's most workers: it grows while every worker is busy.")
    var maxWorkers: Int?

    @Option(
        help: "Seconds a dynamic pool's worker may stay idle before it retires, down to --min-workers (default 10).")
    var idleTimeout: Double?

    @Option(help: "Restart a worker after this many requests (0: never).")
    var maxRequests: Int = 0

    @Option(help: "Add a random 0 to N to each worker's --max-requests, so that workers do not recycle at once.")
    var maxRequestsJitter: Int = 0

    @Option(
        help: ArgumentHelp(
            "Recycle a worker whose resident memory passes this many MiB (0: never).",
            discussion: "Default: MAX_WORKER_RSS, else 0."))
    var maxWorkerRss: Int?

    @Option(
        help: ArgumentHelp(
            "Kill and replace a worker busy with one request longer than this many seconds (0: never).",
            discussion: "Default: REQUEST_TIMEOUT, else 30. nginx's fastcgi_read_timeout should be 5 s more."))
    var timeout: Double?

    @Option(
        help: ArgumentHelp(
            "Log requests running longer than this many seconds (0: none).", discussion: "Default: SLOW_LOG, else 0."))
    var slowLog: Double?

    @Option(
        help: ArgumentHelp(
            "Unix socket of the status server (/status, /ping, /metrics; mode 0660, --socket-group).",
            discussion: """
                Default: $RUNTIME_DIRECTORY/\(StatusServer.fileName), else <socket>.status, else \
                $RUN_DIR/\(StatusServer.fileName).
                """))
    var statusSocket: String?

    @Option(help: "Seconds in-flight requests get to finish on stop.")
    var gracefulTimeout: Double = 30

    @Option(help: "Append the master's and workers' log to this file (created 0640); SIGUSR1 reopens it.")
    var logFile: String?

    func validate() throws {
        if socket != nil && bind != nil { throw ValidationError("use either --socket or --bind, not both") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        try validatePoolSize()
        if maxRequests < 0 { throw ValidationError("--max-requests must not be negative") }
        if !Worker.isValidRequestJitter(maxRequestsJitter, maxRequests: maxRequests) {
            throw ValidationError("--max-requests-jitter must not be negative or too large")
        }
        if let maxWorkerRss, maxWorkerRss < 0 { throw ValidationError("--max-worker-rss must not be negative") }
        if let timeout, !(0...86400).contains(timeout) { throw ValidationError("--timeout must be 0 to 86400 seconds") }
        if let slowLog, !(0...86400).contains(slowLog) {
            throw ValidationError("--slow-log must be 0 to 86400 seconds")
        }
        if gracefulTimeout < 0 { throw ValidationError("--graceful-timeout must not be negative") }
        if let readTimeout, !Worker.isValidReadTimeout(readTimeout) {
            throw ValidationError("--read-timeout must be more than 0 and at most 86400 seconds")
        }
        if !Worker.isValidKeptConnections(keptConnections) {
            throw ValidationError("--kept-connections must be 0 to 1024")
        }
        if !Worker.isValidReleaseAfter(releaseAfter) {
            throw ValidationError("--release-after must be 0 to 10 seconds")
        }
    }

    func run() throws {
        if let logFile {
            do { try LogFile.redirectStandardError(to: logFile) } catch {
                Startup.fail(Startup.logger("tasks-api"), error)
            }
        }
        let logger = Startup.logger("tasks-api.master")
        let readTimeout: Double
        do {
            readTimeout = try self.readTimeout ?? Startup.readTimeoutFromEnvironment()
        } catch {
            Startup.fail(logger, error)
        }
        // The host region first: the master's own check of the application below maps it
        // too, and every worker inherits it, so counters outlive recycling and reloads.
        let region: HostRegion
        do {
            if Master.isUpgrade {
                // The previous image's region, named in the inherited environment.
                region = try HostRegion.forThisProcess(fallbackPath: "")
            } else {
                region = try HostRegion.createShared()
                region.publishToChildren()
            }
        } catch {
            Startup.fail(logger, error)
        }
        // Validate the configuration and migrate once here, so that a refused production
        // start or a broken database stops before any worker starts.
        let settings: Settings
        do {
            let application = try Startup.application(logger)
            let migrations = try application.database.appliedMigrations()
            logger.info("database ready", metadata: ["migrations": "\(migrations.joined(separator: ","))"])
            settings = application.settings
        } catch {
            Startup.fail(logger, error)
        }

        let address: ListenAddress
        if let socket {
            address = .unix(path: socket)
        } else if let bind {
            guard let parsed = ListenAddress.parseBind(bind) else {
                Startup.fail(logger, ValidationError("--bind expects IPV4:PORT or [IPV6]:PORT, got '\(bind)'"))
            }
            address = parsed
        } else if Listener.systemdSocketAvailable || Master.isUpgrade {
            address = .systemd
        } else {
            Startup.fail(logger, ValidationError("no --socket, no --bind and no socket from systemd"))
        }
        let listener: Listener
        do {
            listener = try Master.inheritedListener(address) ?? Listener.open(address, group: socketGroup)
        } catch {
            Startup.fail(logger, error)
        }
        logger.info("listening", metadata: ["listen": "\(listener.address)", "peers": "\(listener.peers)"])
        var options = Master.Options(
            workers: workers ?? max(2, 2 * ProcessInfo.processInfo.activeProcessorCount),
            maxRequests: maxRequests,
            maxWorkerRSS: maxWorkerRss ?? settings.maxWorkerRSS,
            gracefulTimeout: gracefulTimeout,
            workerExecutable: Master.currentExecutable(),
            workerArguments: [
                "worker", "--read-timeout", String(readTimeout), "--kept-connections", String(keptConnections),
                "--release-after", String(releaseAfter),
                "--max-requests-jitter", String(maxRequestsJitter),
            ] + (logFile.map { ["--log-file", $0] } ?? []),
            onAbnormalExit: { region.bumpRevocationGeneration() },
            reloadCheck: ["migrate"], upgradeArguments: Array(CommandLine.arguments.dropFirst()),
            inheritedDescriptors: ProcessInfo.processInfo.environment[HostRegion.descriptorVariable]
                .flatMap(Int32.init).map { [$0] } ?? [])
        options.region = region
        options.requestTimeout = timeout ?? settings.requestTimeout
        options.slowLog = slowLog ?? settings.slowLog
        options.statusListener = Startup.statusListener(statusSocket, pool: listener, group: socketGroup, logger)
        if let minWorkers, let maxWorkers {
            options.workers = minWorkers
            options.minWorkers = minWorkers
            options.maxWorkers = maxWorkers
            options.idleTimeout = idleTimeout ?? options.idleTimeout
        }
        // The connections waiting for a worker, from the kernel (sock_diag for a unix
        // socket, TCP_INFO for TCP): the dynamic pool grows only while some wait.
        let poolFD = listener.fd
        options.listenQueueLength = { ListenQueue.of(poolFD)?.queued }
        var master = Master(listener: listener, options: options, logger: logger)
        let status = master.run()
        Foundation.exit(status)
    }
}

extension Serve {
    /// --workers, or --min-workers with --max-workers (and --idle-timeout).
    func validatePoolSize() throws {
        guard minWorkers != nil || maxWorkers != nil || idleTimeout != nil else { return }
        if workers != nil { throw ValidationError("use either --workers or --min-workers and --max-workers, not both") }
        guard let minWorkers, let maxWorkers else {
            throw ValidationError("a dynamic pool needs both --min-workers and --max-workers")
        }
        if minWorkers < 1 { throw ValidationError("--min-workers must be at least 1") }
        if maxWorkers < minWorkers { throw ValidationError("--max-workers must be at least --min-workers") }
        if maxWorkers > Master.largestPool {
            throw ValidationError("--max-workers must be at most \(Master.largestPool)")
        }
        if let idleTimeout, !(idleTimeout > 0 && idleTimeout <= 86400) {
            throw ValidationError("--idle-timeout must be more than 0 and at most 86400 seconds")
        }
    }
}
