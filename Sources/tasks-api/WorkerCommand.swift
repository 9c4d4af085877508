// `tasks-api worker`: one FastCGI worker on fd 0 (under the master, spawn-fcgi or systemd).

import ArgumentParser
import FastCGI
import Flagon
import Foundation
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

    func run() throws {
        let logger = Startup.logger("tasks-api.worker")
        // Under a master, leave with it: a worker must never outlive its supervisor.
        let master = ProcessInfo.processInfo.environment["TASKS_API_MASTER_PID"].flatMap(Int32.init)
        if let master {
            if !Worker.bindLifetime(toMaster: master) { Foundation.exit(0) }
        }
        let app: App
        do {
            // The master migrated before starting workers; alone (spawn-fcgi, systemd), migrate here.
            app = try Startup.application(Logger(label: "tasks-api"), migrate: master == nil).app
        } catch {
            Startup.fail(logger, error, status: Worker.bootFailureStatus)
        }
        logger.debug("worker ready")
        let maxRequests = self.maxRequests
        // The whole accept loop runs in one task: one request at a time, each awaited.
        let exit = try runBlocking { await Worker(app: app, logger: logger, maxRequests: maxRequests).run() }
        switch exit {
        case .signalled, .recycled:
            Foundation.exit(0)
        case .acceptFailed(let code):
            logger.error("accept failed", metadata: ["error": "\(String(cString: strerror(code)))"])
            Foundation.exit(1)
        }
    }
}
