// The master under systemd: readiness, status, reload and stop notifications, the watchdog, log reopening.

import Flagon
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension Master {
    /// What the master tells the service manager, and what it knows of its workers' readiness.
    ///
    /// READY=1 means a worker serves, not merely that one was started: a worker announces
    /// itself on the readiness pipe once its application is built and its signal handlers
    /// are in place, right before its first `poll` on the listening socket (see
    /// ``WorkerReadiness``). A worker that fails to boot never announces, so systemd does
    /// not report the service started while every request would get a 502.
    struct Systemd {
        var notifier: Notifier?
        /// Seconds between two `WATCHDOG=1`; nil without a watchdog for this process.
        var watchdogInterval: Double?
        var nextWatchdog = 0.0
        var readinessReader: Int32 = -1
        var readinessWriter: Int32 = -1
        /// Workers that announced they serve.
        var ready: Set<pid_t> = []
        /// READY=1 is owed: from the start, and from a reload, until a current worker serves.
        var awaitingReady = true
        /// The last STATUS= sent, so that an unchanged state is not sent again.
        var status = ""
        /// Workers still booting when SIGUSR1 came: they may have opened their log file
        /// before it was renamed, and are told to reopen it once they serve.
        var reopenPending: Set<pid_t> = []
    }

    /// Reads `NOTIFY_SOCKET` and the watchdog's variables, and opens the readiness pipe.
    /// Called once before the first worker starts.
    mutating func startSystemd() {
        let environment = Self.environment()
        func value(_ key: String) -> String? {
            environment.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }
        systemd.notifier = Notifier(socket: value("NOTIFY_SOCKET"))
        if systemd.notifier != nil {
            systemd.watchdogInterval = Notifier.watchdogInterval(
                usec: value("WATCHDOG_USEC"), pid: value("WATCHDOG_PID"), ownPID: getpid())
        }
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
            systemd.readinessReader = ends[0]
            systemd.readinessWriter = ends[1]
        }
        if let notifier = systemd.notifier {
            logger.info(
                "notifying systemd",
                metadata: [
                    "notify_socket": "\(notifier.socketName)",
                    "watchdog_interval_s": "\(systemd.watchdogInterval.map { "\($0)" } ?? "off")",
                ])
        }
        tendSystemd()
    }

    /// One turn of the master's loop: collects announcements, owes READY=1 until a current
    /// worker serves, keeps STATUS= up to date and feeds the watchdog.
    mutating func tendSystemd() {
        collectReadiness()
        systemd.ready.formIntersection(workers.keys)
        systemd.reopenPending.formIntersection(workers.keys)
        var state: [String] = []
        if systemd.awaitingReady && !stopping
            && systemd.ready.contains(where: { workers[$0]?.retiring == false })
        {
            systemd.awaitingReady = false
            state.append("READY=1")
            logger.info("serving", metadata: ["workers_serving": "\(currentServing)"])
        }
        let status = statusLine()
        if status != systemd.status {
            systemd.status = status
            state.append("STATUS=" + status)
        }
        let now = Self.now()
        if let interval = systemd.watchdogInterval, now >= systemd.nextWatchdog {
            systemd.nextWatchdog = now + interval
            state.append("WATCHDOG=1")
        }
        if !state.isEmpty { systemd.notifier?.send(state.joined(separator: "\n")) }
    }

    /// Sends free-form `STATUS=` text, as `systemctl status` shows it.
    func notifyStatus(_ text: String) {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        systemd.notifier?.send("STATUS=" + line)
    }

    /// SIGHUP: systemd shows the service reloading until the new workers serve.
    mutating func notifyReloading() {
        systemd.awaitingReady = true
        systemd.notifier?.send("RELOADING=1\nMONOTONIC_USEC=\(Notifier.monotonicMicroseconds())")
    }

    /// SIGTERM or SIGINT, or a stop the master decided itself.
    mutating func notifyStopping() {
        systemd.status = "stopping: \(workers.count) workers finishing their requests"
        systemd.notifier?.send("STOPPING=1\nSTATUS=" + systemd.status)
    }

    /// The `STATUS=` text of the pool's state.
    func statusLine() -> String {
        if stopping { return "stopping: \(workers.count) workers finishing their requests" }
        var text = "\(currentServing) of \(options.workers) workers serving"
        let retiring = workers.values.filter(\.retiring).count
        if retiring > 0 { text += ", \(retiring) retiring" }
        if !loadSummary.text.isEmpty { text += "; " + loadSummary.text }
        return text
    }

    /// Workers of the current set (not retiring) that announced they serve.
    var currentServing: Int {
        systemd.ready.filter { workers[$0]?.retiring == false }.count
    }

    /// Hands a starting worker the readiness pipe's write end and the environment that
    /// names it, and keeps the service manager's variables from it.
    func prepareSpawnForSystemd(_ actions: inout posix_spawn_file_actions_t, _ environment: inout [String]) {
        environment.removeAll { entry in
            entry.hasPrefix(WorkerReadiness.environmentKey + "=")
                || Notifier.environmentKeys.contains { entry.hasPrefix($0 + "=") }
        }
        guard systemd.readinessWriter >= 0 else { return }
        // Onto itself: glibc (2.29 and later) then clears close-on-exec in the child only.
        posix_spawn_file_actions_adddup2(&actions, systemd.readinessWriter, systemd.readinessWriter)
        environment.append("\(WorkerReadiness.environmentKey)=\(systemd.readinessWriter)")
    }

    /// SIGUSR1: reopens the master's log file and has every worker reopen its own. A worker
    /// still booting gets the signal once it serves: before, its handler may not be installed
    /// and SIGUSR1 would end it.
    mutating func reopenLogs() {
        let reopened = LogFile.reopen()
        collectReadiness()
        var told = 0
        for pid in workers.keys {
            if systemd.ready.contains(pid) {
                kill(pid, Signals.reopenLogs)
                told += 1
            } else {
                systemd.reopenPending.insert(pid)
            }
        }
        logger.info(
            "reopening log files",
            metadata: [
                "log_file": "\(LogFile.currentPath ?? "none")", "reopened": "\(reopened)",
                "workers_told": "\(told)", "workers_booting": "\(systemd.reopenPending.count)",
            ])
    }

    /// Reads the pids workers wrote on the readiness pipe.
    mutating func collectReadiness() {
        guard systemd.readinessReader >= 0 else { return }
        var buffer = [pid_t](repeating: 0, count: 64)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(systemd.readinessReader, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            // Each announcement is one write(2) of 4 bytes, which a pipe never splits.
            for pid in buffer[..<(count / MemoryLayout<pid_t>.size)] where workers[pid] != nil {
                systemd.ready.insert(pid)
                if systemd.reopenPending.remove(pid) != nil { kill(pid, Signals.reopenLogs) }
            }
        }
    }
}

/// A worker's side of the readiness pipe: started by the master, it writes its pid there
/// once it is about to serve.
public enum WorkerReadiness {
    /// The variable that carries the pipe's descriptor number to the worker.
    static let environmentKey = "TASKS_API_READY_FD"

    /// Announces that this worker serves; does nothing outside a master's pool (spawn-fcgi,
    /// systemd socket units, tests) or when called again.
    public static func announce() {
        guard let text = getenv(environmentKey).map({ String(cString: $0) }) else { return }
        unsetenv(environmentKey)
        guard let fd = Int32(text), fd > 2 else { return }
        // Only ever the master's pipe: a descriptor number left in the environment by
        // anything else is not written to.
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else { return }
        var pid = getpid()
        _ = write(fd, &pid, MemoryLayout<pid_t>.size)
        close(fd)
    }
}
