// The scoreboard and the request counters of the host region: slots, seqlock, timeouts, rows.

import CHostRegion
import Foundation
import Testing

@testable import HostRegion

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Scoreboard")
struct ScoreboardTests {
    @Test("a worker's slot: starting, idle, reading, busy with its request, idle with its count and duration")
    func slotLifecycle() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        let board = region.scoreboard
        #expect(board.snapshots().isEmpty)
        board.assign(3, pid: 0)
        board.setPID(3, 4242)
        #expect(board.snapshot(3)?.state == .starting)
        let slot = board.slot(3)
        slot.attach(pid: 4242)
        #expect(board.snapshot(3)?.state == .idle)
        slot.beginReading(now: 1_000)
        #expect(board.snapshot(3)?.state == .reading)
        #expect(board.snapshot(3)?.elapsed(now: 3_000_000_000 + 1_000) == 3)
        slot.beginRequest(method: "PATCH", path: "/api/tasks/7", requestID: "abc-1", retryKey: 99)
        let busy = try #require(board.snapshot(3))
        #expect(busy.state == .busy && busy.consistent)
        #expect(busy.method == "PATCH" && busy.path == "/api/tasks/7" && busy.requestID == "abc-1")
        #expect(busy.pid == 4242 && busy.retryKey == 99 && busy.serial == 1 && busy.requestStart == 1_000)
        #expect(slot.endRequest(status: 204, now: 251_000) == 250_000)
        let idle = try #require(board.snapshot(3))
        #expect(idle.state == .idle && idle.served == 1 && idle.lastDuration == 250_000 && idle.lastStatus == 204)
        #expect(idle.elapsed() == 0)
        board.setResidentBytes(3, 12 << 20)
        #expect(board.snapshot(3)?.residentBytes == 12 << 20)
        #expect(board.snapshots().map(\.index) == [3])
        board.release(3)
        #expect(board.snapshot(3) == nil)
    }

    @Test("long texts are cut to their field; a later shorter one leaves nothing of the longer")
    func textFields() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        let slot = region.scoreboard.slot(0)
        slot.attach(pid: 1)
        let long = "/" + String(repeating: "p", count: 400)
        slot.beginReading()
        slot.beginRequest(method: "GET", path: long, requestID: String(repeating: "i", count: 128))
        let first = try #require(region.scoreboard.snapshot(0))
        #expect(first.path == String(long.prefix(280)))
        #expect(first.requestID.count == 128)
        slot.endRequest(status: 200)
        slot.beginReading()
        slot.beginRequest(method: "GET", path: "/a", requestID: "x")
        let second = try #require(region.scoreboard.snapshot(0))
        #expect(second.path == "/a" && second.requestID == "x")
    }

    @Test("a writer killed mid-update leaves the slot marked inconsistent, never a torn copy; release repairs it")
    func killedWriter() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        let slot = region.scoreboard.slot(5)
        slot.attach(pid: 77)
        // What a process killed inside `write` leaves: the sequence word odd.
        let sequence = slot.words + Scoreboard.Word.sequence
        chr_store64(sequence, chr_load64(sequence) | 1)
        let snapshot = try #require(region.scoreboard.snapshot(5))
        #expect(!snapshot.consistent)
        region.scoreboard.release(5)
        #expect(chr_load64(sequence) & 1 == 0)
        region.scoreboard.assign(5, pid: 78)
        #expect(region.scoreboard.snapshot(5)?.consistent == true)
    }

    @Test("a reader never sees a torn slot while its writer updates it")
    func concurrentReaders() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        let slot = region.scoreboard.slot(1)
        slot.attach(pid: getpid())
        // Words: torn copies, consistent copies, the writer finished.
        let torn = SharedWords(count: 3)
        defer { torn.release() }
        let done = DispatchSemaphore(value: 0)
        // Each request writes one digit everywhere: a copy that mixes two is torn. The reader
        // goes on until the writer has finished and it has made a consistent copy.
        Thread {
            var reads = 0
            while (torn[2] == 0 || torn[1] == 0) && reads < 10_000_000 {
                reads += 1
                guard let copy = region.scoreboard.snapshot(1), copy.consistent, !copy.path.isEmpty else { continue }
                let digits = Set(copy.path.dropFirst().utf8).union(copy.requestID.utf8)
                if digits.count > 1 { torn.add(0) }
                torn.add(1)
            }
            done.signal()
        }.start()
        for round in 0..<20_000 {
            let digit = String(round % 10)
            slot.beginReading()
            slot.beginRequest(
                method: "GET", path: "/" + String(repeating: digit, count: 200),
                requestID: String(repeating: digit, count: 100))
            slot.endRequest(status: 200)
        }
        torn.add(2)
        done.wait()
        #expect(torn[0] == 0)
        #expect(torn[1] > 0)
    }

    @Test("without a master a worker claims a free slot, or the slot of a process that is gone")
    func claim() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        let board = region.scoreboard
        let mine = try #require(board.claim(pid: getpid()))
        #expect(mine.index == 0)
        #expect(board.claim(pid: getpid())?.index == 0)
        // A process that has exited: its slot is taken over.
        let gone = forkChildren(1) { _ in }[0]
        var status: Int32 = 0
        waitpid(gone, &status, 0)
        board.assign(1, pid: gone)
        board.slot(1).attach(pid: gone)
        // A live process other than this one (the parent) keeps its slot.
        board.assign(2, pid: getppid())
        board.slot(2).attach(pid: getppid())
        let next = try #require(board.claim(pid: 999_999_999))
        #expect(next.index == 1)
        #expect(board.snapshot(2)?.pid == getppid())
    }

    @Test("a request killed for the timeout is remembered for its retry, for a while, among the last 16")
    func timedOutRequests() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        let board = region.scoreboard
        #expect(!board.anyTimedOut)
        #expect(!board.wasTimedOut(idHash: 5))
        board.recordTimedOut(idHash: 5, now: 1_000)
        #expect(board.anyTimedOut)
        #expect(board.wasTimedOut(idHash: 5, now: 2_000))
        #expect(!board.wasTimedOut(idHash: 6, now: 2_000))
        #expect(!board.wasTimedOut(idHash: 5, window: 500, now: 2_000))
        for hash in 100..<116 { board.recordTimedOut(idHash: UInt64(hash), now: 3_000) }
        #expect(!board.wasTimedOut(idHash: 5, now: 4_000))
        #expect(board.wasTimedOut(idHash: 100, now: 4_000) && board.wasTimedOut(idHash: 115, now: 4_000))
    }

    @Test("a request id's retry key: the same from its bytes and in every process of the region, never 0, one per id")
    func retryKeys() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        let twin = try HostRegion.attach(descriptor: region.descriptor)
        let ids = [
            "", "a", "0123456", "01234567", "012345678", "4f0c8d2e9b7a61c35e0f9a8b7c6d5e4f",
            String(repeating: "z", count: 128),
        ]
        for id in ids {
            let key = region.retryKey(id)
            #expect(key != 0)
            #expect(Array(id.utf8).withUnsafeBytes { region.retryKey(bytes: $0) } == key)
            #expect(twin.retryKey(id) == key)
        }
        // Ids that differ in one byte anywhere, or only in length, get different keys.
        let base = "4f0c8d2e9b7a61c35e0f9a8b7c6d5e4f"
        var keys: Set<UInt64> = [
            region.retryKey(base), region.retryKey(base + "0"), region.retryKey(String(base.dropLast())),
        ]
        for index in 0..<32 {
            var bytes = Array(base.utf8)
            bytes[index] = bytes[index] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            keys.insert(region.retryKey(String(decoding: bytes, as: UTF8.self)))
        }
        #expect(keys.count == 35)
        // Another region has another key.
        let other = try HostRegion.createShared(rateLimitSlots: 4)
        #expect(other.retryKey(base) != region.retryKey(base))
    }
}

