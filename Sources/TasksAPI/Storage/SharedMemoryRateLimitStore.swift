// Rate-limit counters in the host's shared-memory region, with the database for what does not fit.

import Flagon
import HostRegion
import Logging
import Synchronization

/// Fixed-window counters in the host region's ``RateLimitTable``: a hit is one
/// compare-and-swap, exact across every worker of the host, and safe against `kill -9`.
///
/// When every slot a key may use holds another key's live window, the key is counted in the
/// fallback store (the database) instead, and a warning is logged at most once a minute per
/// process. While any key may be counted there (until the latest such window ends), a key
/// about to take a new slot first asks the fallback whether it already counts it, so a key
/// is never counted in two places.
public final class SharedMemoryRateLimitStore: RateLimitStore {
    let table: RateLimitTable
    let region: HostRegion
    let logger: Logger
    private let makeFallback: @Sendable () throws -> any CountingRateLimitStore
    private let fallbackStore = Mutex<(any CountingRateLimitStore)?>(nil)
    private let lastWarning = Atomic<Int64>(Int64.min)

    /// Seconds between two warnings about the full table, per process.
    static let warningInterval: Int64 = 60

    /// - Parameters:
    ///   - region: The host's region.
    ///   - logger: Where the full-table warning goes.
    ///   - fallback: Opens the database store for keys that do not fit; called at most once,
    ///     on the first such key.
    public init(
        region: HostRegion, logger: Logger, fallback: @escaping @Sendable () throws -> any CountingRateLimitStore
    ) {
        self.region = region
        self.table = region.rateLimits
        self.logger = logger
        self.makeFallback = fallback
    }

    public func hit(key: String, window: Int64, now: Int64) throws -> RateLimitHit {
        var key = key
        return try key.withUTF8 { try hit(keyBytes: UnsafeRawBufferPointer($0), window: window, now: now) }
    }

    /// The key stays bytes unless the database has to count it.
    public func hit(keyBytes: UnsafeRawBufferPointer, window: Int64, now: Int64) throws -> RateLimitHit {
        let windowEnd = now - ((now % window) + window) % window + window
        let hash = region.hash(bytes: keyBytes)
        if now < table.overflowUntil, table.count(hash: hash, windowEnd: windowEnd) == 0 {
            let key = String(decoding: keyBytes, as: UTF8.self)
            if try fallback().count(key: key, now: now) != nil {
                return try fallback().hit(key: key, window: window, now: now)
            }
        }
        if let count = table.hit(hash: hash, windowStart: windowEnd - window, windowEnd: windowEnd) {
            return RateLimitHit(count: count, windowEnd: windowEnd)
        }
        table.noteOverflow(until: windowEnd)
        warnFull(now: now)
        return try fallback().hit(key: String(decoding: keyBytes, as: UTF8.self), window: window, now: now)
    }

    private func fallback() throws -> any CountingRateLimitStore {
        try fallbackStore.withLock { store in
            if let store { return store }
            let opened = try makeFallback()
            store = opened
            return opened
        }
    }

    private func warnFull(now: Int64) {
        let last = lastWarning.load(ordering: .relaxed)
        guard now >= last &+ Self.warningInterval || last == Int64.min,
            lastWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else { return }
        logger.warning(
            "rate-limit table in shared memory is full of live windows; counting new keys in the database",
            metadata: ["slots": "\(table.slotCount)"])
    }
}
