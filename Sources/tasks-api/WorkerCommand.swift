// `tasks-api worker`: one FastCGI worker on fd 0 (under the master, spawn-fcgi or systemd).

import ArgumentParser
import FastCGI
import Flagon
import Foundation
import HostRegion
import Logging
import TasksAPI

#if canImport(Glibc)
    import Glibc
#endif

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Serve FastCGI requests from the listening socket on fd 0.",
        discussion: "For spawn-fcgi -F N, systemd socket units, or started by `tasks-api serve`."
    )

    @Option(help: "Exit after this many requests (0: never), to be replaced.")
    var maxRequests: Int = 0

    @Option(help: "Add a random 0 to N to --max-requests, so that workers started together do not leave together.")
    var maxRequestsJitter: Int = 0

    @Option(
        help: "Seconds to wait for a peer to send (or read) before dropping it (default: FCGI_READ_TIMEOUT, else 10).")
    var readTimeout: Double?

    @Option(help: "Connections kept open for nginx to reuse while a request is served on one of them (0: none).")
    var keptConnections: Int = Worker.defaultKeptConnections

    @Option(
        help: ArgumentHelp(
            "Seconds a request runs before the worker asks nginx to close its other kept connections.",
            discussion: "So that nginx sends the next requests to idle workers (0: as each request begins)."))
    var releaseAfter: Double = Worker.defaultReleaseAfter

    @Option(help: "Append the log to this file (created 0640) instead of stderr; SIGUSR1 reopens it.")
    var logFile: String?

    func validate() throws {
        if maxRequests < 0 { throw ValidationError("--max-requests must not be negative") }
        if !Worker.isValidRequestJitter(maxRequestsJitter, maxRequests: maxRequests) {
            throw ValidationError("--max-requests-jitter must not be negative or too large")
        }
        if !Worker.isValidKeptConnections(keptConnections) {
            throw ValidationError("--kept-connections must be 0 to 1024")
        }
        if !Worker.isValidReleaseAfter(releaseAfter) {
            throw ValidationError("--release-after must be 0 to 10 seconds")
        }
        if let readTimeout, !Worker.isValidReadTimeout(readTimeout) {
            throw ValidationError("--read-timeout must be more than 0 and at most 86400 seconds")
        }
    }

    func run() throws {
        if let logFile {
            do { try LogFile.redirectStandardError(to: logFile) } catch {
                Startup.fail(Startup.logger("tasks-api"), error, status: Worker.bootFailureStatus)
            }
        }
        let logger = Startup.logger("tasks-api.worker")
        // Under a master, leave with it: a worker must never outlive its supervisor.
        let master = ProcessInfo.processInfo.environment["TASKS_API_MASTER_PID"].flatMap(Int32.init)
        if let master {
            if !Worker.bindLifetime(toMaster: master) { Foundation.exit(0) }
        }
        // Who may connect, from the socket itself: a TCP socket passed by systemd or
        // spawn-fcgi off loopback without FCGI_WEB_SERVER_ADDRS is refused here.
        let peers: PeerPolicy
        let readTimeout: Double
        do {
            peers = try PeerPolicy.forSocket(0, webServers: Listener.webServersFromEnvironment)
            readTimeout = try self.readTimeout ?? Startup.readTimeoutFromEnvironment()
        } catch {
            Startup.fail(logger, error, status: Worker.bootFailureStatus)
        }
        let app: App
        let region: HostRegion?
        do {
            // The master migrated before starting workers; alone (spawn-fcgi, systemd), migrate here.
            let application = try Startup.application(Logger(label: "tasks-api"), migrate: master == nil)
            app = application.app
            region = application.hostRegion
        } catch {
            Startup.fail(logger, error, status: Worker.bootFailureStatus)
        }
        logger.debug("worker ready")
        var random = SystemRandomNumberGenerator()
        let maxRequests = Worker.requestLimit(maxRequests: self.maxRequests, jitter: maxRequestsJitter, using: &random)
        if maxRequests > 0 { logger.info("request limit", metadata: ["max_requests": "\(maxRequests)"]) }
        let keptConnections = self.keptConnections
        let releaseAfter = self.releaseAfter
        // The whole loop runs in one task: one request at a time, each awaited.
        let exit = try runBlocking {
            var worker = Worker(
                app: app, logger: logger, maxRequests: maxRequests, readTimeout: readTimeout, peers: peers,
                keptConnections: keptConnections, releaseAfter: releaseAfter)
            worker.monitor = region.flatMap { Worker.Monitor.attach(to: $0, routes: app.router.routes) }
            return await worker.run()
        }
        switch exit {
        case .signalled, .recycled:
            Foundation.exit(0)
        case .acceptFailed(let code):
            logger.error("accept failed", metadata: ["error": "\(String(cString: strerror(code)))"])
            Foundation.exit(1)
        }
    }
}
