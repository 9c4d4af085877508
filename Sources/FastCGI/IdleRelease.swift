// A busy worker gives back its idle kept connections once its request has run for a while.

import CHostRegion
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps nginx from sending requests on the idle connections of a worker busy with a slow
/// request, without closing kept connections on every request.
///
/// The worker's loop calls ``begin(_:)`` as it takes up a request, with the connections it
/// holds idle, and ``end()`` once the request is answered. A thread of its own looks every
/// `after` seconds. A request it finds in hand at two looks in a row has run at least that
/// long: the thread then writes the release record (``Records/release(requestID:)``) on each
/// of those idle connections, nginx closes them, and what nginx sends next goes to other
/// workers or to a new connection that an idle worker accepts. A request that nginx wrote on
/// one of them before that waits for the slow one, as it would behind any busy worker.
///
/// The thread touches a connection only between ``begin(_:)`` and ``end()``, while the
/// worker's loop leaves it alone and cannot close it. After a second without requests the
/// thread sleeps on a pipe that the next ``begin(_:)`` writes to, so an idle worker does
/// not wake every `after` seconds.
final class IdleRelease: @unchecked Sendable {
    /// A kept connection the worker is not serving, and the request id its records carry.
    struct Idle {
        let fd: Int32
        let requestID: UInt16
    }

    private struct State {
        var idle: [Idle] = []
        var released: [Int32] = []
        /// Counts ``begin(_:)`` calls: the thread tells one request from the next by it.
        var requests: UInt64 = 0
        var busy = false
    }

    private let state = Mutex(State())
    private let parked = Atomic<Bool>(false)
    private var wake: (read: Int32, write: Int32) = (-1, -1)
    /// Seconds a request runs before the idle connections are released.
    let after: Double

    /// The thread's looks without a request before it sleeps until the next one.
    private var looksBeforeParking: Int { max(1, Int(1 / after)) }

    private init(after: Double, capacity: Int) {
        self.after = after
        // Room for every connection the worker may hold, made here on the worker's thread:
        // the release thread's appends never allocate.
        state.withLock { state in
            state.idle.reserveCapacity(capacity)
            state.released.reserveCapacity(capacity)
        }
    }

    /// Starts the thread; nil when it cannot (no pipe or thread left), in which case the
    /// worker releases its idle connections as each request begins.
    static func start(after: Double, connections: Int) -> IdleRelease? {
        let release = IdleRelease(after: after, capacity: connections)
        var fds: [Int32] = [0, 0]
        guard chr_pipe_cloexec(&fds) == 0 else { return nil }
        release.wake = (fds[0], fds[1])
        guard startDetachedThread({ release.watch() }) else {
            close(fds[0])
            close(fds[1])
            return nil
        }
        return release
    }

    /// A request begins; `fill` appends the connections the worker holds idle.
    func begin(_ fill: (inout [Idle]) -> Void) {
        state.withLock { state in
            state.idle.removeAll(keepingCapacity: true)
            fill(&state.idle)
            state.requests &+= 1
            state.busy = true
        }
        if parked.load(ordering: .sequentiallyConsistent) && parked.exchange(false, ordering: .sequentiallyConsistent) {
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
        }
    }

    /// The request is answered: the connections released while it ran (usually none).
    func end() -> [Int32] {
        state.withLock { state in
            state.busy = false
            state.idle.removeAll(keepingCapacity: true)
            guard !state.released.isEmpty else { return [] }
            // The returned array keeps the buffer; emptying keeps the capacity with a new
            // one, allocated here on the worker's thread.
            defer { state.released.removeAll(keepingCapacity: true) }
            return state.released
        }
    }

    /// What one look found.
    private enum Look {
        case busy(UInt64)
        case idle(UInt64)
    }

    /// The thread: looks every `after` seconds, releases the idle connections of a request
    /// it sees twice, sleeps on the pipe after a second without requests.
    private func watch() {
        let nanoseconds = Int(after * 1e9)
        var pause = timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        var seen: UInt64 = 0
        var quietLooks = 0
        while true {
            _ = nanosleep(&pause, nil)
            let look = state.withLock { state -> Look in
                guard state.busy else { return .idle(state.requests) }
                if state.requests == seen && !state.idle.isEmpty {
                    for connection in state.idle {
                        Self.writeRelease(on: connection)
                        state.released.append(connection.fd)
                    }
                    state.idle.removeAll(keepingCapacity: true)
                }
                return .busy(state.requests)
            }
            switch look {
            case .busy(let requests):
                seen = requests
                quietLooks = 0
            case .idle(let requests):
                quietLooks = requests == seen ? quietLooks + 1 : 0
                seen = requests
                if quietLooks >= looksBeforeParking {
                    park(seen: seen)
                    quietLooks = 0
                }
            }
        }
    }

    /// Writes ``Records/release(requestID:)`` from the stack: the thread allocates nothing,
    /// so glibc never gives it a malloc arena of its own (memory every worker would carry).
    private static func writeRelease(on connection: Idle) {
        var record: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
            Records.version, Records.stderr, UInt8(connection.requestID >> 8), UInt8(connection.requestID & 0xff),
            0, 0, 0, 0
        )
        _ = withUnsafeBytes(of: &record) { Connection.writeAll(connection.fd, $0) }
    }

    /// Sleeps until the next ``begin(_:)``, unless one came since the look that saw `seen`.
    private func park(seen: UInt64) {
        parked.store(true, ordering: .sequentiallyConsistent)
        let current = state.withLock { $0.requests }
        if current != seen {
            // A request began after the look: ``begin(_:)`` may or may not have seen the
            // flag; clear it, and drain a byte it may have written.
            if !parked.exchange(false, ordering: .sequentiallyConsistent) { takeWakeByte() }
            return
        }
        takeWakeByte()
    }

    /// Reads the byte ``begin(_:)`` writes when it finds the thread parked, waiting for it
    /// if it is not there yet.
    private func takeWakeByte() {
        var byte: UInt8 = 0
        while read(wake.read, &byte, 1) < 0 && errno == EINTR {}
    }
}
