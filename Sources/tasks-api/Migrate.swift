// `tasks-api migrate`: create the database and apply pending migrations.

import ArgumentParser
import FastCGI
import Foundation
import TasksAPI

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database if needed and apply every pending migration.")

    func run() throws {
        Signals.unblockControlSignals()
        let logger = Startup.logger("tasks-api.migrate")
        do {
            let application = try Startup.application(logger)
            let applied = try application.database.appliedMigrations()
            print(
                "database \(application.database.path): \(applied.count) migrations applied (\(applied.joined(separator: ", ")))"
            )
        } catch {
            Startup.fail(logger, error)
        }
    }
}
