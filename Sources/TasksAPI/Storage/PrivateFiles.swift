// Owner-only folders and files for everything the service keeps on disk, whatever the umask.

import Foundation
import Logging

/// Creates the instance folder, the database and the generated secret with owner-only modes
/// (0700 folders, 0600 files), and tightens ones that already exist with wider modes.
///
/// The modes are set explicitly with `fchmod`/`chmod` after creation, so the process umask
/// (commonly 022, which would leave the password hashes world-readable) does not decide them.
/// SQLite creates a database's `-wal` and `-shm` files with the main file's mode, so a 0600
/// database gets 0600 companions; existing companions are tightened too.
enum PrivateFiles {
    static let folderMode: mode_t = 0o700
    static let fileMode: mode_t = 0o600

    /// Creates `path` and any missing parents 0700; an existing `path` is tightened to 0700 if
    /// its group or others have any access (logged). Existing parents are left as they are.
    static func folder(_ path: String, logger: Logger?) throws {
        try createMissingFolders(path)
        var status = stat()
        guard stat(path, &status) == 0 else { throw PrivateFileError("cannot read the mode of \(path)") }
        tighten(path, mode: status.st_mode, to: folderMode, logger: logger)
    }

    /// Creates the folders leading to `path` that do not exist yet, each 0700.
    static func createMissingFolders(_ path: String) throws {
        var missing: [String] = []
        var current = path
        while !current.isEmpty, current != "/", !FileManager.default.fileExists(atPath: current) {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for folder in missing.reversed() {
            if mkdir(folder, folderMode) != 0, errno != EEXIST {
                throw PrivateFileError("cannot create the folder \(folder): \(String(cString: strerror(errno)))")
            }
            // A concurrent start may have created it first: it is 0700 either way.
            _ = chmod(folder, folderMode)
        }
    }

    /// Makes sure the database file exists with mode 0600 before SQLite opens it, and tightens
    /// its existing `-wal` and `-shm` files.
    ///
    /// An existing file is never opened here: closing any descriptor of a file drops every
    /// POSIX lock this process holds on it, SQLite's included, and a connection already open
    /// in this process (the application's, when the rate-limit store opens its own) would then
    /// look unused to other processes, the last of which to close deletes the WAL under it.
    static func database(_ path: String, logger: Logger?) throws {
        try createMissingFolders((path as NSString).deletingLastPathComponent)
        var status = stat()
        if stat(path, &status) != 0 {
            // A file this call creates is open in no connection of this process.
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
            if fd >= 0 {
                _ = fchmod(fd, fileMode)
                close(fd)
            } else if errno != EEXIST {
                throw PrivateFileError("cannot open the database \(path): \(String(cString: strerror(errno)))")
            }
        }
        guard stat(path, &status) == 0 else {
            throw PrivateFileError("cannot open the database \(path): \(String(cString: strerror(errno)))")
        }
        if status.st_size == 0 && status.st_mode & 0o777 != fileMode {
            // Just created (or still empty): the umask may have changed the mode asked for.
            _ = chmod(path, fileMode)
        } else {
            tighten(path, mode: status.st_mode, to: fileMode, logger: logger)
        }
        for suffix in ["-wal", "-shm"] where stat(path + suffix, &status) == 0 {
            tighten(path + suffix, mode: status.st_mode, to: fileMode, logger: logger)
        }
    }

    /// Removes group and other access from an existing path, logging that it did.
    private static func tighten(_ path: String, mode: mode_t, to wanted: mode_t, logger: Logger?) {
        guard mode & 0o077 != 0 else { return }
        let before = String(mode & 0o777, radix: 8)
        if chmod(path, wanted) == 0 {
            logger?.warning(
                "tightened the mode of a file of the service",
                metadata: ["path": "\(path)", "was": "\(before)", "now": "\(String(wanted, radix: 8))"])
        } else {
            logger?.warning(
                "cannot tighten the mode of a file of the service; others can read it",
                metadata: ["path": "\(path)", "mode": "\(before)", "error": "\(String(cString: strerror(errno)))"])
        }
    }
}

/// A file of the service could not be created or opened; one line, naming the path.
struct PrivateFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
