// The master process: starts N workers on the shared socket, replaces, recycles, stops them.

import HostRegion
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The pool's master, like PHP-FPM's or gunicorn's arbiter.
///
/// It starts `workers` copies of `worker command` with the listening socket as fd 0,
/// replaces any that exit or are killed, and on SIGTERM/SIGINT stops them gracefully
/// (they finish the request in flight) within the grace time, then kills what is left.
/// SIGHUP runs `reloadCheck`, starts a fresh set of workers and retires the old ones once
/// the new ones are ready; SIGUSR2 does the same after `execve`ing the binary on disk in
/// place (see `Master+Reload.swift`). A worker whose resident memory passes `maxWorkerRSS`
/// is retired gracefully and replaced.
/// It runs in one thread (the status server has a thread of its own, which touches none of
/// the master's state): signals are taken synchronously with `sigtimedwait`.
public struct Master {
    public struct Options: Sendable {
        public var workers: Int
        public var maxRequests: Int
        /// Retire a worker whose resident set passes this many MiB (0: never).
        public var maxWorkerRSS: Int
        public var gracefulTimeout: Double
        /// The executable to start workers from, and its arguments.
        public var workerExecutable: String
        public var workerArguments: [String]
        /// Called when a worker ends other than by exiting with status 0 (killed, crashed):
        /// it may have left shared state half told, such as a revocation it committed
        /// without bumping the generation.
        public var onAbnormalExit: (@Sendable () -> Void)?
        /// The host region whose scoreboard the workers write and the master reads (for
        /// timeouts, the slow log, memory and status); nil runs without one.
        public var region: HostRegion?
        /// Seconds a worker may spend on one request (reading it included) before it is
        /// killed and replaced (0: no limit).
        public var requestTimeout: Double = 0
        /// Requests running longer than this many seconds are logged once (0: none).
        public var slowLog: Double = 0
        /// Arguments of `workerExecutable` run before a reload or an upgrade (e.g. `migrate`,
        /// which validates the settings and migrates): a non-zero exit keeps the old workers.
        public var reloadCheck: [String]?
        /// Seconds the check may take before it is killed and the reload abandoned.
        public var reloadCheckTimeout: Double = 60
        /// Seconds new workers get to report ready before the reload gives up on them.
        public var readyTimeout: Double = 30
        /// Arguments of `workerExecutable` that SIGUSR2 `execve`s this process with (nil:
        /// no upgrade).
        public var upgradeArguments: [String]?
        /// Descriptors besides the listening socket that the upgraded image inherits.
        public var inheritedDescriptors: [Int32] = []
        /// The status server's socket (see ``StatusServer``); nil runs without one.
        public var statusListener: Listener?
        /// A dynamic pool (PHP-FPM's pm = dynamic) starts `minWorkers`, grows up to
        /// `maxWorkers` while every worker is busy and retires workers idle longer than
        /// `idleTimeout` seconds; `maxWorkers` 0 keeps the static pool of `workers`.
        public var minWorkers = 0
        public var maxWorkers = 0
        public var idleTimeout: Double = 10
        /// The connections waiting in the listen queue; nil (or a nil answer) when unknown.
        public var listenQueueLength: (@Sendable () -> Int?)?

        public init(
            workers: Int, maxRequests: Int, maxWorkerRSS: Int = 0, gracefulTimeout: Double, workerExecutable: String,
            workerArguments: [String], onAbnormalExit: (@Sendable () -> Void)? = nil, reloadCheck: [String]? = nil,
            upgradeArguments: [String]? = nil, inheritedDescriptors: [Int32] = []
        ) {
            self.workers = workers
            self.maxRequests = maxRequests
            self.maxWorkerRSS = maxWorkerRSS
            self.gracefulTimeout = gracefulTimeout
            self.workerExecutable = workerExecutable
            self.workerArguments = workerArguments
            self.onAbnormalExit = onAbnormalExit
            self.reloadCheck = reloadCheck
            self.upgradeArguments = upgradeArguments
            self.inheritedDescriptors = inheritedDescriptors
        }
    }

    struct WorkerProcess {
        let pid: pid_t
        let startedAt: Double
        var retiring = false
        /// Its slot on the scoreboard.
        var slot = -1
        /// Set when the master killed it for a request over the timeout.
        var timedOut = false
        /// The serial of its last request logged as slow.
        var slowSerial: UInt64 = 0
        /// When the master first saw it stopped (SIGSTOP) while idle; nil while it runs.
        var stoppedSince: Double?
        /// Reported through the readiness pipe that it is about to serve.
        var ready = false
    }

