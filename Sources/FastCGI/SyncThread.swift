// A worker's write syncs, run on a thread of their own while the worker goes on serving.

import CHostRegion
import Flagon
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the syncs that a worker's held answers wait for (``WriteSync``) on a thread of its
/// own, so that the worker serves the next requests while the disk works.
///
/// The worker hands over the sync of a round of writes with a generation number
/// (``submit(_:generation:)``); the thread runs the latest sync handed over, and reports each
/// one it finished through ``finishedDescriptor``, which the worker polls beside its
/// connections. A sync covers every commit written before it began, so a sync handed over
/// while another runs waits and then covers all the rounds handed over meanwhile: the longer
/// a sync takes, the more writes the next one makes durable.
///
/// The thread allocates and frees nothing unless a sync fails: the worker holds every sync
/// it handed over until it has taken its report, and the report list's room is made on the
/// worker's thread. glibc thus never gives the thread a malloc arena of its own, memory
/// every worker would carry.
final class SyncThread: @unchecked Sendable {
    /// A sync that finished: the generation it covers (and every one before), and its error.
    struct Finished {
        let generation: UInt64
        let error: (any Error)?
    }

    private struct State {
        /// The latest sync handed over, and its generation.
        var requested: UInt64 = 0
        var sync: WriteSync.Sync?
        /// The generation of the sync running or last run.
        var started: UInt64 = 0
        var finished: [Finished] = []
    }

    private let state = Mutex(State())
    /// The syncs handed over and not yet reported, held by the worker's thread (only it
    /// touches this list) so that the sync thread never releases the last reference.
    private var handedOver: [(generation: UInt64, sync: WriteSync.Sync)] = []
    /// The thread waits on `requests`; the worker polls `finished`.
    private let requests: (read: Int32, write: Int32)
    private let finishedPipe: (read: Int32, write: Int32)

    /// Syncs handed over and not finished at most; room for their reports is made up front.
    static let capacity = 64

    private init(requests: (Int32, Int32), finished: (Int32, Int32)) {
        self.requests = requests
        finishedPipe = finished
        state.withLock { $0.finished.reserveCapacity(Self.capacity) }
        handedOver.reserveCapacity(Self.capacity)
    }

    /// The descriptor that is readable when a sync has finished (``takeFinished()``).
    var finishedDescriptor: Int32 { finishedPipe.read }

    /// Starts the thread; nil when it cannot (no pipe or thread left), in which case the
    /// worker runs its syncs itself.
    static func start() -> SyncThread? {
        var requestFDs: [Int32] = [0, 0]
        var finishedFDs: [Int32] = [0, 0]
        guard chr_pipe_cloexec(&requestFDs) == 0 else { return nil }
        guard chr_pipe_cloexec(&finishedFDs) == 0 else {
            requestFDs.forEach { close($0) }
            return nil
        }
        _ = fcntl(finishedFDs[0], F_SETFL, fcntl(finishedFDs[0], F_GETFL) | O_NONBLOCK)
        let thread = SyncThread(requests: (requestFDs[0], requestFDs[1]), finished: (finishedFDs[0], finishedFDs[1]))
        guard startDetachedThread({ thread.run() }) else {
            (requestFDs + finishedFDs).forEach { close($0) }
            return nil
        }
        return thread
    }

    /// Hands over `sync`, which covers every write up to `generation` (higher than any
    /// handed over before). It replaces a sync handed over earlier that has not started.
    func submit(_ sync: @escaping WriteSync.Sync, generation: UInt64) {
        handedOver.append((generation, sync))
        state.withLock { state in
            state.requested = generation
            state.sync = sync
        }
        var byte: UInt8 = 1
        _ = write(requests.write, &byte, 1)
    }

    /// The syncs finished since the last call, oldest first.
    func takeFinished() -> [Finished] {
        Signals.drainWakePipe(finishedPipe.read)
        let finished = state.withLock { state -> [Finished] in
            guard !state.finished.isEmpty else { return [] }
            if state.finished.last?.generation == state.requested { state.sync = nil }
            defer { state.finished.removeAll(keepingCapacity: true) }
            return state.finished
        }
        if let last = finished.last?.generation { handedOver.removeAll { $0.generation <= last } }
        return finished
    }

    /// Waits until a sync finishes (the worker has too many answers held to go on).
    func waitForFinished() {
        var watched = pollfd(fd: finishedPipe.read, events: Int16(POLLIN), revents: 0)
        while poll(&watched, 1, -1) < 0 && errno == EINTR {}
    }

    /// The thread: waits for a sync to be handed over, runs the latest, reports it.
    private func run() {
        var byte: UInt8 = 0
        while true {
            let got = read(requests.read, &byte, 1)
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { return }
            while true {
                let generation: UInt64
                var failure: (any Error)?
                do {
                    // The sync's reference ends with this scope, before the report.
                    guard let (latest, sync) = next() else { break }
                    generation = latest
                    do { try sync() } catch { failure = error }
                }
                state.withLock { $0.finished.append(Finished(generation: generation, error: failure)) }
                var done: UInt8 = 1
                _ = write(finishedPipe.write, &done, 1)
            }
        }
    }

    /// The latest sync handed over and not yet run.
    private func next() -> (UInt64, WriteSync.Sync)? {
        state.withLock { state in
            guard state.requested > state.started, let sync = state.sync else { return nil }
            state.started = state.requested
            return (state.requested, sync)
        }
    }
}
