// The host's shared-memory region: one mapping per host that every worker shares, with a versioned header.

import CHostRegion
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// State shared by the workers of one host, in one `MAP_SHARED` mapping.
///
/// The master creates it as a memfd before it starts workers and names the descriptor in
/// `TASKS_API_HOST_REGION_FD`; workers inherit the descriptor across exec and map it, so the
/// region outlives worker recycling and SIGHUP reloads. Without a master (spawn-fcgi,
/// systemd), the first worker creates a 0600 file with `O_EXCL`, initialises it, then
/// publishes it by setting the header's ready word; the others wait for that word.
///
/// Every word in it is written with single atomic instructions, never under a lock, so a
/// process killed at any instant leaves nothing held.
///
/// Layout (all words little-endian `UInt64`):
/// - page 0, the header: magic, version, total size, ready word, the SipHash key, the number
///   of sections, then a directory of sections (name, offset, size);
/// - section `ratelim`: the rate-limit table (``RateLimitTable``);
/// - section `revoke`: the revocation generation;
/// - section `scorebd`: the scoreboard of the workers (``Scoreboard``);
/// - section `metrics`: the request counters (``MetricsTable``).
public final class HostRegion: @unchecked Sendable {
    /// Bumped whenever the layout changes: processes of another version refuse the region.
    public static let version: UInt64 = 2
    /// The environment variable that names the inherited descriptor.
    public static let descriptorVariable = "TASKS_API_HOST_REGION_FD"
    /// Slots of the rate-limit table unless configured otherwise: 1 MiB of counters.
    public static let defaultRateLimitSlots = 65_536

    static let magic = name("tapihost")
    static let pageSize = 4096
    static let maximumSections = 8
    static let sectionNames: (rateLimit: UInt64, revocation: UInt64, scoreboard: UInt64, metrics: UInt64) = (
        name("ratelim"), name("revoke"), name("scorebd"), name("metrics")
    )

    // Header word indexes.
    enum Word {
        static let magic = 0
        static let version = 1
        static let size = 2
        static let ready = 3
        static let hashKey0 = 4
        static let hashKey1 = 5
        static let sectionCount = 6
        static let directory = 8
    }

    let base: UnsafeMutableRawPointer
    /// Bytes mapped.
    public let size: Int
    /// The descriptor of a region this process created as a memfd; -1 otherwise.
    public let descriptor: Int32
    let hashKey: (UInt64, UInt64)
    /// The rate-limit counters.
    public let rateLimits: RateLimitTable
    let generation: UnsafeMutablePointer<UInt64>
    /// One slot per worker.
    public let scoreboard: Scoreboard
    /// The host's request counters.
    public let metrics: MetricsTable

    private init(base: UnsafeMutableRawPointer, size: Int, descriptor: Int32) throws(HostRegionError) {
        self.base = base
        self.size = size
        self.descriptor = descriptor
        let words = base.assumingMemoryBound(to: UInt64.self)
        hashKey = (words[Word.hashKey0], words[Word.hashKey1])
        func section(_ name: UInt64) throws(HostRegionError) -> (offset: Int, size: Int) {
            let count = min(Int(words[Word.sectionCount]), Self.maximumSections)
            for index in 0..<count {
                let entry = words + Word.directory + 4 * index
                guard entry[0] == name else { continue }
                let offset = Int(entry[1])
                let length = Int(entry[2])
                guard offset >= Self.pageSize, length > 0, offset <= size - length else { break }
                return (offset, length)
            }
            throw HostRegionError("the host region has no valid section '\(Self.nameText(name))'")
        }
        let table = try section(Self.sectionNames.rateLimit)
        rateLimits = try RateLimitTable(base: base + table.offset, size: table.size)
        generation = (base + (try section(Self.sectionNames.revocation)).offset).assumingMemoryBound(to: UInt64.self)
        let board = try section(Self.sectionNames.scoreboard)
        scoreboard = try Scoreboard(base: base + board.offset, size: board.size)
        let counters = try section(Self.sectionNames.metrics)
        metrics = try MetricsTable(base: base + counters.offset, size: counters.size)
    }

    // MARK: - Creating and attaching

    /// The bytes a region with `rateLimitSlots` slots takes.
    static func layout(
        rateLimitSlots: Int
    ) -> (table: Int, tableSize: Int, revocation: Int, scoreboard: Int, metrics: Int, total: Int) {
        func pages(_ bytes: Int) -> Int { (bytes + pageSize - 1) / pageSize * pageSize }
        let tableSize = RateLimitTable.bytes(slots: rateLimitSlots)
        let table = pageSize
        let revocation = table + pages(tableSize)
        let scoreboard = revocation + pageSize
        let metrics = scoreboard + pages(Scoreboard.bytes)
        return (table, tableSize, revocation, scoreboard, metrics, metrics + pages(MetricsTable.bytes))
    }

