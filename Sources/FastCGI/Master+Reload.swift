// Reload (SIGHUP) and binary upgrade (SIGUSR2): check first, start new workers, retire the old ones once the new serve.

import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension Master {
    /// A replacement of every worker in progress, after SIGHUP or SIGUSR2.
    struct Replacement {
        enum Kind: String {
            case reload
            case upgrade
        }

        enum Phase {
            /// The check command runs; its stdout and stderr come through `output`.
            case checking(pid: pid_t, output: Int32, deadline: Double)
            /// New workers are starting; the old ones serve until they are ready.
            case starting(old: Set<pid_t>, deadline: Double)
        }

        let kind: Kind
        var phase: Phase
        /// The tail of the check's output, for the error line.
        var output: [UInt8] = []
    }

    /// Names the write end of the readiness pipe in a worker's environment. A worker writes
    /// its PID there once it is about to serve (``Worker/reportReady()``).
    public static let readyDescriptorVariable = "TASKS_API_READY_FD"
    /// Set by a master image for the one it `execve`s: the listening descriptor it leaves open.
    public static let upgradeListenerVariable = "TASKS_API_UPGRADE_LISTEN_FD"
    /// Set by a master image for the one it `execve`s: the PIDs of the workers it leaves running.
    public static let upgradeWorkersVariable = "TASKS_API_UPGRADE_WORKERS"

    /// Bytes of the check's output kept for its error line.
    static let checkOutputTail = 4096

    /// Whether this process is a master image started by a binary upgrade.
    public static var isUpgrade: Bool { getenv(upgradeListenerVariable) != nil }

    /// The listening socket the previous master image left open across `execve`, or nil when
    /// this process was not started by an upgrade. `address` is what the command line names
    /// (``ListenAddress/systemd`` when it names none); a unix socket file is removed on stop
    /// as if this image had created it.
    public static func inheritedListener(_ address: ListenAddress) throws -> Listener? {
        guard let text = getenv(upgradeListenerVariable).map({ String(cString: $0) }) else { return nil }
        guard let fd = Int32(text), fd >= 0 else {
            throw Listener.Failure("\(upgradeListenerVariable) must name a descriptor, got '\(text)'")
        }
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting != 0 else {
            throw Listener.Failure("the inherited descriptor \(fd) is not a listening socket")
        }
        let peers: PeerPolicy
        do {
            peers = try PeerPolicy.forSocket(fd, webServers: Listener.webServersFromEnvironment)
        } catch {
            throw Listener.Failure("inherited socket: \(error)")
        }
        Listener.setCloseOnExec(fd)
        var ownedFile: (device: UInt64, inode: UInt64)?
        var info = stat()
        if case .unix(let path) = address, lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK {
            ownedFile = (UInt64(info.st_dev), UInt64(info.st_ino))
        }
        return Listener(fd: fd, address: address, peers: peers, ownedFile: ownedFile)
    }

    // MARK: - Readiness

    /// The pipe new workers report readiness on: the read end non-blocking, both ends
    /// close-on-exec (a worker gets its copy of the write end through `posix_spawn`).
    static func makeReadinessPipe() -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return (-1, -1) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        return (ends[0], ends[1])
    }

    /// Marks the workers that reported since the last turn.
    mutating func collectReadiness() {
        guard readiness.read >= 0 else { return }
        var pid: pid_t = 0
        while read(readiness.read, &pid, MemoryLayout<pid_t>.size) == MemoryLayout<pid_t>.size {
            guard workers[pid] != nil else { continue }
            workers[pid]?.ready = true
            // A worker told to reopen its log while it booted is told again now it serves.
            if systemd.reopenPending.remove(pid) != nil { kill(pid, Signals.reopenLogs) }
        }
    }

    // MARK: - Adopting workers after an upgrade

    /// Takes over the workers the previous master image left running: they are this process's
    /// children still, serving, and are retired once the new workers are ready.
    mutating func adoptWorkersAfterUpgrade() {
        guard let text = getenv(Self.upgradeWorkersVariable).map({ String(cString: $0) }) else { return }
        unsetenv(Self.upgradeWorkersVariable)
        unsetenv(Self.upgradeListenerVariable)
        var old: Set<pid_t> = []
        for pid in text.split(separator: ",").compactMap({ pid_t($0) }) {
            // A PID that is not a child of this process (already reaped) is not adopted.
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == 0 else { continue }
            // Its scoreboard slot, which it keeps writing: the region outlived the exec.
            let slot = options.region?.scoreboard.snapshots().first { $0.pid == pid }?.index ?? -1
            workers[pid] = WorkerProcess(pid: pid, startedAt: Self.now(), retiring: true, slot: slot, ready: true)
            old.insert(pid)
        }
        // The workers started next replace the adopted ones: restarts, as on a reload.
        if !old.isEmpty { filledOnce = true }
        logger.info("upgraded in place: starting new workers", metadata: ["adopted_workers": "\(old.count)"])
        replacement = Replacement(
            kind: .upgrade, phase: .starting(old: old, deadline: Self.now() + options.readyTimeout))
    }

    // MARK: - Replacing the workers

    /// SIGHUP or SIGUSR2: runs the check, then replaces the workers (`.reload`) or the
    /// master's image (`.upgrade`).
    mutating func beginReplacement(_ kind: Replacement.Kind) {
        guard !stopping else { return }
        if let replacement {
            logger.warning(
                "\(kind.rawValue) ignored: a \(replacement.kind.rawValue) is in progress",
                metadata: ["signal": "\(kind == .reload ? "SIGHUP" : "SIGUSR2")"])
            return
        }
        if kind == .upgrade && options.upgradeArguments == nil {
            logger.error("upgrade not available: no command line to execute")
            return
        }
        notifyReloading()
        guard let check = options.reloadCheck else {
            proceed(kind)
            return
        }
        logger.info(
            "\(kind == .reload ? "reloading" : "upgrading"): checking the configuration and migrating",
            metadata: ["command": "\(([options.workerExecutable] + check).joined(separator: " "))"])
        guard let (pid, output) = spawnCheck(check) else {
            logger.error("\(kind.rawValue) failed: cannot run the check; the old workers keep serving")
            return
        }
        replacement = Replacement(
            kind: kind, phase: .checking(pid: pid, output: output, deadline: Self.now() + options.reloadCheckTimeout))
    }

    /// Runs `options.workerExecutable` with `arguments` and this process's environment, its
    /// stdout and stderr into a pipe; the PID and the pipe's read end.
    private func spawnCheck(_ arguments: [String]) -> (pid_t, Int32)? {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        defer { close(ends[1]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
        let (pid, result) = Self.spawn(
            options.workerExecutable, arguments: [options.workerExecutable] + arguments,
            environment: Self.environment(), actions: &actions, defaultSignals: [SIGCHLD, SIGPIPE, SIGUSR2])
        guard result == 0 else {
            close(ends[0])
            return nil
        }
        return (pid, ends[0])
    }

    /// One turn of the replacement in progress: the check's output and deadline, the new
    /// workers' readiness and deadline.
    mutating func advanceReplacement() {
        collectReadiness()
        guard var current = replacement else { return }
        switch current.phase {
        case .checking(let pid, let output, let deadline):
            if stopping {
                kill(pid, SIGKILL)
                close(output)
                replacement = nil
                return
            }
            Self.drain(output, into: &current.output)
            replacement = current
            if Self.now() >= deadline {
                kill(pid, SIGKILL)
                close(output)
                replacement = nil
                logger.error(
                    "\(current.kind.rawValue) failed: the check did not finish in time; the old workers keep serving",
                    metadata: ["timeout_s": "\(options.reloadCheckTimeout)"])
            }
        case .starting(let old, let deadline):
            if stopping {
                replacement = nil
                return
            }
            let new = workers.values.filter { !$0.retiring }
            let ready = new.filter(\.ready).count
            if ready >= options.workers && ready == new.count {
                retire(old, kind: current.kind, ready: ready)
            } else if Self.now() >= deadline {
                if ready > 0 {
                    logger.warning(
                        "\(current.kind.rawValue): not every new worker is ready in time; retiring the old ones anyway",
                        metadata: ["ready": "\(ready)", "ready_timeout_s": "\(options.readyTimeout)"])
                    retire(old, kind: current.kind, ready: ready)
                } else {
                    failStarting(
                        reason: "no new worker became ready in time",
                        metadata: ["ready_timeout_s": "\(options.readyTimeout)"])
                }
            }
        }
    }

    /// Called for each reaped child before it is looked up among the workers: true when it
    /// was the check, whose outcome decides what comes next.
    mutating func reapedCheck(_ pid: pid_t, status: Int32) -> Bool {
        guard var current = replacement, case .checking(let checkPID, let output, _) = current.phase,
            checkPID == pid
        else { return false }
        Self.drain(output, into: &current.output)
        close(output)
        replacement = nil
        if (status & 0x7f) == 0 && (status >> 8) & 0xff == 0 {
            logger.info("\(current.kind.rawValue): check passed")
            proceed(current.kind)
            return true
        }
        let lines = String(decoding: current.output, as: UTF8.self).split(whereSeparator: \.isNewline)
        var metadata: Logger.Metadata = ["error": "\(Self.message(ofLogLine: lines.last.map(String.init) ?? ""))"]
        if (status & 0x7f) == 0 {
            metadata["exit_status"] = "\((status >> 8) & 0xff)"
        } else {
            metadata["signal"] = "\(status & 0x7f)"
        }
        logger.error(
            "\(current.kind.rawValue) failed: the check refused the configuration; the old workers keep serving",
            metadata: metadata)
        return true
    }

    /// Called for each reaped worker: true when it was a new worker that ended before it was
    /// ready, which ends the replacement in progress and keeps the old workers.
    mutating func reapedNewWorkerBeforeReady(_ worker: WorkerProcess, metadata: Logger.Metadata) -> Bool {
        guard let replacement, case .starting = replacement.phase, !worker.retiring, !worker.ready else {
            return false
        }
        failStarting(reason: "a new worker ended before it was ready", metadata: metadata)
        return true
    }

    private mutating func proceed(_ kind: Replacement.Kind) {
        switch kind {
        case .reload:
            let old = Set(workers.keys)
            for pid in old { workers[pid]?.retiring = true }
            replacement = Replacement(
                kind: .reload, phase: .starting(old: old, deadline: Self.now() + options.readyTimeout))
            respawnNotBefore = 0
            logger.info("reloading: starting new workers; the old ones serve until they are ready")
            fillPool()
        case .upgrade:
            executeUpgrade()
        }
    }

    /// SIGTERMs the old workers: the new ones are serving.
    private mutating func retire(_ old: Set<pid_t>, kind: Replacement.Kind, ready: Int) {
        replacement = nil
        let alive = old.filter { workers[$0] != nil }
        logger.info(
            "\(kind.rawValue) complete: new workers ready, retiring the old ones",
            metadata: ["ready": "\(ready)", "retiring": "\(alive.count)"])
        for pid in alive { kill(pid, SIGTERM) }
    }

    /// Ends the new workers and keeps the old ones, which were never signalled.
    private mutating func failStarting(reason: String, metadata: Logger.Metadata) {
        guard let current = replacement, case .starting(let old, _) = current.phase else { return }
        replacement = nil
        for (pid, worker) in workers where !old.contains(pid) && !worker.retiring {
            workers[pid]?.retiring = true
            // One that never reported has served nothing; one that did finishes its request.
            kill(pid, worker.ready ? SIGTERM : SIGKILL)
        }
        for pid in old where workers[pid] != nil { workers[pid]?.retiring = false }
        var fields = metadata
        fields["reason"] = "\(reason)"
        logger.error(
            "\(current.kind.rawValue) failed: the new workers did not start; the old workers keep serving",
            metadata: fields)
    }

    /// Replaces this process's image with the executable on disk, keeping its PID, its
    /// children, the listening socket and the inherited descriptors. Returns only on failure.
    private mutating func executeUpgrade() {
        guard let arguments = options.upgradeArguments else { return }
        let kept = [listener.fd] + options.inheritedDescriptors
        let flags = kept.map { fcntl($0, F_GETFD) }
        for (fd, flag) in zip(kept, flags) where flag >= 0 { _ = fcntl(fd, F_SETFD, flag & ~FD_CLOEXEC) }
        let pids = workers.keys.sorted().map(String.init).joined(separator: ",")
        var environment = Self.environment().filter {
            !$0.hasPrefix(Self.upgradeListenerVariable + "=") && !$0.hasPrefix(Self.upgradeWorkersVariable + "=")
        }
        environment.append("\(Self.upgradeListenerVariable)=\(listener.fd)")
        environment.append("\(Self.upgradeWorkersVariable)=\(pids)")
        logger.info(
            "upgrade: executing the binary on disk in place",
            metadata: ["executable": "\(options.workerExecutable)", "workers": "\(workers.count)"])
        let argv = ([options.workerExecutable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        execve(options.workerExecutable, argv, envp)
        let code = errno
        argv.forEach { free($0) }
        envp.forEach { free($0) }
        for (fd, flag) in zip(kept, flags) where flag >= 0 { _ = fcntl(fd, F_SETFD, flag) }
        logger.error(
            "upgrade failed: cannot execute the binary; the master and its workers keep running",
            metadata: ["error": "\(String(cString: strerror(code)))", "executable": "\(options.workerExecutable)"])
    }

    /// The `msg` field of a logfmt line (the check logs its failure as one), else the line:
    /// so the master's error line does not nest another whole line.
    static func message(ofLogLine line: String) -> String {
        guard let start = line.range(of: " msg=\"")?.upperBound else { return line }
        var message = ""
        var escaped = false
        for character in line[start...] {
            if escaped {
                // The handler's escapes, undone: the master's handler applies them again.
                switch character {
                case "n": message.append("\n")
                case "r": message.append("\r")
                case "t": message.append("\t")
                default: message.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                return message
            } else {
                message.append(character)
            }
        }
        return line
    }

    /// Reads what `fd` has now, keeping the last ``checkOutputTail`` bytes.
    private static func drain(_ fd: Int32, into output: inout [UInt8]) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return }
            output.append(contentsOf: buffer[..<count])
            if output.count > checkOutputTail { output.removeFirst(output.count - checkOutputTail) }
        }
    }
}
