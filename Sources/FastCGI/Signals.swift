// Signal handling shared by the master and the workers.

import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The signals that stop or reload the service, and the worker's shutdown flag.
public enum Signals {
    /// SIGTERM and SIGINT stop gracefully; SIGHUP reloads (master) or retires (worker).
    public static let control: [Int32] = [SIGTERM, SIGINT, SIGHUP] + scaling
    /// SIGUSR1 reopens the log file (logrotate); it never stops a process.
    public static let reopenLogs = SIGUSR1
    /// SIGTTIN and SIGTTOU add or remove a worker (master); a worker ignores them, as their
    /// default action would stop it.
    static let scaling: [Int32] = [SIGTTIN, SIGTTOU]

    /// Blocks the control signals and SIGUSR1 in the calling thread. Called first thing in `main`, so
    /// every thread the process later starts inherits the mask: the master can `sigwait`,
    /// and a worker receives them only where it unblocks them, around its `poll`.
    public static func blockControlSignals() {
        var set = makeSet(control + [reopenLogs])
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Restores default delivery, for short-lived commands such as `migrate`.
    public static func unblockControlSignals() {
        var set = makeSet(control + [reopenLogs])
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static func makeSet(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    // MARK: worker shutdown

    private static let shutdownFlag = Atomic<Int32>(0)
    /// The write end of the worker's wake pipe, or -1.
    private static let wakeWriter = Atomic<Int32>(-1)

    /// The signal that asked this worker to stop, or 0.
    static var shutdownSignal: Int32 { shutdownFlag.load(ordering: .relaxed) }

    /// Installs the worker's handlers and returns the read end of a pipe that becomes
    /// readable when one of them ran. The worker polls it with its sockets, so a signal that
    /// lands between its check of ``shutdownSignal`` and its `poll` still wakes it at once.
    /// Handlers are installed without SA_RESTART.
    static func installWorkerHandlers() -> Int32 {
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends {
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
                _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            }
            wakeWriter.store(ends[1], ordering: .relaxed)
        }
        for signal in scaling { Glibc.signal(signal, SIG_IGN) }
        for signal in control where !scaling.contains(signal) {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                Signals.shutdownFlag.store(number, ordering: .relaxed)
                Signals.wakePoll()
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
        installReopenHandler()
        return ends[0]
    }

    /// Writes a byte to the wake pipe, from a signal handler (async-signal-safe).
    static func wakePoll() {
        let writer = wakeWriter.load(ordering: .relaxed)
        if writer >= 0 {
            var byte: UInt8 = 1
            _ = write(writer, &byte, 1)
        }
    }

    /// Empties the wake pipe after a wake-up.
    static func drainWakePipe(_ reader: Int32) {
        var bytes = [UInt8](repeating: 0, count: 16)
        while read(reader, &bytes, bytes.count) > 0 {}
    }

    /// The signal mask for the worker's wait: the calling thread's mask without the control
    /// signals and SIGUSR1. `ppoll` sets it for the wait only, so they interrupt the wait and
    /// never a request: libfcgi's reads and writes do not retry on EINTR.
    static func waitMask() -> sigset_t {
        var mask = sigset_t()
        pthread_sigmask(SIG_BLOCK, nil, &mask)
        for signal in control + [reopenLogs] { sigdelset(&mask, signal) }
        return mask
    }
}

extension Signals {
    private static let reopenFlag = Atomic<Bool>(false)

    /// Whether SIGUSR1 arrived since the last call; clears it.
    static func takeReopenRequest() -> Bool {
        reopenFlag.exchange(false, ordering: .relaxed)
    }

    /// SIGUSR1 wakes the worker's poll like a control signal but only asks for the log
    /// file to be reopened, between requests.
    static func installReopenHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            Signals.reopenFlag.store(true, ordering: .relaxed)
            Signals.wakePoll()
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(reopenLogs, &action, nil)
    }
}
