// `tasks-api migrate`: create the database and apply pending migrations; `--check` only reports them.

import ArgumentParser
import FastCGI
import Flagon
import Foundation
import TasksAPI

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database if needed and apply every pending migration.",
        discussion: """
            With --check, nothing is written: exit 0 when the database is at the latest migration, \
            1 with a line listing the pending ones (a missing database has them all), 2 when the \
            configuration or the database cannot be read.
            """)

    @Flag(help: "Only report pending migrations; create and change nothing.")
    var check = false

    /// `--check`'s exit status when the database cannot be inspected: neither up to date nor not.
    static let checkFailureStatus: Int32 = 2

    func run() throws {
        Signals.unblockControlSignals()
        let logger = Startup.logger("tasks-api.migrate")
        if check { Foundation.exit(Self.report()) }
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

    /// Prints where the configured database stands and returns `--check`'s exit status.
    static func report() -> Int32 {
        let status: MigrationStatus
        do {
            status = try runBlocking {
                let settings = try Settings(config: try await Startup.loadConfig())
                switch settings.database {
                case .sqlite(let path): return try Database.migrationStatus(path: path)
                case .postgres(let url): return try PostgresDatabase(url: url).migrationStatus()
                }
            }
        } catch {
            FileHandle.standardError.write(Data("cannot check the migrations: \(error)\n".utf8))
            return checkFailureStatus
        }
        let unknown =
            status.unknown.isEmpty
            ? "" : "; also applied, unknown to this version: \(status.unknown.joined(separator: ", "))"
        if status.isUpToDate {
            print("database \(status.path): up to date (\(status.applied.count) migrations applied)\(unknown)")
            return 0
        }
        let state = status.exists ? "" : " (no database yet)"
        print(
            "database \(status.path)\(state): pending migrations (\(status.pending.count)): "
                + "\(status.pending.joined(separator: ", "))\(unknown)")
        return 1
    }
}
