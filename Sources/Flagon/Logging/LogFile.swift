// The log file (`--log-file`): standard error redirected to it, reopened on SIGUSR1 for logrotate.

import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a process's log lines go when they do not go to the inherited standard error.
///
/// The file becomes descriptor 2 itself, so every line (``LogfmtLogHandler``'s, and
/// anything libfcgi or the runtime prints) lands in it. It is opened for appending, so
/// the master and its workers, each with its own descriptor, add whole lines at its end.
/// After logrotate renames it, ``reopen()`` opens the path again: lines then go to a new
/// file at the old path, and the renamed one receives nothing more.
public enum LogFile {
    /// Why the log file could not be opened; its description is one line.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private static let path = Mutex<String?>(nil)

    /// The file standard error goes to, if ``redirectStandardError(to:)`` was called.
    public static var currentPath: String? { path.withLock { $0 } }

    /// Opens `path` for appending, created with mode 0640 (less under a stricter umask),
    /// and makes it this process's standard error.
    public static func redirectStandardError(to path: String) throws(Failure) {
        try redirect(to: path)
        self.path.withLock { $0 = path }
    }

    /// Opens the log file's path again, after a rotation; true if standard error now goes
    /// to the file at that path. Without a log file it does nothing. On failure the old file
    /// stays in use and a line in it says why.
    @discardableResult
    public static func reopen() -> Bool {
        guard let path = currentPath else { return false }
        do {
            try redirect(to: path)
            return true
        } catch {
            let line = "log file not reopened: \(error)\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            return false
        }
    }

    /// ``reopen()``, then a line in the new file saying so, for the operator who rotated it.
    public static func reopen(logger: Logger) {
        if reopen() { logger.info("log file reopened", metadata: ["log_file": "\(currentPath ?? "")"]) }
    }

    private static func redirect(to path: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0o640)
        guard fd >= 0 else {
            throw Failure(description: "cannot open log file \(path): \(String(cString: strerror(errno)))")
        }
        // A process started with descriptor 2 closed got the file there: it only needs to
        // be inherited by the workers.
        if fd == 2 {
            _ = fcntl(2, F_SETFD, 0)
            LogfmtLogHandler.detectJournal()
            return
        }
        defer { close(fd) }
        // dup2 replaces descriptor 2 in one step: no line is ever written to a closed stderr.
        guard dup2(fd, 2) >= 0 else {
            throw Failure(description: "cannot redirect standard error to \(path): \(String(cString: strerror(errno)))")
        }
        LogfmtLogHandler.detectJournal()
    }
}
