// The worker's sync thread: runs the latest sync handed over, reports each, and its failures.

import Flagon
import Foundation
import Synchronization
import Testing

@testable import FastCGI

@Suite("Sync thread")
struct SyncThreadTests {
    /// Waits for reports until one covers `generation`.
    func reports(upTo generation: UInt64, from thread: SyncThread) -> [SyncThread.Finished] {
        var all: [SyncThread.Finished] = []
        while all.last?.generation != generation {
            thread.waitForFinished()
            all += thread.takeFinished()
        }
        return all
    }

    @Test("each sync handed over runs once on the thread and is reported with its generation")
    func runsAndReports() throws {
        let thread = try #require(SyncThread.start())
        let runs = Mutex<[Int]>([])
        let caller = pthread_self()
        let onOtherThread = Atomic<Bool>(true)
        for generation in 1...3 {
            thread.submit(
                {
                    if pthread_equal(pthread_self(), caller) != 0 { onOtherThread.store(false, ordering: .relaxed) }
                    runs.withLock { $0.append(generation) }
                }, generation: UInt64(generation))
            let finished = reports(upTo: UInt64(generation), from: thread)
            #expect(finished.map(\.generation) == [UInt64(generation)])
            #expect(finished.allSatisfy { $0.error == nil })
        }
        #expect(runs.withLock { $0 } == [1, 2, 3])
        let ranElsewhere = onOtherThread.load(ordering: .relaxed)
        #expect(ranElsewhere)
        #expect(thread.takeFinished().isEmpty)
    }

    @Test("syncs handed over while one runs wait for it; the latest then covers them all")
    func latestCoversWaiting() throws {
        let thread = try #require(SyncThread.start())
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let runs = Mutex<[Int]>([])
        thread.submit(
            {
                started.signal()
                release.wait()
                runs.withLock { $0.append(1) }
            }, generation: 1)
        started.wait()
        // Handed over while the first runs: only the last of these runs.
        for generation in 2...4 {
            thread.submit({ runs.withLock { $0.append(generation) } }, generation: UInt64(generation))
        }
        release.signal()
        let finished = reports(upTo: 4, from: thread)
        #expect(finished.map(\.generation) == [1, 4])
        #expect(runs.withLock { $0 } == [1, 4])
    }

    @Test("a sync that throws is reported with its error, and the thread goes on")
    func failureReported() throws {
        struct DiskError: Error {}
        let thread = try #require(SyncThread.start())
        thread.submit({ throw DiskError() }, generation: 1)
        let failed = reports(upTo: 1, from: thread)
        #expect(failed.count == 1)
        #expect(failed.first?.error is DiskError)
        thread.submit({}, generation: 2)
        let next = reports(upTo: 2, from: thread)
        #expect(next.map(\.generation) == [2])
        #expect(next.first?.error == nil)
    }
}
