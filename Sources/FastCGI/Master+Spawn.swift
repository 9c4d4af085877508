// How the master starts processes (workers, the reload check) and reads theirs in /proc.

#if canImport(Glibc)
    import Glibc
#endif

extension Master {
    /// Starts `executable` with `arguments` (its own name first) and `environment`, the
    /// file actions given, an empty signal mask and the control signals plus
    /// `defaultSignals` back at their default actions: what the master blocks or handles
    /// must not stay blocked or handled in a child. The pid, and 0 or the error number.
    static func spawn(
        _ executable: String, arguments: [String], environment: [String],
        actions: inout posix_spawn_file_actions_t, defaultSignals: [Int32]
    ) -> (pid: pid_t, error: Int32) {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = Signals.makeSet(Signals.control + defaultSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let error = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        return (pid, error)
    }

    /// The first bytes of `/proc/PID/NAME` (a `stat` or `statm` line); nil once the process
    /// is gone.
    static func procFile(_ pid: pid_t, _ name: String) -> ArraySlice<UInt8>? {
        let fd = open("/proc/\(pid)/\(name)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return buffer[..<count]
    }
}
