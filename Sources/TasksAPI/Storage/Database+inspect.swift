// Reading a database's migration state without writing anything: for `migrate --check` and `check-config`.

import Foundation
import GRDB

/// Where a database file stands against the migrations this version knows.
public struct MigrationStatus: Sendable, Equatable {
    /// The database file's path.
    public let path: String
    /// Whether the file exists (a missing one is created, with every migration, by `migrate`).
    public let exists: Bool
    /// The migrations it has applied that this version knows, oldest first.
    public let applied: [String]
    /// The migrations this version would apply, in order.
    public let pending: [String]
    /// Applied migrations this version does not know: the database was migrated by a newer one.
    public let unknown: [String]

    public var isUpToDate: Bool { pending.isEmpty }
}

/// A database that cannot be inspected; one line naming the path and the reason.
public struct DatabaseInspectionError: Error, CustomStringConvertible {
    public let description: String
}

extension Database {
    /// The identifiers of every migration of this version, in order.
    public static var knownMigrations: [String] { Migrations.migrator.migrations }

    /// Reads which migrations the database at `path` has applied, creating and changing nothing.
    ///
    /// A read-only SQLite connection to a WAL database still creates its `-wal` and `-shm`
    /// files when they are missing, and leaves them behind. When they are missing, every
    /// commit is in the main file, so it is opened `immutable` (no locks, no companions);
    /// when they exist, another process has it open and it is opened read-only with them.
    /// - Parameter writable: also require that this process could write the file, or create
    ///   it where it is missing, as `serve` and `migrate` will.
    /// - Throws: ``DatabaseInspectionError`` when the file is not a readable SQLite database,
    ///   or (with `writable`) when it, or the folder it would be created in, is not writable.
    public static func migrationStatus(path: String, writable: Bool = false) throws -> MigrationStatus {
        var status = stat()
        guard stat(path, &status) == 0 else {
            guard errno == ENOENT else { throw DatabaseInspectionError(path, errno: errno) }
            if writable { try requireCreatable(path) }
            return MigrationStatus(path: path, exists: false, applied: [], pending: knownMigrations, unknown: [])
        }
        try requireFile(path, mode: writable ? R_OK | W_OK : R_OK)
        let identifiers: [String]
        do {
            let queue = try DatabaseQueue(path: readOnlyURI(path), configuration: readOnlyConfiguration)
            identifiers = try queue.read { db in
                guard try db.tableExists("grdb_migrations") else { return [] }
                return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
            }
            try queue.close()
        } catch let error as DatabaseError {
            throw DatabaseInspectionError(description: "database \(path): \(error.message ?? "\(error.resultCode)")")
        }
        let known = knownMigrations
        let applied = Set(identifiers)
        return MigrationStatus(
            path: path, exists: true, applied: known.filter(applied.contains),
            pending: known.filter { !applied.contains($0) },
            unknown: identifiers.filter { !known.contains($0) }.sorted())
    }

    private static var readOnlyConfiguration: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "tasks-api-inspect"
        return configuration
    }

    /// The SQLite URI that opens `path` read-only, `immutable` when it has no WAL companions.
    static func readOnlyURI(_ path: String) -> String {
        let companions = ["-wal", "-shm"].contains { access(path + $0, F_OK) == 0 }
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        let escaped = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        return "file:\(escaped)?mode=ro" + (companions ? "" : "&immutable=1")
    }

    /// Fails unless this process could open the SQLite file at `path` for writing, or create
    /// it where it is missing, without doing either.
    static func requireWritable(_ path: String) throws {
        if access(path, F_OK) == 0 { try requireFile(path, mode: R_OK | W_OK) } else { try requireCreatable(path) }
    }

    private static func requireFile(_ path: String, mode: Int32) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { throw DatabaseInspectionError(path, errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw DatabaseInspectionError(description: "database \(path): not a regular file")
        }
        guard access(path, mode) == 0 else { throw DatabaseInspectionError(path, errno: errno) }
    }

    /// Fails unless the missing file at `path` could be created: its nearest existing folder
    /// must be one this process can write in.
    private static func requireCreatable(_ path: String) throws {
        var folder = (path as NSString).deletingLastPathComponent
        if folder.isEmpty { folder = "." }
        while access(folder, F_OK) != 0, errno == ENOENT, folder != "/", folder != "." {
            folder = (folder as NSString).deletingLastPathComponent
            if folder.isEmpty { folder = "." }
        }
        var status = stat()
        guard stat(folder, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw DatabaseInspectionError(description: "database \(path): \(folder) is not a folder")
        }
        guard access(folder, W_OK | X_OK) == 0 else {
            throw DatabaseInspectionError(description: "database \(path): cannot create it in \(folder) (not writable)")
        }
    }
}

extension DatabaseInspectionError {
    init(_ path: String, errno code: Int32) {
        description = "database \(path): \(String(cString: strerror(code)))"
    }
}
