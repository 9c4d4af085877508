// A consistent copy of a live SQLite database through SQLite's online backup API, for `tasks-api backup`.

import Foundation
import GRDB

/// What a finished backup wrote.
public struct BackupSummary: Sendable, Equatable {
    /// The database that was copied.
    public let source: String
    /// The file the copy was renamed to.
    public let destination: String
    /// Pages and bytes of the copy.
    public let pages: Int
    public let bytes: Int64
}

/// A backup that could not be made; one line naming the path and the reason. Nothing is left
/// at the destination (an existing file there is untouched).
public struct DatabaseBackupError: Error, CustomStringConvertible {
    public let description: String
    /// The destination exists and replacing it was not asked for.
    public let destinationExists: Bool

    init(_ description: String, destinationExists: Bool = false) {
        self.description = description
        self.destinationExists = destinationExists
    }
}

extension Database {
    /// Copies the SQLite database at `source` to `destination` while other processes keep
    /// writing to it.
    ///
    /// The copy is one read transaction on the source (`sqlite3_backup_step(-1)`): in WAL mode
    /// writers go on beside it, and the copy holds exactly the transactions committed before
    /// it began. It is written to a new owner-only (0600) file in the destination's folder,
    /// turned into a rollback-journal database so that it is one self-contained file, synced,
    /// and only then renamed into place: a crash or a failure never leaves a partial file under
    /// the destination's name.
    /// - Parameter replace: replace an existing destination; without it an existing file is
    ///   refused, also one that appears while the copy is made.
    public static func backup(from source: String, to destination: String, replace: Bool) throws -> BackupSummary {
        var status = stat()
        guard stat(source, &status) == 0 else {
            throw DatabaseBackupError("database \(source): \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw DatabaseBackupError("database \(source): not a regular file")
        }
        if !replace, lstat(destination, &status) == 0 {
            throw DatabaseBackupError("\(destination) exists; pass --force to replace it", destinationExists: true)
        }
        if sameFile(source, destination) {
            throw DatabaseBackupError("\(destination) is the database itself")
        }
        let temporary = try createPrivateTemporary(beside: destination)
        do {
            let pages = try copy(from: source, to: temporary)
            try syncFile(temporary)
            try place(temporary, at: destination, replace: replace)
            try syncFolder(of: destination)
            guard stat(destination, &status) == 0 else {
                throw DatabaseBackupError("\(destination): \(String(cString: strerror(errno)))")
            }
            return BackupSummary(source: source, destination: destination, pages: pages, bytes: Int64(status.st_size))
        } catch {
            for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temporary + suffix) }
            throw error
        }
    }

    /// Runs the backup into the empty file at `temporary`; returns the number of pages copied.
    private static func copy(from source: String, to temporary: String) throws -> Int {
        var sourceConfiguration = Configuration()
        // Read-only: the backup never changes the live database, not even its journal mode.
        sourceConfiguration.readonly = true
        sourceConfiguration.busyMode = .timeout(busyTimeout)
        sourceConfiguration.label = "tasks-api-backup-source"
        var destinationConfiguration = Configuration()
        destinationConfiguration.label = "tasks-api-backup"
        do {
            let reader = try DatabaseQueue(path: source, configuration: sourceConfiguration)
            let writer = try DatabaseQueue(path: temporary, configuration: destinationConfiguration)
            var pages = 0
            try reader.backup(to: writer) { progress in pages = progress.totalPageCount }
            try writer.writeWithoutTransaction { db in
                // The copy keeps the source's WAL flag; a backup file should need no companion.
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
            }
            try writer.close()
            try reader.close()
            return pages
        } catch let error as DatabaseError {
            throw DatabaseBackupError("backup of \(source): \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// A new, empty, owner-only file in the destination's folder (so the final rename stays on
    /// one file system), whatever the umask.
    private static func createPrivateTemporary(beside destination: String) throws -> String {
        var folder = (destination as NSString).deletingLastPathComponent
        if folder.isEmpty { folder = "." }
        let name = (destination as NSString).lastPathComponent
        for _ in 0..<16 {
            let candidate = "\(folder)/.\(name).backup-\(UInt32.random(in: 0...UInt32.max))"
            let fd = open(candidate, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, PrivateFiles.fileMode)
            if fd < 0 {
                if errno == EEXIST { continue }
                throw DatabaseBackupError("cannot create a file in \(folder): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            guard fchmod(fd, PrivateFiles.fileMode) == 0 else {
                unlink(candidate)
                throw DatabaseBackupError("cannot set the mode of \(candidate): \(String(cString: strerror(errno)))")
            }
            return candidate
        }
        throw DatabaseBackupError("cannot create a temporary file in \(folder)")
    }

    /// Moves the finished copy to its name: `rename` when replacing; otherwise `link`, which
    /// fails rather than replace a file that appeared in the meantime.
    private static func place(_ temporary: String, at destination: String, replace: Bool) throws {
        if replace {
            guard rename(temporary, destination) == 0 else {
                throw DatabaseBackupError("cannot write \(destination): \(String(cString: strerror(errno)))")
            }
            return
        }
        guard link(temporary, destination) == 0 else {
            if errno == EEXIST {
                throw DatabaseBackupError("\(destination) exists; pass --force to replace it", destinationExists: true)
            }
            throw DatabaseBackupError("cannot write \(destination): \(String(cString: strerror(errno)))")
        }
        unlink(temporary)
    }

    private static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0, fsync(fd) == 0 else {
            if fd >= 0 { close(fd) }
            throw DatabaseBackupError("cannot sync \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    /// Makes the new directory entry durable, as the rename alone is not.
    private static func syncFolder(of path: String) throws {
        var folder = (path as NSString).deletingLastPathComponent
        if folder.isEmpty { folder = "." }
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DatabaseBackupError("cannot open \(folder): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw DatabaseBackupError("cannot sync \(folder): \(String(cString: strerror(errno)))")
        }
    }

    /// Whether both paths name the same existing file.
    private static func sameFile(_ first: String, _ second: String) -> Bool {
        var a = stat()
        var b = stat()
        guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }
}
