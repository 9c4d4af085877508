// The scoreboard in the host region: one slot per worker, what it is doing and what it did.

import CHostRegion

#if canImport(Glibc)
    import Glibc
#endif

/// One slot per worker, as PHP-FPM's scoreboard: the worker's pid and state, the request in
/// hand (method, path, request id, start), requests served, the last one's duration and
/// status, and its resident set (written by the master).
///
/// Each slot has one writer, its worker, and is published with a sequence word (a seqlock):
/// the writer makes it odd, stores the fields, makes it even again; a reader copies the
/// fields and keeps the copy only if the word was even and unchanged around it. A worker
/// killed halfway leaves the word odd: readers then show the slot as being updated, and the
/// master, which reaps the worker, frees the slot. Nothing is locked.
///
/// Times are `CLOCK_MONOTONIC` nanoseconds, one clock for every process of the host.
public struct Scoreboard: @unchecked Sendable {
    /// Workers a host region can describe at once.
    public static let slotCount = 256
    static let slotWords = 64
    /// Requests the master killed for the timeout, most recent last: (id hash, when).
    static let timedOutEntries = 16
    static let bytes = slotCount * slotWords * 8 + (1 + 2 * timedOutEntries) * 8

    /// What a worker is doing.
    public enum State: UInt64, Sendable, CaseIterable {
        /// No worker.
        case free = 0
        /// Started, building its application.
        case starting = 1
        /// Waiting for a request.
        case idle = 2
        /// Reading a request that has begun to arrive.
        case reading = 3
        /// Running the application for a request.
        case busy = 4

        public var name: String {
            switch self {
            case .free: "free"
            case .starting: "starting"
            case .idle: "idle"
            case .reading: "reading"
            case .busy: "busy"
            }
        }
    }

    enum Word {
        static let pid = 0
        static let sequence = 1
        static let state = 2
        static let requestStart = 3
        static let served = 4
        static let lastDuration = 5
        static let residentBytes = 6
        static let startedAt = 7
        static let serial = 8
        static let lastStatus = 9
        static let method = 10
        static let methodBytes = 16
        static let requestID = 12
        static let requestIDBytes = 128
        static let path = 28
        static let pathBytes = 280
        static let retryKey = 63
    }

    let base: UnsafeMutablePointer<UInt64>

    init(base: UnsafeMutableRawPointer, size: Int) throws(HostRegionError) {
        guard size >= Self.bytes else { throw HostRegionError("the host region's scoreboard is too small") }
        self.base = base.assumingMemoryBound(to: UInt64.self)
    }

    func words(_ index: Int) -> UnsafeMutablePointer<UInt64> {
        precondition(index >= 0 && index < Self.slotCount, "scoreboard slot out of range")
        return base + index * Self.slotWords
    }

    /// The writer's handle on slot `index`.
    public func slot(_ index: Int) -> Slot { Slot(words: words(index), index: index) }

    /// Prepares slot `index` for a worker the master is about to start.
    public func assign(_ index: Int, pid: pid_t) {
        let slot = slot(index)
        slot.write {
            for word in 2..<Self.slotWords { chr_store64_relaxed(slot.words + word, 0) }
            chr_store64_relaxed(slot.words + Word.state, State.starting.rawValue)
            chr_store64_relaxed(slot.words + Word.startedAt, Self.now())
        }
        chr_store64(slot.words + Word.pid, UInt64(pid))
    }

    /// Names the process of slot `index` (the master, once it has started the worker).
    public func setPID(_ index: Int, _ pid: pid_t) {
        chr_store64(words(index) + Word.pid, UInt64(pid))
    }

    /// Frees slot `index` once its worker is gone; any sequence word its worker left odd
    /// is made even.
    public func release(_ index: Int) {
        let words = words(index)
        chr_store64(words + Word.pid, 0)
        chr_store64(words + Word.state, State.free.rawValue)
        let sequence = chr_load64(words + Word.sequence)
        chr_store64(words + Word.sequence, (sequence | 1) + 1)
    }

