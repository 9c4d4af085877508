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
///
/// A store may also keep one write transaction open for the round (``openedRound(end:)``, ``join(round:)``):
/// the round's writes then share one commit as well as one sync. The worker ends it
/// (``endRound()``) before it hands the sync over; a store ends it earlier when a read or
/// another write of the same connection cannot wait. A round that fails to commit is reported
/// (``roundFailed(_:error:)``), and the answers of the requests that joined it get a 500.
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
        /// Ends the open round: kept by the store that opened it.
        private let roundEnd = Mutex<(@Sendable () -> Void)?>(nil)
        /// The round the request just served joined; 0: none.
        private let joined = Atomic<UInt64>(0)
        /// Rounds whose writes did not commit, with why.
        private let failed = Mutex<[(round: UInt64, error: any Error)]>([])
        /// Set while ``failed`` is not empty; asked after every request.
        private let anyFailed = Atomic<Bool>(false)

        public init() {}

        /// Keeps `sync` for ``flush()``. It replaces the one kept before: it covers the same
        /// commits and more.
        /// - Parameter holdsRequest: Whether the request being served wrote, so its answer waits
        ///   for the sync; false for the commit of a round, whose requests joined it before.
        public func keep(_ sync: @escaping Sync, holdsRequest: Bool = true) {
            pending.withLock { $0 = sync }
            if holdsRequest { requested.store(true, ordering: .releasing) }
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

        /// Runs the sync kept, if any, once, after ending the open round.
        /// - Throws: the sync's error: the writes it covers are committed but may not be durable.
        public func flush() throws {
            endRound()
            try takePending()?()
        }

        /// A store opened a transaction for the round, which `end` commits (``endRound()``).
        /// Kept when it opens, before any write joins it: a round whose first write fails is
        /// still ended.
        public func openedRound(end: @escaping @Sendable () -> Void) {
            roundEnd.withLock { $0 = end }
        }

        /// The request being served wrote in the open transaction numbered `round` (from 1):
        /// its answer waits for the round's commit and the sync after it.
        public func join(round: UInt64) {
            joined.store(round, ordering: .releasing)
            requested.store(true, ordering: .releasing)
        }

        /// The round the request just served joined, if any (0: none), for its held answer.
        public func takeJoinedRound() -> UInt64 {
            joined.exchange(0, ordering: .acquiringAndReleasing)
        }

        /// Commits the open round, if any: its store keeps the sync it leaves (``keep(_:)``),
        /// or reports its failure (``roundFailed(_:error:)``).
        public func endRound() {
            roundEnd.withLock { end in
                defer { end = nil }
                return end
            }?()
        }

        /// Round `round` did not commit: none of its writes is stored.
        public func roundFailed(_ round: UInt64, error: any Error) {
            failed.withLock { $0.append((round, error)) }
            anyFailed.store(true, ordering: .releasing)
        }

        /// The rounds that failed since the last call, oldest first.
        public func takeFailedRounds() -> [(round: UInt64, error: any Error)] {
            guard anyFailed.exchange(false, ordering: .acquiringAndReleasing) else { return [] }
            return failed.withLock { failed in
                defer { failed.removeAll() }
                return failed
            }
        }
    }
}
