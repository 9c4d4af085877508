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
    /// `Worker.reportReady()`). A worker that fails to boot never announces, so systemd does
    /// not report the service started while every request would get a 502.
    struct Systemd {
        var notifier: Notifier?
        /// Seconds between two `WATCHDOG=1`; nil without a watchdog for this process.
        var watchdogInterval: Double?
        var nextWatchdog = 0.0
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
        systemd.reopenPending.formIntersection(workers.keys)
        var state: [String] = []
        if systemd.awaitingReady && !stopping
            && workers.values.contains(where: { $0.ready && !$0.retiring })
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
        workers.values.filter { $0.ready && !$0.retiring }.count
    }

    /// Hands a starting worker the readiness pipe's write end and the environment that
    /// names it, and keeps the service manager's variables from it.
    func prepareSpawnForSystemd(_ environment: inout [String]) {
        environment.removeAll { entry in Notifier.environmentKeys.contains { entry.hasPrefix($0 + "=") } }
    }

    /// SIGUSR1: reopens the master's log file and has every worker reopen its own. A worker
    /// still booting gets the signal once it serves: before, its handler may not be installed
    /// and SIGUSR1 would end it.
    mutating func reopenLogs() {
        let reopened = LogFile.reopen()
        collectReadiness()
        var told = 0
        for pid in workers.keys {
            if workers[pid]?.ready == true {
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
}