    /// Writes the header of a fresh, zero-filled region, the ready word last.
    static func initialise(_ base: UnsafeMutableRawPointer, rateLimitSlots: Int) {
        let layout = layout(rateLimitSlots: rateLimitSlots)
        let words = base.assumingMemoryBound(to: UInt64.self)
        var random = SystemRandomNumberGenerator()
        words[Word.magic] = magic
        words[Word.version] = version
        words[Word.size] = UInt64(layout.total)
        words[Word.hashKey0] = random.next()
        words[Word.hashKey1] = random.next()
        let sections: [(UInt64, Int, Int)] = [
            (sectionNames.rateLimit, layout.table, layout.tableSize),
            (sectionNames.revocation, layout.revocation, pageSize),
            (sectionNames.scoreboard, layout.scoreboard, Scoreboard.bytes),
            (sectionNames.metrics, layout.metrics, MetricsTable.bytes),
        ]
        words[Word.sectionCount] = UInt64(sections.count)
        for (index, section) in sections.enumerated() {
            let entry = words + Word.directory + 4 * index
            entry[0] = section.0
            entry[1] = UInt64(section.1)
            entry[2] = UInt64(section.2)
        }
        RateLimitTable.initialise(base + layout.table, slots: rateLimitSlots)
        chr_store64(words + Word.ready, 1)
    }

    /// A new region in a memfd that exec'd children inherit (the master's).
    public static func createShared(rateLimitSlots: Int = defaultRateLimitSlots) throws(HostRegionError) -> HostRegion {
        let fd = chr_memfd("tasks-api-host-region")
        guard fd >= 0 else { throw HostRegionError("cannot create the host region: \(errorText())") }
        let size = layout(rateLimitSlots: rateLimitSlots).total
        guard ftruncate(fd, off_t(size)) == 0 else {
            let text = errorText()
            close(fd)
            throw HostRegionError("cannot size the host region: \(text)")
        }
        let base = try map(fd, size: size, closingOnFailure: true)
        initialise(base, rateLimitSlots: rateLimitSlots)
        return try HostRegion(base: base, size: size, descriptor: fd)
    }

