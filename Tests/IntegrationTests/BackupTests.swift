// `tasks-api backup`: a copy of the live database taken while the pool writes, restored by replacing the file.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Backup and restore", .serialized)
struct BackupTests {
    /// `sqlite3 path sql`'s output lines.
    static func sqlite(_ path: String, _ sql: String) throws -> [String] {
        let sqlite = try #require(Processes.which("sqlite3"), "sqlite3 is needed: scripts/install-deps test")
        let result = try Processes.run(sqlite, [path, sql])
        #expect(result.status == 0, "\(sql): \(result.output)")
        return result.output.split(separator: "\n").map(String.init)
    }

    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o777 : nil
    }

    static func inode(_ path: String) -> ino_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_ino : nil
    }

    @Test(
        "a backup under concurrent POSTs through the pool: intact, 0600, every write acknowledged before it; restorable"
    )
    func backupUnderWrites() throws {
        let pool = LiveService.Pool.master(workers: 4, arguments: [])
        let service = try LiveService.start(pool, environment: AccountsTests.environment)
        defer { service.stop() }
        let token = try TasksTests.token(service, "keeper")
        let writes = MultiHostTests.Writes(service.client, token: token, clients: 3, prefix: "kept")
        defer { writes.stop() }
        #expect(writes.waitForAcknowledged(60))

        let destination = service.directory.appendingPathComponent("backups/app-copy.sqlite").path
        try FileManager.default.createDirectory(
            atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let acknowledgedBefore = Set(writes.acknowledged)
        let backup = try CommandLineTests.run(["backup", destination], environment: service.environment)
        // The writes go on after the copy.
        #expect(writes.waitForAcknowledged(acknowledgedBefore.count + 60))
        writes.stop()
        #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
        #expect(backup.stdout.contains("written to \(destination)"), "\(backup.stdout)")

        // Every POST was answered while the copy was made: the pool never waited on it.
        #expect(writes.attempts.all.allSatisfy { $0.status == 201 }, "\(Set(writes.attempts.all.map(\.status)))")

        #expect(Self.mode(destination) == 0o600)
        // One self-contained file: no companion, no temporary left.
        let folder = (destination as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["app-copy.sqlite"])
        #expect(try Self.sqlite(destination, "PRAGMA integrity_check") == ["ok"])
        #expect(try Self.sqlite(destination, "PRAGMA journal_mode") == ["delete"])
        let copied = Set(try Self.sqlite(destination, "SELECT title FROM tasks"))
        #expect(acknowledgedBefore.isSubset(of: copied), "missing: \(acknowledgedBefore.subtracting(copied).sorted())")
        #expect(copied.isSubset(of: Set(writes.attempts.all.map(\.title))))

        // Restore: stop, replace the file, start. The service serves exactly the copy.
        service.stopPool()
        let database = service.directory.appendingPathComponent("instance/app.sqlite").path
        for suffix in ["-wal", "-shm"] { unlink(database + suffix) }
        #expect(rename(destination, database) == 0)
        try service.startPool(pool)
        #expect(Processes.waitUntil(seconds: 20) { (try? service.client.get("/healthz"))?.status == 200 })
        let restored = try TasksTests.list(service, token: token).compactMap { $0["title"] as? String }
        #expect(Set(restored) == copied)
        #expect(restored.count == copied.count)
    }

    @Test("backup refuses an existing file unless --force, replaces it with it, and fails cleanly without a database")
    func refusalsAndForce() throws {
        let folder = try CommandLineTests.Folder()
        let environment = CommandLineTests.environment(folder)
        let destination = folder.path + "/copy.sqlite"

        let missing = try CommandLineTests.run(["backup", destination], environment: environment)
        #expect(missing.status == 1)
        #expect(
            missing.stderr.contains("backup failed: database \(folder.path)/instance/app.sqlite"), "\(missing.stderr)")
        #expect(access(destination, F_OK) != 0)

        #expect(try CommandLineTests.run(["migrate"], environment: environment).status == 0)
        let first = try CommandLineTests.run(["backup", destination], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let firstInode = try #require(Self.inode(destination))

        let again = try CommandLineTests.run(["backup", destination], environment: environment)
        #expect(again.status == 1)
        #expect(again.stderr.contains("\(destination) exists; pass --force to replace it"), "\(again.stderr)")
        #expect(Self.inode(destination) == firstInode)

        let forced = try CommandLineTests.run(["backup", "--force", destination], environment: environment)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(Self.inode(destination) != firstInode)
        #expect(Self.mode(destination) == 0o600)
        #expect(try Self.sqlite(destination, "PRAGMA integrity_check") == ["ok"])
        #expect(folder.listing().filter { $0.contains(".backup-") }.isEmpty, "\(folder.listing())")

        let itself = try CommandLineTests.run(
            ["backup", "--force", folder.path + "/instance/app.sqlite"], environment: environment)
        #expect(itself.status == 1)
        #expect(itself.stderr.contains("is the database itself"), "\(itself.stderr)")
    }

    @Test("with a PostgreSQL DATABASE_URL, backup points to pg_dump and exits 2 without echoing the URL")
    func postgreSQLIsRefused() throws {
        let folder = try CommandLineTests.Folder()
        for scheme in ["postgres", "postgresql"] {
            let environment = CommandLineTests.environment(
                folder, ["DATABASE_URL": "\(scheme)://tasks:hunter2secret@db.internal:5432/tasks"])
            let run = try CommandLineTests.run(["backup", folder.path + "/copy"], environment: environment)
            #expect(run.status == 2)
            #expect(run.stderr.contains("pg_dump -Fc"), "\(run.stderr)")
            #expect(!run.stderr.contains("hunter2secret"))
            #expect(access(folder.path + "/copy", F_OK) != 0)
        }
    }
}
