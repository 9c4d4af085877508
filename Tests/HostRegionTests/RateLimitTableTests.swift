// The host region's rate-limit table: exact counts across processes, kill -9, reclaiming, a full table.

import CHostRegion
import Foundation
import HostRegion
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Words of anonymous shared memory that forked children write their results into.
struct SharedWords: @unchecked Sendable {
    let words: UnsafeMutablePointer<UInt64>
    let count: Int

    init(count: Int) {
        self.count = count
        let address = mmap(nil, count * 8, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        precondition(address != MAP_FAILED)
        words = address!.assumingMemoryBound(to: UInt64.self)
    }

    subscript(index: Int) -> UInt64 { chr_load64(words + index) }

    func add(_ index: Int) { chr_add64(words + index, 1) }

    func release() { munmap(words, count * 8) }
}

/// Forks `count` children that each run `body(index)` and `_exit(0)`. The body must neither
/// allocate nor lock: it runs in a copy of a multi-threaded process.
func forkChildren(_ count: Int, _ body: (Int) -> Void) -> [pid_t] {
    (0..<count).map { index in
        let pid = fork()
        precondition(pid >= 0, "fork failed")
        if pid == 0 {
            body(index)
            _exit(0)
        }
        return pid
    }
}

func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status
}

func withRegionFile<T>(slots: Int = 1024, _ body: (String, HostRegion) throws -> T) throws -> T {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("host-region-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let region = try HostRegion.openFile(folder + "/region", rateLimitSlots: slots)
    return try body(folder + "/region", region)
}

@Suite("Host region rate-limit table")
struct RateLimitTableTests {
    @Test("a key hashes the same from its bytes as from its text, never to 0")
    func hashOfBytes() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        for key in ["", "route/5/1/minute/127.0.0.1/60", "caf\u{E9}/-60", String(repeating: "k", count: 300)] {
            let fromBytes = Array(key.utf8).withUnsafeBytes { region.hash(bytes: $0) }
            #expect(fromBytes == region.hash(key))
            #expect(fromBytes != 0)
        }
        let a = Array("a/60".utf8).withUnsafeBytes { region.hash(bytes: $0) }
        let b = Array("b/60".utf8).withUnsafeBytes { region.hash(bytes: $0) }
        #expect(a != b)
    }

    @Test("processes hitting one key concurrently each get a distinct count, and the total is exact")
    func exactAcrossProcesses() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 256)
        let table = region.rateLimits
        let hash = region.hash("route/5/1/minute/127.0.0.1/60")
        let processes = 4
        let hitsEach = 5000
        // seen[c - 1] counts how many hits returned the count c.
        let seen = SharedWords(count: processes * hitsEach)
        defer { seen.release() }
        let pids = forkChildren(processes) { _ in
            for _ in 0..<hitsEach {
                if let count = table.hit(hash: hash, windowStart: 60, windowEnd: 120) { seen.add(count - 1) }
            }
        }
        for pid in pids { #expect(waitForExit(pid) == 0) }
        #expect((0..<seen.count).allSatisfy { seen[$0] == 1 })
        #expect(table.count(hash: hash, windowEnd: 120) == processes * hitsEach)
        #expect(table.hit(hash: hash, windowStart: 60, windowEnd: 120) == processes * hitsEach + 1)
    }

    @Test("kill -9 of processes hammering counters leaves them consistent: the total is the hits that returned")
    func killedProcessesLeaveCountsConsistent() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 64)
        let table = region.rateLimits
        let keys = (0..<3).map { region.hash("key-\($0)/60") }
        let processes = 4
        // Per process and key, the hits that returned.
        let returned = SharedWords(count: processes * keys.count)
        defer { returned.release() }
        let pids = forkChildren(processes) { index in
            var round = 0
            while true {
                let key = round % keys.count
                if table.hit(hash: keys[key], windowStart: 60, windowEnd: 120) != nil {
                    returned.add(index * keys.count + key)
                }
                round += 1
            }
        }
        // Let every process get going, then kill them all in the middle of their work.
        while (0..<processes).contains(where: { index in
            (0..<keys.count).map { returned[index * keys.count + $0] }.reduce(0, +) < 2000
        }) {
            sched_yield()
        }
        for pid in pids { kill(pid, SIGKILL) }
        for pid in pids {
            let status = waitForExit(pid)
            #expect(status & 0x7f == SIGKILL)
        }
        var total = 0
        for (key, hash) in keys.enumerated() {
            let hits = (0..<processes).map { Int(returned[$0 * keys.count + key]) }.reduce(0, +)
            let counted = table.count(hash: hash, windowEnd: 120)
            // A process killed after its compare-and-swap but before noting the hit counted one
            // that never returned: at most one per process.
            #expect(counted >= hits && counted <= hits + processes)
            #expect(table.hit(hash: hash, windowStart: 60, windowEnd: 120) == counted + 1)
            total += hits
        }
        #expect(total >= processes * 2000)
    }

    @Test("a new window of a key starts at 1; an ended window's slot is reclaimed by another key")
    func windowsAndReclaiming() throws {
        try withRegionFile(slots: 4) { _, region in
            let table = region.rateLimits
            let keys = (0..<4).map { region.hash("k\($0)/60") }
            for key in keys { #expect(table.hit(hash: key, windowStart: 60, windowEnd: 120) == 1) }
            #expect(table.hit(hash: keys[0], windowStart: 60, windowEnd: 120) == 2)
            #expect(table.liveSlots(at: 119) == 4)
            // Full of live windows: a fifth key does not fit, and nothing was evicted.
            let fifth = region.hash("k4/60")
            #expect(table.hit(hash: fifth, windowStart: 60, windowEnd: 120) == nil)
            #expect(table.count(hash: keys[0], windowEnd: 120) == 2)
            // The next window: every ended slot can be taken again.
            let next = (0..<4).map { region.hash("k\($0)/120") }
            for key in next { #expect(table.hit(hash: key, windowStart: 120, windowEnd: 180) == 1) }
            #expect(table.hit(hash: next[3], windowStart: 120, windowEnd: 180) == 2)
            #expect(table.liveSlots(at: 120) == 4)
            #expect(table.count(hash: keys[0], windowEnd: 120) == 0)
        }
    }

    @Test("a day window stays live among minute windows that come and go")
    func liveWindowNeverEvicted() throws {
        try withRegionFile(slots: 2) { _, region in
            let table = region.rateLimits
            let day = region.hash("day/0")
            #expect(table.hit(hash: day, windowStart: 0, windowEnd: 86_400) == 1)
            for minute in 1..<100 {
                let start = Int64(minute) * 60
                let key = region.hash("minute/\(start)")
                #expect(table.hit(hash: key, windowStart: start, windowEnd: start + 60) == 1)
                // The other minute's slot is full of this live window: the next key cannot fit yet.
                #expect(
                    table.hit(hash: region.hash("other/\(start)"), windowStart: start, windowEnd: start + 60) == nil)
            }
            #expect(table.hit(hash: day, windowStart: 0, windowEnd: 86_400) == 2)
        }
    }

    @Test("the region file: created 0600, opened again by a second process, a foreign version refused")
    func regionFile() throws {
        try withRegionFile(slots: 16) { path, region in
            var status = stat()
            #expect(stat(path, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600)
            let again = try HostRegion.openFile(path)
            #expect(again.rateLimits.slotCount == 16)
            let hash = region.hash("shared/60")
            #expect(again.hash("shared/60") == hash)
            #expect(region.rateLimits.hit(hash: hash, windowStart: 60, windowEnd: 120) == 1)
            #expect(again.rateLimits.hit(hash: hash, windowStart: 60, windowEnd: 120) == 2)
            #expect(again.revocationGeneration == 0)
            region.bumpRevocationGeneration()
            #expect(again.revocationGeneration == 1)

            // Another layout version in the header.
            let fd = open(path, O_RDWR)
            defer { close(fd) }
            var version: UInt64 = 99
            #expect(pwrite(fd, &version, 8, 8) == 8)
            #expect {
                try HostRegion.openFile(path)
            } throws: { error in
                "\(error)".contains("layout version 99")
            }
        }
    }

    @Test("a region file whose creator never finished is reported, not waited on forever")
    func neverInitialised() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("host-region-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/region"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        #expect(ftruncate(fd, 8192) == 0)
        close(fd)
        #expect {
            try HostRegion.openFile(path, readyTimeout: 0.05)
        } throws: { error in
            "\(error)".contains("never initialised")
        }
    }

    @Test("an inherited descriptor maps the same region")
    func inheritedDescriptor() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 32)
        let attached = try HostRegion.attach(descriptor: region.descriptor)
        let hash = region.hash("k/60")
        #expect(region.rateLimits.hit(hash: hash, windowStart: 60, windowEnd: 120) == 1)
        #expect(attached.rateLimits.hit(hash: hash, windowStart: 60, windowEnd: 120) == 2)
    }
}