    /// The region behind an inherited descriptor (a worker under the master).
    public static func attach(descriptor fd: Int32) throws(HostRegionError) -> HostRegion {
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw HostRegionError("cannot use the inherited host region (fd \(fd)): \(errorText())")
        }
        return try attachMapped(fd, size: Int(status.st_size), name: "fd \(fd)", waitForReady: false)
    }

    /// Opens the region file at `path`, creating it (0600) if no process has yet: the region
    /// of workers started without a master.
    public static func openFile(
        _ path: String, rateLimitSlots: Int = defaultRateLimitSlots, readyTimeout: Double = 5
    ) throws(HostRegionError) -> HostRegion {
        let created = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if created >= 0 {
            defer { close(created) }
            let size = layout(rateLimitSlots: rateLimitSlots).total
            guard fchmod(created, 0o600) == 0, ftruncate(created, off_t(size)) == 0 else {
                throw HostRegionError("cannot create the host region \(path): \(errorText())")
            }
            let base = try map(created, size: size, closingOnFailure: false)
            initialise(base, rateLimitSlots: rateLimitSlots)
            return try HostRegion(base: base, size: size, descriptor: -1)
        }
        guard errno == EEXIST else { throw HostRegionError("cannot create the host region \(path): \(errorText())") }
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw HostRegionError("cannot open the host region \(path): \(errorText())") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw HostRegionError("cannot open the host region \(path): \(errorText())")
        }
        guard status.st_uid == geteuid(), status.st_mode & 0o077 == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw HostRegionError("refusing the host region \(path): not a 0600 file of this user")
        }
        // The creator sizes the file right after creating it: wait for that, then for ready.
        let deadline = monotonicNow() + readyTimeout
        while status.st_size < pageSize {
            guard monotonicNow() < deadline else {
                throw HostRegionError("the host region \(path) was never initialised; remove it and start again")
            }
            usleep(2_000)
            fstat(fd, &status)
        }
        return try attachMapped(fd, size: Int(status.st_size), name: path, waitUntil: deadline)
    }

    private static func attachMapped(
        _ fd: Int32, size: Int, name: String, waitForReady: Bool = true, waitUntil: Double? = nil
    ) throws(HostRegionError) -> HostRegion {
        guard size >= pageSize else { throw HostRegionError("the host region \(name) is too small (\(size) bytes)") }
        let base = try map(fd, size: size, closingOnFailure: false)
        let words = base.assumingMemoryBound(to: UInt64.self)
        let deadline = waitUntil ?? monotonicNow()
        while chr_load64(words + Word.ready) == 0 {
            guard waitForReady, monotonicNow() < deadline else {
                munmap(base, size)
                throw HostRegionError("the host region \(name) was never initialised; remove it and start again")
            }
            usleep(2_000)
        }
        guard words[Word.magic] == magic else {
            munmap(base, size)
            throw HostRegionError("\(name) is not a tasks-api host region")
        }
        guard words[Word.version] == version else {
            let found = words[Word.version]
            munmap(base, size)
            throw HostRegionError(
                "the host region \(name) has layout version \(found), this build uses \(version); "
                    + "stop every worker of the old version (and remove the file) first")
        }
        guard words[Word.size] == UInt64(size) else {
            munmap(base, size)
            throw HostRegionError("the host region \(name) is \(size) bytes, its header says \(words[Word.size])")
        }
        return try HostRegion(base: base, size: size, descriptor: -1)
    }

    private static func map(
        _ fd: Int32, size: Int, closingOnFailure: Bool
    ) throws(HostRegionError) -> UnsafeMutableRawPointer {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else {
            let text = errorText()
            if closingOnFailure { close(fd) }
            throw HostRegionError("cannot map the host region: \(text)")
        }
        return address
    }

    // MARK: - This process's region

    private static let regions = Mutex<[String: HostRegion]>([:])

    /// The region of this host: the inherited one when the master named a descriptor, else
    /// the file at `path` (created by the first worker). Mapped once per process.
    public static func forThisProcess(fallbackPath path: String) throws(HostRegionError) -> HostRegion {
        let inherited = getenv(descriptorVariable).map { String(cString: $0) }
        let name = inherited.map { "fd:" + $0 } ?? path
        return try regions.withLock { (regions) throws(HostRegionError) -> HostRegion in
            if let region = regions[name] { return region }
            let region: HostRegion
            if let inherited {
                guard let fd = Int32(inherited), fd >= 0 else {
                    throw HostRegionError("\(descriptorVariable) must name a descriptor, got '\(inherited)'")
                }
                region = try attach(descriptor: fd)
            } else {
                region = try openFile(path)
            }
            regions[name] = region
            return region
        }
    }

    /// Makes this process's children (and this process) use `region`: its descriptor is
    /// named in the environment that exec'd workers inherit.
    public func publishToChildren() {
        precondition(descriptor >= 0, "only a region created with createShared has a descriptor to pass on")
        setenv(Self.descriptorVariable, String(descriptor), 1)
        Self.regions.withLock { $0["fd:\(descriptor)"] = self }
    }

    // MARK: - Keys and generations

    /// A keyed 64-bit hash of `key`, never 0 (0 marks a free slot). The key is random per
    /// region, so clients cannot choose keys that collide.
    public func hash(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { hash(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// ``hash(_:)`` of a key's UTF-8 bytes: the same value as for the `String` they spell.
    public func hash(bytes: UnsafeRawBufferPointer) -> UInt64 {
        let value = chr_siphash(bytes.baseAddress, UInt64(bytes.count), hashKey.0, hashKey.1)
        return value == 0 ? 1 : value
    }

    /// The key of a request id on the scoreboard (``Scoreboard/recordTimedOut(idHash:now:)``),
    /// never 0. Every request computes it, so it is a keyed multiply-and-fold over eight bytes
    /// at a time rather than SipHash: it only tells a retry of a killed request from other
    /// requests, and the ids come from nginx (random), not from clients.
    public func retryKey(_ id: String) -> UInt64 {
        var id = id
        return id.withUTF8 { retryKey(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// ``retryKey(_:)`` of an id's UTF-8 bytes.
    public func retryKey(bytes: UnsafeRawBufferPointer) -> UInt64 {
        var state = hashKey.0 ^ UInt64(bytes.count)
        var offset = 0
        while offset + 8 <= bytes.count {
            state = Self.fold(state, bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self), hashKey.1)
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            for index in offset..<bytes.count { tail |= UInt64(bytes[index]) << (8 * UInt64(index - offset)) }
            state = Self.fold(state, tail, hashKey.1)
        }
        // The finaliser of MurmurHash3: every input bit reaches every output bit.
        state ^= state >> 33
        state &*= 0xFF51_AFD7_ED55_8CCD
        state ^= state >> 33
        state &*= 0xC4CE_B9FE_1A85_EC53
        state ^= state >> 33
        return state == 0 ? 1 : state
    }

    private static func fold(_ state: UInt64, _ word: UInt64, _ key: UInt64) -> UInt64 {
        let mixed = (state ^ word) &* (key | 1)
        return (mixed << 31 | mixed >> 33) &+ word
    }

    /// The revocation generation: bumped whenever a token may have been revoked.
    public var revocationGeneration: UInt64 { chr_load64(generation) }

    /// Bumps the revocation generation; returns the new value.
    @discardableResult
    public func bumpRevocationGeneration() -> UInt64 { chr_add64(generation, 1) }

    // MARK: - Helpers

    static func name(_ text: StaticString) -> UInt64 {
        var value: UInt64 = 0
        let bytes = UnsafeBufferPointer(start: text.utf8Start, count: min(text.utf8CodeUnitCount, 8))
        for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        return value
    }

    static func nameText(_ name: UInt64) -> String {
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: name >> (8 * UInt64($0))) }.filter { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func monotonicNow() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}

/// Why the host region cannot be created or used.
public struct HostRegionError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
