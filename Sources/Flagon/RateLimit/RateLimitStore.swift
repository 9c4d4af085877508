// Where rate-limit counters live: the protocol, and an in-process store for tests and development.

import Synchronization

/// The count of one window after a hit.
public struct RateLimitHit: Sendable, Equatable {
    /// Hits in the window, this one included.
    public var count: Int
    /// Epoch second at which the window ends (and the count starts again).
    public var windowEnd: Int64

    public init(count: Int, windowEnd: Int64) {
        self.count = count
        self.windowEnd = windowEnd
    }
}

/// Shared counters for fixed windows.
///
/// `hit` must be atomic across everything that shares the store: for a limit to hold across
/// worker processes, the store must live outside them (the database), never in process memory.
public protocol RateLimitStore: Sendable {
    /// Adds one hit to the window counter `key` and returns the new count.
    /// - Parameters:
    ///   - key: Identifies the counter; it includes the window start, so each window counts afresh.
    ///   - window: The window length in seconds; windows are aligned to the epoch.
    ///   - now: The current epoch second.
    func hit(key: String, window: Int64, now: Int64) throws -> RateLimitHit

    /// ``hit(key:window:now:)`` with the key as its UTF-8 bytes, the form the middleware
    /// writes it in: a store that hashes the key need not make a `String` of it.
    func hit(keyBytes: UnsafeRawBufferPointer, window: Int64, now: Int64) throws -> RateLimitHit
}

extension RateLimitStore {
    public func hit(keyBytes: UnsafeRawBufferPointer, window: Int64, now: Int64) throws -> RateLimitHit {
        try hit(key: String(decoding: keyBytes, as: UTF8.self), window: window, now: now)
    }
}

/// Counters in this process's memory: per worker, so only for tests and development
/// (`RATELIMIT_STORAGE_URL=memory://`). With N workers a limit allows N times as many hits.
public final class MemoryRateLimitStore: RateLimitStore {
    private let counters = Mutex<[String: RateLimitHit]>([:])

    public init() {}

    /// Counters currently held, expired ones included until the next prune.
    public var count: Int { counters.withLock { $0.count } }

    public func hit(key: String, window: Int64, now: Int64) throws -> RateLimitHit {
        let end = now - ((now % window) + window) % window + window
        return counters.withLock { counters in
            if var current = counters[key], current.windowEnd > now {
                current.count += 1
                counters[key] = current
                return current
            }
            // A new window: a good moment to forget the ones that ended.
            counters = counters.filter { $0.value.windowEnd > now }
            let fresh = RateLimitHit(count: 1, windowEnd: end)
            counters[key] = fresh
            return fresh
        }
    }
}