    let listener: Listener
    let options: Options
    let logger: Logger
    var workers: [pid_t: WorkerProcess] = [:]
    var stopping = false
    private var stopDeadline = 0.0
    private var exitStatus: Int32 = 0
    var respawnNotBefore = 0.0
    private var quickFailures = 0
    var nextMemoryCheck = 0.0
    /// Set once the first set of workers has been started: later starts are restarts.
    var filledOnce = false
    var nextResidentUpdate = 0.0
    /// Busy and idle workers and requests per second, for systemd's `STATUS=`.
    var loadSummary = LoadSummary()
    var systemd = Systemd()
    var replacement: Replacement?
    var readiness: (read: Int32, write: Int32) = (-1, -1)
    var pool: PoolSize

    /// How often the workers' resident sets are read: often enough that a worker does not
    /// stay far over the limit for long, and costing the workers nothing (the master reads
    /// `/proc`).
    static let memoryCheckInterval = 1.0

    public init(listener: Listener, options: Options, logger: Logger) {
        self.listener = listener
        self.options = options
        self.logger = logger
        pool = PoolSize(target: options.isDynamic ? options.minWorkers : options.workers)
    }

    /// Runs until stopped; returns the process exit status.
    public mutating func run() -> Int32 {
        var signals = Signals.makeSet(Signals.control + [SIGCHLD, Signals.reopenLogs, SIGUSR2])
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        logger.info(
            "master started",
            metadata: [
                "listen": "\(listener.address)", "workers": "\(options.workers)",
                "max_requests": "\(options.maxRequests)", "max_worker_rss_mib": "\(options.maxWorkerRSS)",
                "graceful_timeout": "\(options.gracefulTimeout)", "timeout": "\(options.requestTimeout)",
                "slow_log": "\(options.slowLog)",
            ])
        readiness = Self.makeReadinessPipe()
        startSystemd()
        adoptWorkersAfterUpgrade()
        let statusServer = startStatusServer()
        fillPool()
        while true {
            var timeout = timespec(tv_sec: 0, tv_nsec: replacement == nil ? 200_000_000 : 20_000_000)
            let signal = sigtimedwait(&signals, nil, &timeout)
            reapChildren()
            switch signal {
            case SIGTERM, SIGINT:
                beginStop(reason: signal == SIGTERM ? "SIGTERM" : "SIGINT")
            case SIGHUP:
                beginReplacement(.reload)
            case SIGUSR2:
                beginReplacement(.upgrade)
            case Signals.reopenLogs:
                reopenLogs()
            case SIGTTIN, SIGTTOU:
                if !stopping { resize(by: signal) }
            default:
                break
            }
            advanceReplacement()
            if stopping {
                if workers.isEmpty { break }
                if Self.now() >= stopDeadline { killRemaining() }
            } else {
                watchScoreboard()
                retireOversizedWorkers()
                scalePool()
                fillPool()
            }
            tendSystemd()
        }
        statusServer?.stop()
        listener.close()
        logger.info("master stopped", metadata: ["status": "\(exitStatus)"])
        return exitStatus
    }

    // MARK: - Workers

    mutating func fillPool() {
        let active = workers.values.filter { !$0.retiring }.count
        guard active < pool.target, Self.now() >= respawnNotBefore else { return }
        for _ in active..<pool.target {
            let slot = prepareSlot()
            guard let pid = spawnWorker(slot: slot) else {
                respawnNotBefore = Self.now() + 1
                return
            }
            workers[pid] = WorkerProcess(pid: pid, startedAt: Self.now(), slot: slot)
            if slot >= 0 { options.region?.scoreboard.setPID(slot, pid) }
            if filledOnce { options.region?.metrics.add(.restarts) }
            logger.info("worker started", metadata: ["worker_pid": "\(pid)", "slot": "\(slot)"])
        }
        filledOnce = true
    }

    /// Retires every worker whose resident set is over the limit: like a reload for that one
    /// worker, it finishes the request in hand and exits, and `fillPool` starts its
    /// replacement at once.
    private mutating func retireOversizedWorkers() {
        guard options.maxWorkerRSS > 0 else { return }
        let now = Self.now()
        guard now >= nextMemoryCheck else { return }
        nextMemoryCheck = now + Self.memoryCheckInterval
        let limit = UInt64(options.maxWorkerRSS) << 20
        for (pid, worker) in workers where !worker.retiring {
            guard let resident = Self.residentBytes(of: pid), resident > limit else { continue }
            workers[pid]?.retiring = true
            logger.warning(
                "worker over the RSS limit, recycling",
                metadata: [
                    "worker_pid": "\(pid)", "rss_mib": "\(resident >> 20)",
                    "max_worker_rss_mib": "\(options.maxWorkerRSS)",
                ])
            kill(pid, SIGTERM)
        }
    }

