// Signal handling shared by the master and the workers.

import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The signals that stop or reload the service, and the worker's shutdown flag.
public enum Signals {
    /// SIGTERM and SIGINT stop gracefully; SIGHUP reloads (master) or retires (worker).
    public static let control: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Blocks the control signals in the calling thread. Called first thing in `main`, so
    /// every thread the process later starts inherits the mask: the master can `sigwait`,
    /// and a worker receives them only where it unblocks them, around the accept.
    public static func blockControlSignals() {
        var set = makeSet(control)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Restores default delivery, for short-lived commands such as `migrate`.
    public static func unblockControlSignals() {
        var set = makeSet(control)
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

    /// The signal that asked this worker to stop, or 0.
    static var shutdownSignal: Int32 { shutdownFlag.load(ordering: .relaxed) }

    /// Installs the worker's handlers (without SA_RESTART, so a blocked accept fails with
    /// EINTR). The handler also closes the listening socket on fd 0: if the signal lands
    /// between the flag check and the accept system call, that accept then fails at once
    /// instead of waiting for one more connection.
    static func installWorkerHandlers() {
        for signal in control {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                Signals.shutdownFlag.store(number, ordering: .relaxed)
                close(0)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
    }

    /// Lets the control signals in on this thread (only while it waits in accept).
    static func openWindow() {
        var set = makeSet(control)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Keeps them pending again while a request is handled: libfcgi's reads and writes
    /// do not retry on EINTR.
    static func closeWindow() {
        var set = makeSet(control)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}
