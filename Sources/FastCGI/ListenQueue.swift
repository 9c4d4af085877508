// The pool socket's accept queue, as the kernel counts it.

import CHostRegion

/// Connections accepted by the kernel that no worker has taken yet, and the most it holds.
public struct ListenQueue: Sendable, Equatable {
    public var queued: Int
    public var limit: Int

    public init(queued: Int, limit: Int) {
        self.queued = queued
        self.limit = limit
    }

    /// The queue of listening socket `fd`; nil where the kernel does not tell (no
    /// `sock_diag` for unix sockets, or AF_NETLINK refused by a sandbox).
    public static func of(_ fd: Int32) -> ListenQueue? {
        var queued: UInt32 = 0
        var limit: UInt32 = 0
        guard chr_listen_queue(fd, &queued, &limit) == 0 else { return nil }
        return ListenQueue(queued: Int(queued), limit: Int(limit))
    }
}
