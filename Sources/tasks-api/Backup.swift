// `tasks-api backup DEST [--force]`: a consistent copy of the live SQLite database, taken while workers write.

import ArgumentParser
import FastCGI
import Flagon
import Foundation
import TasksAPI

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the live SQLite database to a file, safely while the pool writes to it.",
        discussion: """
            Uses SQLite's online backup API: the copy holds every transaction committed before it \
            began and nothing half-written, and the pool keeps serving. The copy is created \
            owner-only (0600) under a temporary name in DEST's folder and renamed to DEST when \
            complete. An existing DEST is refused unless --force is given. Exit 0 when written, \
            1 on failure, 2 when DATABASE_URL is PostgreSQL (back it up with pg_dump -Fc).
            """)

    @Argument(help: ArgumentHelp("The file to write the copy to.", valueName: "dest"))
    var destination: String

    @Flag(help: "Replace DEST if it exists.")
    var force = false

    /// The exit status when the configured database is not one this command copies.
    static let otherBackendStatus: Int32 = 2

    func run() throws {
        Signals.unblockControlSignals()
        let path: String
        do {
            let config = try runBlocking { try await Startup.loadConfig() }
            if let url = config.string("DATABASE_URL"), Self.isPostgreSQL(url) {
                Self.refuseOtherBackend()
            }
            let settings = try Settings(config: config)
            guard case .sqlite(let sqlitePath) = settings.database else { Self.refuseOtherBackend() }
            path = sqlitePath
        } catch {
            Self.fail("cannot read the configuration: \(CheckConfig.oneLine(error))")
        }
        do {
            let summary = try Database.backup(from: path, to: destination, replace: force)
            print(
                "backup of \(summary.source) written to \(summary.destination) "
                    + "(\(summary.pages) pages, \(summary.bytes) bytes)")
        } catch {
            Self.fail("backup failed: \(CheckConfig.oneLine(error))")
        }
    }

    static func isPostgreSQL(_ url: String) -> Bool {
        let lowered = url.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// The database URL is not repeated: it holds the database's password.
    static func refuseOtherBackend() -> Never {
        FileHandle.standardError.write(
            Data(
                ("tasks-api backup copies SQLite databases only; DATABASE_URL names PostgreSQL: "
                    + "back it up with pg_dump -Fc and restore with pg_restore (README, Backup and restore)\n").utf8))
        Foundation.exit(otherBackendStatus)
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
        Foundation.exit(1)
    }
}
