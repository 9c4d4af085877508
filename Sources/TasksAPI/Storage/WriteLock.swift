// The lock that serialises the service's SQLite writers across worker processes, waited on in the kernel.

import Foundation

/// An exclusive lock on a file beside the database (`<database>.write-lock`, 0600) that
/// ``Database/write(_:)`` holds from `BEGIN IMMEDIATE` to the end of its transaction.
///
/// Workers are processes, and SQLite's write lock cannot be waited on: a writer that finds it
/// taken gets `SQLITE_BUSY` and can only sleep and try again. Two workers writing at once then
/// spend their time in the busy handler's sleeps, each sleep longer than the other's
/// transaction. This lock is taken first, with `F_OFD_SETLKW`: a writer that finds it taken
/// sleeps in the kernel and is woken as soon as the holder lets go, so SQLite's own lock is
/// then almost always free.
///
/// - It is an open-file-description lock: each ``Database`` holds its own, and connections
///   of one process exclude each other as those of different processes do. The kernel lets
///   go of it when its holder dies, so a worker killed in a transaction leaves nothing held.
/// - The wait lasts as long as the holder's transaction, with no timeout: a holder stopped
///   or stuck in the disk keeps this lock, as it keeps SQLite's, until it goes on or dies.
///   With SQLite's lock alone the others would fail after the 10 s busy timeout; here they
///   wait, and the master's request timeout (`REQUEST_TIMEOUT`, 30 s by default) ends them.
/// - Anything that writes without it (the `sqlite3` shell, the SQLite rate-limit store) is
///   still excluded by SQLite's lock, and waited for by the busy handler.
/// - Without the file (a read-only folder), writers rely on the busy handler alone.
/// - It is held until `COMMIT` returns, through the checkpoint that a commit runs every
///   1,000 WAL pages. Letting go of it before (in a WAL hook) let the other workers write
///   during the checkpoint, which then could not finish: every later commit tried again,
///   and POST fell from 0.60 to 0.51 × the C responder (`bench/run`).
final class WriteLock: Sendable {
    private let fd: Int32

    /// Linux's open-file-description lock commands, which Glibc's Swift module leaves out.
    private static let setLock: Int32 = 37  // F_OFD_SETLK
    private static let setLockWaiting: Int32 = 38  // F_OFD_SETLKW

    /// Opens (creating it 0600) the lock file of the database at `databasePath`; nil when it
    /// cannot be opened.
    init?(databasePath: String) {
        let fd = open(databasePath + ".write-lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, PrivateFiles.fileMode)
        guard fd >= 0 else { return nil }
        _ = fchmod(fd, PrivateFiles.fileMode)
        self.fd = fd
    }

    deinit { close(fd) }

    /// Takes the lock, waiting for another holder to let it go. If it cannot be taken (an
    /// error other than a wait), the write goes on under SQLite's lock alone.
    func lock() {
        var wanted = Self.region(F_WRLCK)
        guard fcntl(fd, Self.setLock, &wanted) != 0, errno == EAGAIN || errno == EACCES else { return }
        while fcntl(fd, Self.setLockWaiting, &wanted) != 0 && errno == EINTR {}
    }

    /// Takes the lock if no other description holds it, without waiting.
    func tryLock() -> Bool {
        var wanted = Self.region(F_WRLCK)
        return fcntl(fd, Self.setLock, &wanted) == 0
    }

    /// Lets go of the lock; nothing happens if this description does not hold it.
    func unlock() {
        var region = Self.region(F_UNLCK)
        _ = fcntl(fd, Self.setLock, &region)
    }

    /// The lock's one byte; `l_pid` must be 0 for an open-file-description lock.
    private static func region(_ type: Int32) -> flock {
        flock(l_type: Int16(type), l_whence: Int16(SEEK_SET), l_start: 0, l_len: 1, l_pid: 0)
    }
}
