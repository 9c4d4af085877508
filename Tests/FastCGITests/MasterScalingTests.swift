// A dynamic pool's decisions, from scoreboard slots, the listen queue and the time: growth and idle retirement.

import Testing

@testable import FastCGI
@testable import HostRegion

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Master scaling")
struct MasterScalingTests {
    static let second: UInt64 = 1_000_000_000

    static func options(min: Int = 2, max: Int = 8, idleTimeout: Double = 10) -> Master.Options {
        var options = Master.Options(
            workers: min, maxRequests: 0, gracefulTimeout: 1, workerExecutable: "/bin/false", workerArguments: [])
        options.minWorkers = min
        options.maxWorkers = max
        options.idleTimeout = idleTimeout
        return options
    }

    /// A worker's slot: started at `started`, its last request from `requestStart` for `duration` (seconds).
    static func slot(
        _ pid: pid_t, _ state: Scoreboard.State, started: UInt64 = 0, requestStart: UInt64 = 0, duration: UInt64 = 0
    ) -> Scoreboard.Snapshot {
        Scoreboard.Snapshot(
            index: Int(pid), pid: pid, state: state, consistent: true, requestStart: requestStart * second,
            served: duration > 0 ? 1 : 0, lastDuration: duration * second, lastStatus: 200, residentBytes: 0,
            startedAt: started * second, serial: 1, method: "", requestID: "", path: "")
    }

    static func busy(_ count: Int, from first: pid_t = 100) -> [Scoreboard.Snapshot] {
        (0..<count).map { slot(first + pid_t($0), $0 % 2 == 0 ? .busy : .reading) }
    }

    /// Runs checks with every one of `target` workers busy and `queue` waiting, adding what
    /// each growth starts; returns the growth of each check.
    static func saturatedChecks(
        _ count: Int, queue: Int?, options: Master.Options, pool: inout Master.PoolSize
    )
        -> [Int]
    {
        (0..<count).map { check in
            let decision = Master.scalingDecision(
                snapshots: busy(pool.target), queue: queue, now: UInt64(check) * second, options: options, pool: &pool)
            guard case .grow(let added) = decision else { return 0 }
            pool.target += added
            return added
        }
    }

    @Test("every worker busy with connections waiting: 1 worker, then doubling at each check, up to the maximum")
    func growthDoublesUpToMaximum() {
        let options = Self.options(min: 2, max: 20)
        var pool = Master.PoolSize(target: 2)
        let added = Self.saturatedChecks(6, queue: 3, options: options, pool: &pool)
        #expect(added == [1, 2, 4, 8, 3, 0])
        #expect(pool.target == 20)
    }

    @Test("growth starts at most 32 workers in one check")
    func growthRateIsCapped() {
        let options = Self.options(min: 1, max: Master.largestPool)
        var pool = Master.PoolSize(target: 1)
        let added = Self.saturatedChecks(8, queue: 100, options: options, pool: &pool)
        #expect(added == [1, 2, 4, 8, 16, 32, 32, 32])
    }

    @Test("every worker busy but nothing waiting in the listen queue: no growth")
    func emptyQueueKeeps() {
        var pool = Master.PoolSize(target: 2)
        let added = Self.saturatedChecks(3, queue: 0, options: Self.options(), pool: &pool)
        #expect(added == [0, 0, 0])
        #expect(pool.target == 2)
    }

    @Test("without a listen queue reading, the pool grows once every worker stayed busy for one check")
    func unknownQueueWaitsOneCheck() {
        var pool = Master.PoolSize(target: 2)
        let added = Self.saturatedChecks(4, queue: nil, options: Self.options(), pool: &pool)
        #expect(added == [0, 1, 2, 3])
    }

    @Test("an idle worker stops growth and resets its rate; a starting one stops growth and keeps the rate")
    func idleAndStartingWorkers() {
        let options = Self.options(min: 2, max: 20)
        var pool = Master.PoolSize(target: 2)
        _ = Self.saturatedChecks(3, queue: 5, options: options, pool: &pool)
        #expect(pool.spawnRate == 8)

        var snapshots = Self.busy(pool.target - 1) + [Self.slot(999, .starting)]
        var decision = Master.scalingDecision(snapshots: snapshots, queue: 5, now: 0, options: options, pool: &pool)
        #expect(decision == .keep)
        #expect(pool.spawnRate == 8)

        snapshots = Self.busy(pool.target - 1) + [Self.slot(999, .idle, started: 0)]
        decision = Master.scalingDecision(
            snapshots: snapshots, queue: 5, now: Self.second, options: options, pool: &pool)
        #expect(decision == .keep)
        #expect(pool.spawnRate == 1)
        #expect(!pool.saturated)
    }

    @Test("the worker idle longest retires once idle past the timeout, and only above the minimum")
    func idleRetirement() {
        let options = Self.options(min: 2, max: 8, idleTimeout: 10)
        var pool = Master.PoolSize(target: 4)
        let snapshots = [
            Self.slot(101, .busy, started: 0),
            // Idle since its request ended at 5 + 3 = 8 s.
            Self.slot(102, .idle, started: 0, requestStart: 5, duration: 3),
            // Never served: idle since it started, at 6 s.
            Self.slot(103, .idle, started: 6),
            // Idle since 20 s.
            Self.slot(104, .idle, started: 1, requestStart: 19, duration: 1),
        ]
        func decide(at seconds: UInt64) -> Master.ScalingDecision {
            Master.scalingDecision(
                snapshots: snapshots, queue: 0, now: seconds * Self.second, options: options, pool: &pool)
        }
        #expect(decide(at: 16) == .keep)
        #expect(decide(at: 17) == .retire(103, idleSeconds: 11))
        #expect(decide(at: 40) == .retire(103, idleSeconds: 34))
        pool.target = 2
        #expect(decide(at: 40) == .keep)
    }

    @Test("reading a request counts as busy; a pool at its maximum does not grow")
    func readingIsBusyAndMaximumHolds() {
        let options = Self.options(min: 1, max: 2)
        var pool = Master.PoolSize(target: 1)
        let reading = [Self.slot(100, .reading)]
        #expect(Master.scalingDecision(snapshots: reading, queue: 1, now: 0, options: options, pool: &pool) == .grow(1))
        pool.target = 2
        let busy = Self.busy(2)
        #expect(Master.scalingDecision(snapshots: busy, queue: 9, now: 0, options: options, pool: &pool) == .keep)
    }

    @Test("a worker is idle since the end of its last request, else since it started")
    func idleSince() {
        #expect(Self.slot(1, .idle, started: 2).idleSince == 2 * Self.second)
        #expect(Self.slot(1, .idle, started: 2, requestStart: 7, duration: 4).idleSince == 11 * Self.second)
    }
}