@Suite("Host request counters")
struct MetricsTableTests {
    @Test("requests count by route and status, with a duration histogram and sum; labels name the rows")
    func rows() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        let metrics = region.metrics
        #expect(metrics.rows().isEmpty)
        metrics.setLabel(row: 0, "GET /api/hello")
        metrics.setLabel(row: 2, "POST /api/tasks")
        metrics.record(row: 0, status: 200, nanoseconds: 400_000)
        metrics.record(row: 0, status: 200, nanoseconds: 3_000_000)
        metrics.record(row: 0, status: 429, nanoseconds: 100)
        metrics.record(row: 2, status: 201, nanoseconds: 20_000_000_000)
        metrics.record(row: 2, status: 418, nanoseconds: 1)
        metrics.record(row: MetricsTable.unmatchedRow, status: 404, nanoseconds: 1)
        let rows = metrics.rows()
        #expect(rows.map(\.index) == [0, 2, MetricsTable.unmatchedRow])
        #expect(rows[0].label == "GET /api/hello" && rows[0].statuses == [200: 2, 429: 1])
        #expect(rows[0].requests == 3)
        // 0.1 µs and 0.4 ms fall under 1 ms, 3 ms under 5 ms.
        #expect(rows[0].buckets[0] == 2 && rows[0].buckets[2] == 1)
        #expect(rows[0].durationMicroseconds == 3_400)
        #expect(rows[1].statuses == [201: 1, 0: 1])
        #expect(rows[1].buckets.last == 1)
        #expect(rows[2].label == "unmatched" && rows[2].statuses == [404: 1])
        metrics.setLabel(row: 0, "GET /a")
        #expect(metrics.label(row: 0) == "GET /a")
    }

    @Test("host counters add up across processes")
    func counters() throws {
        let region = try HostRegion.createShared(rateLimitSlots: 4)
        // Once here first: the children must not initialise anything lazily after the fork.
        region.metrics.record(row: 1, status: 200, nanoseconds: 1)
        let children = forkChildren(4) { _ in
            for _ in 0..<1_000 {
                region.metrics.add(.restarts)
                region.metrics.record(row: 1, status: 200, nanoseconds: 1)
            }
        }
        for pid in children {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        #expect(region.metrics.value(.restarts) == 4_000)
        #expect(region.metrics.value(.timeouts) == 0)
        #expect(region.metrics.rows().first?.statuses == [200: 4_001])
    }

    @Test("every tracked status has its own column, in order")
    func statusColumns() {
        for (position, status) in MetricsTable.statuses.enumerated() {
            #expect(MetricsTable.statusColumn(status) == position + 1)
        }
        #expect(MetricsTable.statusColumn(299) == 0)
        #expect(MetricsTable.statuses.count < MetricsTable.statusWords)
        #expect(MetricsTable.bucketBounds.count + 1 == MetricsTable.bucketWords)
    }
}
