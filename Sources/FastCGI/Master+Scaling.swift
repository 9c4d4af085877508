// The pool's size: growth and idle retirement of a dynamic pool, and SIGTTIN/SIGTTOU.

import HostRegion
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension Master.Options {
    /// Whether the pool grows and shrinks between `minWorkers` and `maxWorkers`.
    public var isDynamic: Bool { maxWorkers > 0 }
}

extension Master {
    /// How many workers the master keeps, and what the next growth does.
    struct PoolSize: Sendable, Equatable {
        /// Workers kept running: `fillPool` starts any that are missing.
        var target: Int
        /// Workers the next growth starts: 1, doubled at each check that grows again.
        var spawnRate = 1
        /// Whether every worker was reading or busy at the last check.
        var saturated = false
        /// When the next scaling check is due (monotonic seconds).
        var nextCheck = 0.0

        init(target: Int) { self.target = target }
    }

    /// What one scaling check decides.
    enum ScalingDecision: Equatable {
        case keep
        /// Start this many workers.
        case grow(Int)
        /// Retire this idle worker, idle for this many seconds.
        case retire(pid_t, idleSeconds: Double)
    }

    /// Seconds between scaling checks: PHP-FPM's maintenance period, so that growth runs at
    /// its pace (1, 2, 4 ... 32 workers a second) and idle workers leave one a second.
    static let scalingInterval = 1.0
    /// The most workers one check starts, as PHP-FPM's spawn rate cap.
    static let largestSpawnRate = 32
    /// The largest pool a master runs: a reload starts the new workers beside the old ones,
    /// and each needs its own scoreboard slot, or scaling cannot see it.
    public static let largestPool = Scoreboard.slotCount / 2

    /// Decides one check of a dynamic pool from the scoreboard's slots of its live
    /// (not retiring) workers, the listen queue (nil when it cannot be read) and `now`
    /// (monotonic ns); updates `pool`'s growth state but not its target.
    ///
    /// It grows when no worker is idle or starting (a starting worker is one on its way)
    /// and connections wait in the listen queue; without a queue reading, when every worker
    /// was already busy at the previous check, a second earlier. Growth starts 1 worker,
    /// then twice as many at each check while the pool stays saturated, at most 32, never
    /// past `maxWorkers`. Otherwise, above `minWorkers`, it retires the worker idle longest
    /// once that one has been idle more than `idleTimeout` seconds.
    static func scalingDecision(
        snapshots: [Scoreboard.Snapshot], queue: Int?, now: UInt64, options: Options, pool: inout PoolSize
    ) -> ScalingDecision {
        let idle = snapshots.filter { $0.state == .idle }
        let starting = snapshots.contains { $0.state == .starting }
        if idle.isEmpty && !starting && !snapshots.isEmpty {
            let waiting = queue.map { $0 > 0 } ?? pool.saturated
            pool.saturated = true
            guard waiting, pool.target < options.maxWorkers else { return .keep }
            let count = min(pool.spawnRate, options.maxWorkers - pool.target)
            pool.spawnRate = min(pool.spawnRate * 2, largestSpawnRate)
            return .grow(count)
        }
        pool.saturated = false
        // Workers still starting are the last growth arriving: the rate stands until they serve.
        guard let longest = idle.min(by: { $0.idleSince < $1.idleSince }) else { return .keep }
        pool.spawnRate = 1
        guard pool.target > options.minWorkers else { return .keep }
        let seconds = now > longest.idleSince ? Double(now - longest.idleSince) / 1e9 : 0
        guard seconds > options.idleTimeout else { return .keep }
        return .retire(longest.pid, idleSeconds: seconds)
    }

