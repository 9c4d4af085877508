// The master's watch over the scoreboard: slots, request timeouts, the slow log, memory.

import HostRegion
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension Master {
    /// A free slot for the next worker, prepared before it starts; -1 without a region (or
    /// with every slot taken, when the worker then runs unwatched).
    mutating func prepareSlot() -> Int {
        guard let scoreboard = options.region?.scoreboard else { return -1 }
        let taken = Set(workers.values.map(\.slot))
        guard let slot = (0..<Scoreboard.slotCount).first(where: { !taken.contains($0) }) else { return -1 }
        scoreboard.assign(slot, pid: 0)
        return slot
    }

    /// Kills the workers whose request has passed the timeout, logs slow requests once, and
    /// publishes each worker's resident set every second. A worker that hangs (stopped,
    /// deadlocked, waiting on a peer that never completes its request) is seen here: the
    /// master does not depend on it to report.
    mutating func watchScoreboard() {
        guard let region = options.region else { return }
        let now = Scoreboard.now()
        for (pid, worker) in workers where worker.slot >= 0 && !worker.timedOut {
            guard let slot = region.scoreboard.snapshot(worker.slot), slot.pid == pid else { continue }
            let elapsed = slot.elapsed(now: now)
            guard elapsed > 0 else { continue }
            if options.requestTimeout > 0 && elapsed > options.requestTimeout {
                workers[pid]?.timedOut = true
                region.metrics.add(.timeouts)
                if slot.retryKey != 0 { region.scoreboard.recordTimedOut(idHash: slot.retryKey) }
                logger.error(
                    "request timed out, killing the worker",
                    metadata: Self.requestMetadata(slot, elapsed: elapsed).merging(
                        ["timeout": "\(options.requestTimeout)"], uniquingKeysWith: { $1 }))
                kill(pid, SIGKILL)
                // A stopped process is killed too, but only once it runs: let it.
                kill(pid, SIGCONT)
            } else if options.slowLog > 0 && elapsed > options.slowLog && worker.slowSerial != slot.serial {
                workers[pid]?.slowSerial = slot.serial
                region.metrics.add(.slowRequests)
                logger.warning("slow request", metadata: Self.requestMetadata(slot, elapsed: elapsed))
            }
        }
        let seconds = Self.now()
        loadSummary.update(region: region, now: seconds)
        guard seconds >= nextResidentUpdate else { return }
        nextResidentUpdate = seconds + Self.memoryCheckInterval
        for worker in workers.values where worker.slot >= 0 {
            guard let resident = Self.residentBytes(of: worker.pid) else { continue }
            region.scoreboard.setResidentBytes(worker.slot, resident)
        }
        killStoppedWorkers(now: seconds)
    }

    /// A worker stopped by SIGSTOP while idle reports nothing, yet nginx may send requests on
    /// the connection it keeps open: as gunicorn's heartbeat does, a worker stopped longer
    /// than the timeout is taken for hung, killed and replaced. One stopped by a debugger
    /// (tracing stop) is left alone.
    mutating func killStoppedWorkers(now: Double) {
        guard options.requestTimeout > 0 else { return }
        for (pid, worker) in workers where !worker.timedOut && !worker.retiring {
            guard Self.processState(of: pid) == "T" else {
                workers[pid]?.stoppedSince = nil
                continue
            }
            guard let since = worker.stoppedSince else {
                workers[pid]?.stoppedSince = now
                continue
            }
            guard now - since > options.requestTimeout else { continue }
            workers[pid]?.timedOut = true
            options.region?.metrics.add(.timeouts)
            logger.error(
                "worker stopped longer than the timeout, killing it",
                metadata: [
                    "worker_pid": "\(pid)", "stopped_s": "\(Int(now - since))",
                    "timeout": "\(options.requestTimeout)",
                ])
            kill(pid, SIGKILL)
            kill(pid, SIGCONT)
        }
    }

    /// The state letter of `/proc/PID/stat` (`R`, `S`, `T` stopped, `t` traced, ...).
    static func processState(of pid: pid_t) -> Character? {
        guard let text = procFile(pid, "stat") else { return nil }
        // "PID (COMMAND) STATE ...": the command may hold spaces and parentheses.
        guard let close = text.lastIndex(of: UInt8(ascii: ")")), close + 2 < text.count else { return nil }
        return Character(UnicodeScalar(text[close + 2]))
    }

    /// Busy and idle workers and the requests per second over the last interval, from the
    /// scoreboard and the host's counters: the `STATUS=` text `systemctl status` shows.
    struct LoadSummary {
        static let interval = 5.0
        var text = ""
        var sampledAt = 0.0
        var requests: UInt64 = 0

        mutating func update(region: HostRegion, now: Double) {
            guard now >= sampledAt + Self.interval else { return }
            let total = region.metrics.rows().reduce(0) { $0 + $1.requests }
            let slots = region.scoreboard.snapshots()
            let busy = slots.filter { $0.state == .busy || $0.state == .reading }.count
            let idle = slots.filter { $0.state == .idle }.count
            var text = "\(busy) busy, \(idle) idle"
            if sampledAt > 0 {
                let rate = Double(total &- requests) / (now - sampledAt)
                text += ", \(Int(rate.rounded())) req/s"
            }
            self.text = text
            sampledAt = now
            requests = total
        }
    }

    /// The fields of a request's log lines: the worker, request id, method, path, elapsed.
    static func requestMetadata(_ slot: Scoreboard.Snapshot, elapsed: Double) -> Logger.Metadata {
        [
            "worker_pid": "\(slot.pid)", "request_id": "\(slot.requestID)",
            "method": "\(slot.method)", "path": "\(slot.path)",
            "state": "\(slot.state.name)", "elapsed_s": "\((elapsed * 1000).rounded() / 1000)",
        ]
    }
}