    /// Claims a slot for this process when no master assigned one (workers under
    /// spawn-fcgi): a free slot, or one whose process no longer exists.
    public func claim(pid: pid_t = getpid()) -> Slot? {
        for index in 0..<Self.slotCount {
            let words = words(index)
            var current = chr_load64(words + Word.pid)
            if current == UInt64(pid) { return slot(index) }
            if current != 0 && (kill(pid_t(truncatingIfNeeded: current), 0) == 0 || errno != ESRCH) { continue }
            if chr_cas64(words + Word.pid, &current, UInt64(pid)) {
                assign(index, pid: pid)
                return slot(index)
            }
        }
        return nil
    }

    /// Remembers that the request `idHash` (``HostRegion/retryKey(_:)`` of its id) was killed for
    /// the timeout: nginx retries a GET that failed on a reused connection, and the worker
    /// that receives the retry answers it at once instead of running it into the timeout
    /// again and taking a second worker down. Called by the master before the kill.
    public func recordTimedOut(idHash: UInt64, now: UInt64 = Scoreboard.now()) {
        let ring = base + Self.slotCount * Self.slotWords
        let entry = Int(chr_add64(ring, 1) - 1) % Self.timedOutEntries
        chr_store64(ring + 1 + 2 * entry, idHash)
        chr_store64(ring + 2 + 2 * entry, now)
    }

    /// Whether the request `idHash` was killed for the timeout within the last `window`
    /// nanoseconds. A single load when none ever was.
    public func wasTimedOut(idHash: UInt64, window: UInt64 = 120_000_000_000, now: UInt64 = Scoreboard.now()) -> Bool {
        let ring = base + Self.slotCount * Self.slotWords
        guard chr_load64(ring) != 0 else { return false }
        for entry in 0..<Self.timedOutEntries where chr_load64(ring + 1 + 2 * entry) == idHash {
            let when = chr_load64(ring + 2 + 2 * entry)
            if now >= when && now - when <= window { return true }
        }
        return false
    }

    /// Whether any request was ever killed for the timeout on this host.
    public var anyTimedOut: Bool { chr_load64(base + Self.slotCount * Self.slotWords) != 0 }

    /// Sets the resident set the master measured for slot `index`.
    public func setResidentBytes(_ index: Int, _ bytes: UInt64) {
        chr_store64_relaxed(words(index) + Word.residentBytes, bytes)
    }

