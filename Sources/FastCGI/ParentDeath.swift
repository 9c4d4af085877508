// Ties a worker's life to its master's.

import CFastCGI

#if canImport(Glibc)
    import Glibc
#endif

extension Worker {
    /// Asks the kernel to send SIGTERM when the parent exits; false if the parent is
    /// already gone (not `masterPID`).
    public static func bindLifetime(toMaster masterPID: Int32) -> Bool {
        _ = cfastcgi_set_parent_death_signal()
        return getppid() == masterPID
    }
}
