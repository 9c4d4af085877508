// Answers to writes held until one sync makes a batch of them durable: group commit in a worker.

import Synchronization

/// The sync a write needs before it may be answered, run at once or once for a batch.
///
/// A store whose commit is not durable until a sync (SQLite's WAL after a `NORMAL` commit)
/// hands that sync to the task's ``batch`` when there is one, and otherwise runs it at once.
/// The FastCGI worker serves its requests inside a batch: it serves the requests that are
/// ready on its connections in turn, keeps the answers of those that wrote
/// (``Batch/takeRequest()``), and after the round runs the last sync kept, once, for all of
/// them (``Batch/flush()``, or on its sync thread, ``Batch/takePending()``), before writing
/// any of those answers. One sync covers every commit written before it to the same file, so
/// a round of N writes costs one fsync instead of N, and no answer leaves before its write is
/// durable.
public enum WriteSync {
    /// A sync to run; it throws when the data may not be durable.
    public typealias Sync = @Sendable () throws -> Void

    /// The batch the current task's writes join; nil: each write syncs at once.
    @TaskLocal public static var batch: Batch?

    /// The syncs kept for one round of answers.
    public final class Batch: Sendable {
        private let pending = Mutex<Sync?>(nil)
        /// Set by ``keep(_:)``; asked after every request, so an atomic rather than the lock.
        private let requested = Atomic<Bool>(false)

        public init() {}

        /// Keeps `sync` for ``flush()``. It replaces the one kept before: it covers the same
        /// commits and more.
        public func keep(_ sync: @escaping Sync) {
            pending.withLock { $0 = sync }
            requested.store(true, ordering: .releasing)
        }

        /// Whether a sync was kept since the last call: the request just served wrote, and its
        /// answer must wait for ``flush()``.
        public func takeRequest() -> Bool {
            requested.exchange(false, ordering: .acquiringAndReleasing)
        }

        /// The sync kept since the last call, if any, to run elsewhere (a worker's sync thread).
        public func takePending() -> Sync? {
            pending.withLock { pending in
                defer { pending = nil }
                return pending
            }
        }

        /// Runs the sync kept, if any, once.
        /// - Throws: the sync's error: the writes it covers are committed but may not be durable.
        public func flush() throws {
            try takePending()?()
        }
    }
}