    /// A consistent copy of slot `index`, or nil when it is free; `consistent` is false when
    /// its writer was in the middle of an update on every try (or was killed in one).
    public func snapshot(_ index: Int) -> Snapshot? {
        let words = words(index)
        var copy = [UInt64](repeating: 0, count: Self.slotWords)
        var consistent = false
        for _ in 0..<64 {
            let before = chr_load64(words + Word.sequence)
            copy.withUnsafeMutableBytes { chr_load_text(words, UInt64(Self.slotWords * 8), $0.baseAddress) }
            chr_fence_acquire()
            let after = chr_load64_relaxed(words + Word.sequence)
            if before == after && before & 1 == 0 {
                consistent = true
                break
            }
        }
        let pid = chr_load64(words + Word.pid)
        guard pid != 0, let state = State(rawValue: copy[Word.state]), state != .free else { return nil }
        func text(_ word: Int, _ bytes: Int) -> String {
            let raw = copy.withUnsafeBytes { Array($0[(word * 8)..<(word * 8 + bytes)]) }
            return String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return Snapshot(
            index: index, pid: pid_t(truncatingIfNeeded: pid), state: state, consistent: consistent,
            requestStart: copy[Word.requestStart], served: copy[Word.served], lastDuration: copy[Word.lastDuration],
            lastStatus: Int(copy[Word.lastStatus]), residentBytes: copy[Word.residentBytes],
            startedAt: copy[Word.startedAt], serial: copy[Word.serial], retryKey: copy[Word.retryKey],
            method: text(Word.method, Word.methodBytes), requestID: text(Word.requestID, Word.requestIDBytes),
            path: text(Word.path, Word.pathBytes))
    }

    /// Copies of every slot in use.
    public func snapshots() -> [Snapshot] { (0..<Self.slotCount).compactMap(snapshot) }

    /// `CLOCK_MONOTONIC` in nanoseconds.
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// A worker's view of its slot: it alone writes it.
    public struct Slot: @unchecked Sendable {
        let words: UnsafeMutablePointer<UInt64>
        /// The slot's position on the scoreboard.
        public let index: Int

        func write(_ body: () -> Void) {
            let sequence = chr_load64_relaxed(words + Word.sequence)
            chr_store64_relaxed(words + Word.sequence, (sequence | 1))
            chr_fence_release()
            body()
            chr_store64(words + Word.sequence, (sequence | 1) + 1)
        }

        /// Marks the slot as this process's, idle.
        public func attach(pid: pid_t = getpid()) {
            chr_store64(words + Word.pid, UInt64(pid))
            setState(.idle)
        }

        public func setState(_ state: State) {
            write { chr_store64_relaxed(words + Word.state, state.rawValue) }
        }

        /// A request has begun to arrive at `now`.
        public func beginReading(now: UInt64 = Scoreboard.now()) {
            write {
                chr_store64_relaxed(words + Word.state, State.reading.rawValue)
                chr_store64_relaxed(words + Word.requestStart, now)
                chr_store64_relaxed(words + Word.serial, chr_load64_relaxed(words + Word.serial) &+ 1)
                chr_store_text(words + Word.method, UInt64(Word.methodBytes), nil, 0)
                chr_store_text(words + Word.requestID, UInt64(Word.requestIDBytes), nil, 0)
                chr_store_text(words + Word.path, UInt64(Word.pathBytes), nil, 0)
            }
        }

        /// The request read, the application runs it. The start stays the one of
        /// ``beginReading(now:)``.
        public func beginRequest(method: String, path: String, requestID: String, retryKey: UInt64 = 0) {
            var method = method
            var path = path
            var requestID = requestID
            write {
                chr_store64_relaxed(words + Word.state, State.busy.rawValue)
                chr_store64_relaxed(words + Word.retryKey, retryKey)
                method.withUTF8 {
                    _ = chr_store_text(words + Word.method, UInt64(Word.methodBytes), $0.baseAddress, UInt64($0.count))
                }
                requestID.withUTF8 {
                    _ = chr_store_text(
                        words + Word.requestID, UInt64(Word.requestIDBytes), $0.baseAddress, UInt64($0.count))
                }
                path.withUTF8 {
                    _ = chr_store_text(words + Word.path, UInt64(Word.pathBytes), $0.baseAddress, UInt64($0.count))
                }
            }
        }

        /// Nanoseconds since the request in hand began, at `now`.
        public func elapsed(now: UInt64 = Scoreboard.now()) -> UInt64 {
            let start = chr_load64_relaxed(words + Word.requestStart)
            return now >= start ? now - start : 0
        }

        /// The request is answered with `status`; the worker is idle again. Returns its
        /// duration in nanoseconds.
        @discardableResult
        public func endRequest(status: Int, now: UInt64 = Scoreboard.now()) -> UInt64 {
            let start = chr_load64_relaxed(words + Word.requestStart)
            let duration = now >= start ? now - start : 0
            write {
                chr_store64_relaxed(words + Word.state, State.idle.rawValue)
                chr_store64_relaxed(words + Word.served, chr_load64_relaxed(words + Word.served) &+ 1)
                chr_store64_relaxed(words + Word.lastDuration, duration)
                chr_store64_relaxed(words + Word.lastStatus, UInt64(max(0, status)))
            }
            return duration
        }

        /// The reading ended without a request (the peer closed or timed out).
        public func abandonReading() { setState(.idle) }
    }

    /// A copy of one slot.
    public struct Snapshot: Sendable, Equatable {
        public var index: Int
        public var pid: pid_t
        public var state: State
        public var consistent: Bool
        /// When the request in hand began (monotonic ns); meaningful while reading or busy.
        public var requestStart: UInt64
        public var served: UInt64
        public var lastDuration: UInt64
        public var lastStatus: Int
        public var residentBytes: UInt64
        public var startedAt: UInt64
        /// Counts the requests begun: with the pid, names the request in hand.
        public var serial: UInt64
        /// The hash of the id nginx gives the request and any retry of it.
        public var retryKey: UInt64 = 0
        public var method: String
        public var requestID: String
        public var path: String

        /// Seconds the request in hand has taken so far at `now`; 0 when idle.
        public func elapsed(now: UInt64 = Scoreboard.now()) -> Double {
            guard state == .reading || state == .busy, now > requestStart else { return 0 }
            return Double(now - requestStart) / 1e9
        }
    }
}
