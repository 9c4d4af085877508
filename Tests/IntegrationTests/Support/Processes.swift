// Process helpers for integration tests: free ports, children of a PID, waiting.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

enum Processes {
    /// Runs `work` on a thread of its own inside `group`. A blocking test client must not wait
    /// for a thread of Dispatch's shared pool: tests running in parallel can hold every one of
    /// them, and a slow request queued there would never be sent.
    static func onOwnThread(group: DispatchGroup, _ work: @escaping @Sendable () -> Void) {
        group.enter()
        Thread {
            work()
            group.leave()
        }.start()
    }

    /// A free TCP port on `address` (bound to port 0, then released).
    static func freePort(address: String = "127.0.0.1") -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr(address)
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// The live (not zombie) children of a process, from /proc.
    static func children(of parent: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = self.stat(pid) else { return nil }
            return stat.ppid == parent && stat.state != "Z" ? pid : nil
        }.sorted()
    }

    /// The whole text of `/proc/PID/<name>`. Its size reads as 0, and `String(contentsOfFile:)`
    /// then returns only the first 4 KiB: a long `maps` loses its end.
    static func procText(_ pid: pid_t, _ name: String) -> String? {
        guard let file = FileHandle(forReadingAtPath: "/proc/\(pid)/\(name)") else { return nil }
        defer { try? file.close() }
        guard let data = try? file.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// State letter and parent PID from /proc/PID/stat.
    static func stat(_ pid: pid_t) -> (state: Character, ppid: pid_t)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 2, let state = fields[0].first, let ppid = pid_t(fields[1]) else { return nil }
        return (state, ppid)
    }

    /// Whether the process is gone or a zombie (it can no longer accept anything).
    static func isDead(_ pid: pid_t) -> Bool {
        guard let stat = stat(pid) else { return true }
        return stat.state == "Z" || stat.state == "X"
    }

    /// Polls `condition` every 20 ms until it holds or `seconds` pass.
    @discardableResult
    static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    static var isRoot: Bool { geteuid() == 0 }

    /// Runs a command to completion; returns its exit status and combined output.
    ///
    /// posix_spawn and waitpid rather than Foundation's Process: daemons the command leaves
    /// behind (spawn-fcgi's workers) inherit descriptors, and Process would wait for them.
    /// Output goes to a file for the same reason.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil
    ) throws -> (
        status: Int32, output: String
    ) {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-run-\(getpid())-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let pid = try spawn(
            executable: executable, arguments: arguments,
            environment: environment ?? ProcessInfo.processInfo.environment,
            fileActions: [
                .open(0, path: "/dev/null", flags: O_RDONLY),
                .open(1, path: outputPath, flags: O_WRONLY | O_CREAT | O_TRUNC),
                .duplicate(1, to: 2),
            ])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, text)
    }

    /// What a spawned child finds on a descriptor, set up in order before it runs.
    enum FileAction {
        /// `path` opened on `descriptor`; a file it creates is the owner's only (0600).
        case open(Int32, path: String, flags: Int32)
        /// A copy of this process's (or an earlier action's) `descriptor` on `target`.
        case duplicate(Int32, to: Int32)
    }

    /// Starts `executable` with `arguments`, exactly `environment`, an empty signal mask and
    /// the descriptors `fileActions` set up (others only where not close-on-exec); returns its
    /// PID for the caller to wait on.
    ///
    /// The mask is cleared because the test runner's threads may block signals, and a child
    /// inherits the mask of the thread that spawns it: a server that should stop on SIGTERM
    /// would ignore it.
    static func spawn(
        executable: String, arguments: [String], environment: [String: String], fileActions: [FileAction]
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for action in fileActions {
            switch action {
            case .open(let descriptor, let path, let flags):
                posix_spawn_file_actions_addopen(&actions, descriptor, path, flags, 0o600)
            case .duplicate(let descriptor, let target):
                posix_spawn_file_actions_adddup2(&actions, descriptor, target)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw HTTPClientError(description: "cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        return pid
    }

    /// Finds an executable on the usual paths.
    static func which(_ name: String) -> String? {
        for folder in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"] {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// Ends what a test started when the test runner ends, however it ends (kill -9 included).
///
/// A watchdog shell holds one end of a socket pair whose other end only the runner holds
/// (close-on-exec, so no server inherits it). When the runner dies the kernel closes its
/// end, the watchdog reads EOF, kills every process group and process still on its list and
/// removes the test's folder. A parent-death signal would not do: it fires when the thread
/// that started the child ends, and tests start servers from a thread pool.
final class Lifeline: @unchecked Sendable {
    private let lock = NSLock()
    private var descriptor: Int32
    private var targets: [String] = []
    private let listPath: String

    /// Starts the watchdog of `directory`, which it removes once the runner is gone.
    init(cleaning directory: URL) throws {
        listPath = directory.appendingPathComponent("lifeline-targets").path
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw HTTPClientError(description: "socketpair: \(String(cString: strerror(errno)))")
        }
        descriptor = ends[0]
        defer { close(ends[1]) }
        // The read loop ends at EOF only, since the runner never writes. The subshell runs in
        // the background so that the runner has no watchdog child left to reap; it ignores
        // the terminal's signals, which would otherwise end it together with the runner.
        let script = """
            (
                trap '' HUP INT
                while read -r _line; do :; done
                if [ -r "$1" ]; then
                    while read -r target; do kill -s KILL -- "$target" 2>/dev/null; done < "$1"
                    tries=0
                    while [ $tries -lt 50 ]; do
                        alive=0
                        while read -r target; do kill -0 -- "$target" 2>/dev/null && alive=1; done < "$1"
                        [ $alive = 0 ] && break
                        tries=$((tries + 1))
                        sleep 0.1
                    done
                fi
                rm -rf -- "$2"
            ) <&3 3<&- >/dev/null 2>&1 &
            """
        // dup2 onto itself would leave close-on-exec set: move it off descriptor 3 first.
        let watched = ends[1] == 3 ? fcntl(ends[1], F_DUPFD_CLOEXEC, 4) : ends[1]
        defer { if watched != ends[1] { close(watched) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, watched, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group: a Ctrl-C to the runner's group does not reach it.
        posix_spawnattr_setpgroup(&attributes, 0)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        let words: [String] = ["/bin/sh", "-c", script, "lifeline", listPath, directory.path]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
        guard spawned == 0 else {
            close(descriptor)
            throw HTTPClientError(description: "cannot start the watchdog: \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Adds a process group (a server started by Foundation's `Process` leads its own).
    func watch(group leader: pid_t) { update { $0.append("-\(leader)") } }

    /// Adds a single process.
    func watch(process pid: pid_t) { update { $0.append("\(pid)") } }

    /// Removes a process group or process that was stopped, so that its number, once reused
    /// by an unrelated process, is never killed.
    func forget(group leader: pid_t) { update { $0.removeAll { $0 == "-\(leader)" } } }
    func forget(process pid: pid_t) { update { $0.removeAll { $0 == "\(pid)" } } }

    /// Closes the runner's end: the watchdog does its work now, as if the runner had died.
    func release() {
        lock.lock()
        defer { lock.unlock() }
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    private func update(_ change: (inout [String]) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        change(&targets)
        let text = targets.map { $0 + "\n" }.joined()
        let temporary = listPath + ".new"
        if FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) {
            rename(temporary, listPath)
        }
    }

    deinit { release() }
}