    /// One scaling check of a dynamic pool, at most once per ``scalingInterval``.
    mutating func scalePool() {
        guard options.isDynamic, let scoreboard = options.region?.scoreboard else { return }
        let seconds = Self.now()
        guard seconds >= pool.nextCheck else { return }
        if pool.nextCheck == 0 {
            logger.info(
                "dynamic pool",
                metadata: [
                    "min_workers": "\(options.minWorkers)", "max_workers": "\(options.maxWorkers)",
                    "idle_timeout": "\(options.idleTimeout)",
                    "listen_queue": "\(options.listenQueueLength?() == nil ? "unknown" : "read")",
                ])
        }
        pool.nextCheck = seconds + Self.scalingInterval
        let queue = options.listenQueueLength?()
        let decision = Self.scalingDecision(
            snapshots: liveSnapshots(scoreboard), queue: queue, now: Scoreboard.now(), options: options, pool: &pool)
        switch decision {
        case .keep:
            break
        case .grow(let count):
            pool.target += count
            var metadata: Logger.Metadata = ["added": "\(count)", "workers": "\(pool.target)"]
            if let queue { metadata["listen_queue"] = "\(queue)" }
            logger.info("every worker busy, adding workers", metadata: metadata)
            startWorkers(count)
        case .retire(let pid, let idleSeconds):
            pool.target -= 1
            retire(pid)
            logger.info(
                "retiring an idle worker",
                metadata: [
                    "worker_pid": "\(pid)", "idle_s": "\((idleSeconds * 10).rounded() / 10)",
                    "workers": "\(pool.target)",
                ])
        }
    }

    /// SIGTTIN adds a worker, SIGTTOU retires one, as gunicorn's arbiter does: in a static
    /// pool they change its size (never below 1), in a dynamic one they move it within
    /// `minWorkers...maxWorkers`.
    mutating func resize(by signal: Int32) {
        let name = signal == SIGTTIN ? "SIGTTIN" : "SIGTTOU"
        let lowest = options.isDynamic ? options.minWorkers : 1
        let highest = options.isDynamic ? options.maxWorkers : max(Self.largestPool, pool.target)
        if signal == SIGTTIN && pool.target < highest {
            pool.target += 1
            logger.info("\(name): adding a worker", metadata: ["workers": "\(pool.target)"])
            startWorkers(1)
        } else if signal == SIGTTOU && pool.target > lowest {
            pool.target -= 1
            let pid = leastNeededWorker()
            if let pid { retire(pid) }
            logger.info(
                "\(name): retiring a worker",
                metadata: ["workers": "\(pool.target)", "worker_pid": "\(pid.map { "\($0)" } ?? "none")"])
        } else {
            logger.notice(
                "\(name) ignored: the pool is at its \(signal == SIGTTIN ? "largest" : "smallest") size",
                metadata: ["workers": "\(pool.target)"])
        }
    }

    /// The scoreboard's slots of the workers that are not retiring.
    func liveSnapshots(_ scoreboard: Scoreboard) -> [Scoreboard.Snapshot] {
        workers.values.filter { !$0.retiring && $0.slot >= 0 }.compactMap { worker in
            scoreboard.snapshot(worker.slot).flatMap { $0.pid == worker.pid ? $0 : nil }
        }
    }

    /// The worker idle longest, else the oldest: the one whose leaving costs least.
    func leastNeededWorker() -> pid_t? {
        if let scoreboard = options.region?.scoreboard,
            let idle = liveSnapshots(scoreboard).filter({ $0.state == .idle }).min(by: { $0.idleSince < $1.idleSince })
        {
            return idle.pid
        }
        return workers.values.filter { !$0.retiring }.min { $0.startedAt < $1.startedAt }?.pid
    }

    /// Retires a worker gracefully: it finishes the request in hand, hands its kept
    /// connections back to nginx and exits.
    mutating func retire(_ pid: pid_t) {
        guard workers[pid] != nil else { return }
        workers[pid]?.retiring = true
        kill(pid, SIGTERM)
    }

    /// Starts `count` workers beyond those running, for growth: not restarts. One that
    /// cannot start is left to `fillPool`, which retries.
    mutating func startWorkers(_ count: Int) {
        for _ in 0..<count {
            let slot = prepareSlot()
            guard let pid = spawnWorker(slot: slot) else { return }
            workers[pid] = WorkerProcess(pid: pid, startedAt: Self.now(), slot: slot)
            if slot >= 0 { options.region?.scoreboard.setPID(slot, pid) }
            logger.info("worker started", metadata: ["worker_pid": "\(pid)", "slot": "\(slot)"])
        }
    }
}

extension Scoreboard.Snapshot {
    /// When the worker last became idle (monotonic ns): the end of its last request (its
    /// start plus its duration), else its start. A read that ended without a request
    /// leaves the previous duration, so the end is then off by at most one request's length.
    var idleSince: UInt64 { max(startedAt, requestStart &+ lastDuration) }
}
