// `tasks-api openapi`: print the OpenAPI document that `GET /openapi.json` serves.

import ArgumentParser
import FastCGI
import Flagon
import TasksAPI

struct OpenAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi",
        abstract: "Print the OpenAPI 3.1 document of every route as JSON (one line).",
        discussion: """
            The document depends on the configuration as the served one does: TESTING adds its
            routes, RATELIMIT_ENABLED=false leaves out the 429 responses. No file is opened or created.
            """
    )

    func run() throws {
        Signals.unblockControlSignals()
        let logger = Startup.logger("tasks-api.openapi")
        do {
            let application = try Startup.application(logger, describeOnly: true)
            print(application.app.openAPIDocument(title: Application.title, version: Application.version).jsonText)
        } catch {
            Startup.fail(logger, error)
        }
    }
}
