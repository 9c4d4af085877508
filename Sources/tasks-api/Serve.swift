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
            SIGTERM/SIGINT stop gracefully, SIGHUP replaces the workers gracefully.
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

    @Option(help: "Number of worker processes (default: 2 per CPU).")
    var workers: Int?

    @Option(help: "Restart a worker after this many requests (0: never).")
    var maxRequests: Int = 0

    @Option(help: "Add a random 0 to N to each worker's --max-requests, so that workers do not recycle at once.")
    var maxRequestsJitter: Int = 0

    @Option(
        help: ArgumentHelp(
            "Recycle a worker whose resident memory passes this many MiB (0: never).",
            discussion: "Default: MAX_WORKER_RSS, else 0."))
    var maxWorkerRss: Int?

    @Option(help: "Seconds in-flight requests get to finish on stop.")
    var gracefulTimeout: Double = 30

    func validate() throws {
        if socket != nil && bind != nil { throw ValidationError("use either --socket or --bind, not both") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if maxRequests < 0 { throw ValidationError("--max-requests must not be negative") }
        if !Worker.isValidRequestJitter(maxRequestsJitter, maxRequests: maxRequests) {
            throw ValidationError("--max-requests-jitter must not be negative or too large")
        }
        if let maxWorkerRss, maxWorkerRss < 0 { throw ValidationError("--max-worker-rss must not be negative") }
        if gracefulTimeout < 0 { throw ValidationError("--graceful-timeout must not be negative") }
        if let readTimeout, !Worker.isValidReadTimeout(readTimeout) {
            throw ValidationError("--read-timeout must be more than 0 and at most 86400 seconds")
        }
        if !Worker.isValidKeptConnections(keptConnections) {
            throw ValidationError("--kept-connections must be 0 to 1024")
        }
    }

    func run() throws {
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
            region = try HostRegion.createShared()
            region.publishToChildren()
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
        } else if Listener.systemdSocketAvailable {
            address = .systemd
        } else {
            Startup.fail(logger, ValidationError("no --socket, no --bind and no socket from systemd"))
        }
        let listener: Listener
        do {
            listener = try Listener.open(address, group: socketGroup)
        } catch {
            Startup.fail(logger, error)
        }
        logger.info("listening", metadata: ["listen": "\(listener.address)", "peers": "\(listener.peers)"])
        var master = Master(
            listener: listener,
            options: .init(
                workers: workers ?? max(2, 2 * ProcessInfo.processInfo.activeProcessorCount),
                maxRequests: maxRequests,
                maxWorkerRSS: maxWorkerRss ?? settings.maxWorkerRSS,
                gracefulTimeout: gracefulTimeout,
                workerExecutable: Master.currentExecutable(),
                workerArguments: [
                    "worker", "--read-timeout", String(readTimeout), "--kept-connections", String(keptConnections),
                    "--max-requests-jitter", String(maxRequestsJitter),
                ],
                onAbnormalExit: { region.bumpRevocationGeneration() }),
            logger: logger)
        let status = master.run()
        Foundation.exit(status)
    }
}
