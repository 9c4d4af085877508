// Counts the fsyncs SQLite's unix VFS makes on each WAL file of the test process.

import GRDBSQLite
import Glibc
import Synchronization

/// A pass-through VFS, registered as the process's default, that counts `xSync` calls on
/// WAL files by path. Every other file and call goes straight to the unix VFS, so tests
/// that do not ask are unaffected.
///
/// It swaps the WAL file's method table for a copy whose `xSync` and `xClose` also count
/// and forget; SQLite keeps calling the unix VFS's own functions through it.
enum WALSyncCounter {
    /// Installs the VFS once; later calls do nothing.
    static func install() { _ = installed }

    /// The syncs made so far on `walPath` (the database's path followed by `-wal`).
    static func syncs(of walPath: String) -> Int { counts.withLock { $0[walPath] ?? 0 } }

    private static let counts = Mutex<[String: Int]>([:])
    /// Open WAL files, by their `sqlite3_file` address.
    private static let paths = Mutex<[UInt: String]>([:])
    // Written once, by `installed`, before SQLite can call through them.
    nonisolated(unsafe) private static var base: UnsafeMutablePointer<sqlite3_vfs>!
    nonisolated(unsafe) private static var unixMethods: UnsafePointer<sqlite3_io_methods>?
    nonisolated(unsafe) private static var counting: UnsafeMutablePointer<sqlite3_io_methods>!

    private static let installed: Void = {
        base = sqlite3_vfs_find(nil)
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: base.pointee)
        vfs.pointee.pNext = nil
        vfs.pointee.zName = UnsafePointer(strdup("wal-sync-counter"))
        vfs.pointee.xOpen = { _, name, file, flags, outFlags in
            let opened = WALSyncCounter.base.pointee.xOpen(WALSyncCounter.base, name, file, flags, outFlags)
            guard opened == SQLITE_OK, flags & SQLITE_OPEN_WAL != 0, let file, let name,
                let methods = file.pointee.pMethods
            else { return opened }
            WALSyncCounter.adopt(methods)
            guard methods == WALSyncCounter.unixMethods else { return opened }
            WALSyncCounter.paths.withLock { $0[UInt(bitPattern: file)] = String(cString: name) }
            file.pointee.pMethods = UnsafePointer(WALSyncCounter.counting)
            return opened
        }
        precondition(sqlite3_vfs_register(vfs, 1) == SQLITE_OK)
    }()

    /// Makes the counting table from the first WAL file's methods.
    private static func adopt(_ methods: UnsafePointer<sqlite3_io_methods>) {
        paths.withLock { _ in
            guard unixMethods == nil else { return }
            unixMethods = methods
            counting = .allocate(capacity: 1)
            counting.initialize(to: methods.pointee)
            counting.pointee.xSync = { file, flags in
                let path = WALSyncCounter.paths.withLock { $0[UInt(bitPattern: file)] }
                if let path { WALSyncCounter.counts.withLock { $0[path, default: 0] += 1 } }
                return WALSyncCounter.unixMethods!.pointee.xSync(file, flags)
            }
            counting.pointee.xClose = { file in
                _ = WALSyncCounter.paths.withLock { $0.removeValue(forKey: UInt(bitPattern: file)) }
                return WALSyncCounter.unixMethods!.pointee.xClose(file)
            }
        }
    }
}
