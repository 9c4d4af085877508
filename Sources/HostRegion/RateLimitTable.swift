// Fixed-window rate-limit counters in the host region: an open-addressing table of 16-byte slots.

import CHostRegion

/// Counters of fixed windows, one slot per key, each slot changed by one 16-byte
/// compare-and-swap.
///
/// A slot holds the key's 64-bit hash in its low word and, in its high word, the end of the
/// key's window (epoch seconds, 32 bits) above the count (32 bits). A hit probes from
/// `hash % slots` for at most ``probeLimit`` slots:
/// - the slot of this key and window: count + 1;
/// - a free slot, or one whose window ended at or before this key's window started: claimed
///   with count 1;
/// - anything else (a live window of another key) is passed over; past the probe limit the
///   table is full for this key and the caller counts elsewhere.
///
/// Why the count is exact: every claim writes a window end later than the one it replaces, so
/// a slot that is not claimable for a key stays so; all hitters of a key therefore stop at
/// the same slot, and no key ever has two. Why `kill -9` cannot corrupt it: the only writes
/// are single compare-and-swaps from one consistent slot value to another, so a process that
/// dies has either made its whole change or none; nothing is locked.
/// A live window is never evicted: a slot is only claimed once its window has ended.
public struct RateLimitTable: @unchecked Sendable {
    /// Slots probed at most per hit.
    public static let maximumProbes = 64
    static let headerBytes = 64

    let header: UnsafeMutablePointer<UInt64>
    let slots: UnsafeMutablePointer<chr_pair>
    /// Slots in the table.
    public let slotCount: Int

    /// Slots probed at most per hit.
    public var probeLimit: Int { min(slotCount, Self.maximumProbes) }

    static func bytes(slots: Int) -> Int { headerBytes + slots * MemoryLayout<chr_pair>.stride }

    static func initialise(_ base: UnsafeMutableRawPointer, slots: Int) {
        base.assumingMemoryBound(to: UInt64.self)[0] = UInt64(slots)
    }

    init(base: UnsafeMutableRawPointer, size: Int) throws(HostRegionError) {
        header = base.assumingMemoryBound(to: UInt64.self)
        slotCount = Int(header[0])
        guard slotCount > 0, Self.bytes(slots: slotCount) <= size else {
            throw HostRegionError("the host region's rate-limit table is malformed")
        }
        slots = (base + Self.headerBytes).assumingMemoryBound(to: chr_pair.self)
    }

    /// Adds a hit to the counter of `hash` in the window [`windowStart`, `windowEnd`).
    /// - Returns: The count, this hit included; nil when every probed slot holds another
    ///   key's live window (or the window end does not fit the table's 32 bits).
    public func hit(hash: UInt64, windowStart: Int64, windowEnd: Int64) -> Int? {
        guard windowEnd > 0, windowEnd <= Int64(UInt32.max) else { return nil }
        let end = UInt64(windowEnd)
        let start = UInt64(max(0, windowStart))
        var index = Int(hash % UInt64(slotCount))
        for _ in 0..<probeLimit {
            let slot = slots + index
            var current = chr_load128(slot)
            while true {
                let slotEnd = current.high >> 32
                if current.low == hash && slotEnd == end {
                    let count = current.high & 0xFFFF_FFFF
                    // A count that reached 2^32 - 1 stays there: past any limit that fits.
                    if count == 0xFFFF_FFFF { return Int(count) }
                    if chr_cas128(slot, &current, chr_pair(low: hash, high: current.high + 1)) {
                        return Int(count + 1)
                    }
                    continue
                }
                if current.low == 0 || slotEnd <= start {
                    if chr_cas128(slot, &current, chr_pair(low: hash, high: end << 32 | 1)) { return 1 }
                    continue
                }
                break
            }
            index = index + 1 == slotCount ? 0 : index + 1
        }
        return nil
    }

    /// The count of `hash` in the window ending at `windowEnd`, without adding a hit; 0 if
    /// none.
    public func count(hash: UInt64, windowEnd: Int64) -> Int {
        var index = Int(hash % UInt64(slotCount))
        for _ in 0..<probeLimit {
            let current = chr_load128(slots + index)
            if current.low == hash && Int64(current.high >> 32) == windowEnd {
                return Int(current.high & 0xFFFF_FFFF)
            }
            if current.low == 0 { return 0 }
            index = index + 1 == slotCount ? 0 : index + 1
        }
        return 0
    }

    /// Slots holding a window that has not ended at `now`.
    public func liveSlots(at now: Int64) -> Int {
        (0..<slotCount).reduce(0) { live, index in
            let current = chr_load128(slots + index)
            return live + (current.low != 0 && Int64(current.high >> 32) > now ? 1 : 0)
        }
    }

    /// Until when some key may be counted outside the table (the latest window end that
    /// overflowed); 0 if never.
    public var overflowUntil: Int64 { Int64(bitPattern: chr_load64(header + 1)) }

    /// Records that a key of the window ending at `windowEnd` is counted outside the table.
    public func noteOverflow(until windowEnd: Int64) {
        chr_max64(header + 1, UInt64(max(0, windowEnd)))
    }
}