    /// The resident set of a process in bytes, from `/proc/PID/statm` (its second field, in
    /// pages); nil once the process is gone.
    static func residentBytes(of pid: pid_t) -> UInt64? {
        guard let text = procFile(pid, "statm") else { return nil }
        let fields = text.split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = UInt64(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    func spawnWorker(slot: Int) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, listener.fd, 0)
        // Onto itself: the worker's copy loses close-on-exec.
        if readiness.write >= 0 { posix_spawn_file_actions_adddup2(&actions, readiness.write, readiness.write) }

        var arguments = [options.workerExecutable] + options.workerArguments
        if options.maxRequests > 0 { arguments += ["--max-requests", String(options.maxRequests)] }
        var environment = Self.environment().filter {
            !$0.hasPrefix("LISTEN_") && !$0.hasPrefix("TASKS_API_MASTER_PID=")
                && !$0.hasPrefix(Self.readyDescriptorVariable + "=")
        }
        environment.append("TASKS_API_MASTER_PID=\(getpid())")
        environment = environment.filter { !$0.hasPrefix(Worker.Monitor.slotVariable + "=") }
        if slot >= 0 { environment.append("\(Worker.Monitor.slotVariable)=\(slot)") }
        if readiness.write >= 0 { environment.append("\(Self.readyDescriptorVariable)=\(readiness.write)") }
        prepareSpawnForSystemd(&environment)

        let (pid, result) = Self.spawn(
            options.workerExecutable, arguments: arguments, environment: environment, actions: &actions,
            defaultSignals: [SIGCHLD, SIGPIPE])
        guard result == 0 else {
            logger.error(
                "cannot start worker",
                metadata: [
                    "error": "\(String(cString: strerror(result)))", "executable": "\(options.workerExecutable)",
                ])
            return nil
        }
        return pid
    }

    private mutating func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if reapedCheck(pid, status: status) { continue }
            guard let worker = workers.removeValue(forKey: pid) else { continue }
            if worker.slot >= 0 { options.region?.scoreboard.release(worker.slot) }
            let lived = Self.now() - worker.startedAt
            let exited = (status & 0x7f) == 0
            let code = (status >> 8) & 0xff
            let signal = status & 0x7f
            var metadata: Logger.Metadata = [
                "worker_pid": "\(pid)", "uptime_s": "\(Int(lived))",
            ]
            if exited { metadata["exit_status"] = "\(code)" } else { metadata["signal"] = "\(signal)" }
            if !(exited && code == 0) {
                options.onAbnormalExit?()
                if !exited { options.region?.metrics.add(.workerDeaths) }
            }
            if reapedNewWorkerBeforeReady(worker, metadata: metadata) { continue }
            if stopping || worker.retiring {
                logger.info("worker stopped", metadata: metadata)
                continue
            }
            if exited && code == 0 {
                logger.info("worker recycled, starting a replacement", metadata: metadata)
                quickFailures = 0
                continue
            }
            if exited && code == Worker.bootFailureStatus {
                logger.critical("worker could not start; stopping the pool", metadata: metadata)
                exitStatus = 1
                beginStop(reason: "worker boot failure")
                continue
            }
            if worker.timedOut {
                logger.error("worker killed after a request timeout, starting a replacement", metadata: metadata)
                continue
            }
            logger.error("worker died, starting a replacement", metadata: metadata)
            // A worker that dies right after starting, again and again, is not restarted
            // in a tight loop.
            if lived < 1 {
                quickFailures += 1
                respawnNotBefore = Self.now() + min(Double(1 << min(quickFailures, 4)) * 0.25, 5)
            } else {
                quickFailures = 0
            }
        }
    }

    private mutating func beginStop(reason: String) {
        guard !stopping else { return }
        stopping = true
        stopDeadline = Self.now() + options.gracefulTimeout
        notifyStopping()
        logger.info(
            "stopping: workers finish their requests",
            metadata: ["reason": "\(reason)", "graceful_timeout": "\(options.gracefulTimeout)"])
        for pid in workers.keys { kill(pid, SIGTERM) }
    }

    private mutating func killRemaining() {
        for pid in workers.keys {
            logger.warning("worker did not stop within the grace time; killing it", metadata: ["worker_pid": "\(pid)"])
            kill(pid, SIGKILL)
        }
        // Reaped on the next turn; stop waiting for stragglers after one more second.
        stopDeadline = Self.now() + 1
    }

    // MARK: - Helpers

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func environment() -> [String] {
        var result: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            result.append(String(cString: entry))
            cursor += 1
        }
        return result
    }

    /// The path of the running executable, to start workers from.
    public static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
