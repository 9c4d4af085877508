// Reload (SIGHUP) and binary upgrade (SIGUSR2) under continuous load through nginx: checked first, no request lost.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Reload and upgrade", .serialized)
struct ReloadTests {
    /// A copy of `tasks-api` in a folder of its own, which a test replaces as a deployment
    /// replaces the installed binary: a new file renamed over it, so the running image keeps
    /// its own.
    final class BinaryCopy {
        let folder: URL
        let path: String

        init() throws {
            folder = FileManager.default.temporaryDirectory
                .appendingPathComponent("tasks-api-bin-\(getpid())-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            chmod(folder.path, 0o755)
            path = folder.appendingPathComponent("tasks-api").path
            try install(contentsOf: Paths.binary)
        }

        /// Puts a copy of the file at `source` in place.
        ///
        /// Copied by `cp`, in a process of its own: a descriptor open for writing in this
        /// process could leak into a server another test starts meanwhile, and the kernel
        /// refuses to execute a file open for writing anywhere (ETXTBSY).
        func install(contentsOf source: String) throws {
            let staged = path + ".new"
            let copied = try Processes.run("/bin/cp", [source, staged])
            guard copied.status == 0 else { throw HTTPClientError(description: "cp: \(copied.output)") }
            try place(staged)
        }

        /// Puts a shell script in place, written through a close-on-exec descriptor (see above).
        func install(script: String) throws {
            let staged = path + ".new"
            let fd = open(staged, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o700)
            guard fd >= 0 else {
                throw HTTPClientError(description: "open \(staged): \(String(cString: strerror(errno)))")
            }
            let bytes = Array(script.utf8)
            let written = write(fd, bytes, bytes.count)
            close(fd)
            guard written == bytes.count else { throw HTTPClientError(description: "short write to \(staged)") }
            try place(staged)
        }

        private func place(_ staged: String) throws {
            chmod(staged, 0o755)
            guard rename(staged, path) == 0 else {
                throw HTTPClientError(description: "rename \(staged): \(String(cString: strerror(errno)))")
            }
        }

        deinit { try? FileManager.default.removeItem(at: folder) }
    }

    /// GET and POST load together: hello requests and task creations.
    struct MixedLoad {
        let gets: KeptConnectionTests.Load
        let posts: KeptConnectionTests.Load

        init(_ service: LiveService, token: String) {
            gets = KeptConnectionTests.Load(service, token: nil, clients: 3)
            posts = KeptConnectionTests.Load(service, token: token, clients: 2)
        }

        /// Waits until `more` requests of each kind were answered after now.
        func advance(by more: Int) -> Bool {
            gets.waitFor(gets.statuses.all.count + more) && posts.waitFor(posts.statuses.all.count + more)
        }

        func stop() {
            posts.stop()
            gets.stop()
        }

        /// Stops the load; how many requests were sent and how many failed, printed for the record.
        func finish(_ label: String) -> (total: Int, failed: Int) {
            stop()
            let failedGets = gets.statuses.all.filter { $0 != 200 }
            let failedPosts = posts.statuses.all.filter { $0 != 201 }
            let total = gets.statuses.all.count + posts.statuses.all.count
            let failed = failedGets.count + failedPosts.count
            print(
                "\(label): \(total) requests under load (\(gets.statuses.all.count) GET, "
                    + "\(posts.statuses.all.count) POST), \(failed) failed"
                    + (failed > 0 ? " (statuses \(Set(failedGets + failedPosts)))" : ""))
            return (total, failed)
        }
    }

    /// The index of the first log line holding every fragment and, if given, the whole
    /// `key=value` field, or nil.
    static func lineIndex(_ log: String, _ fragments: [String], field: String? = nil) -> Int? {
        log.split(separator: "\n").firstIndex { line in
            fragments.allSatisfy { line.contains($0) }
                && (field.map { field in line.split(separator: " ").contains { $0 == field } } ?? true)
        }
    }

    /// Waits until every worker of `service` is new (none in `before`) and there are `count`.
    static func waitForNewWorkers(_ service: LiveService, replacing before: Set<pid_t>, count: Int) -> Bool {
        Processes.waitUntil(seconds: 30) {
            let now = Set(service.workerPIDs())
            return now.count == count && now.isDisjoint(with: before)
        }
    }

    /// The target of a process's descriptor as the kernel names it (`socket:[inode]`, a path).
    static func descriptorTarget(_ pid: pid_t, _ fd: Int32) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? ""
    }

    /// The inode behind a process's descriptor (the host region's memfd).
    static func descriptorInode(_ pid: pid_t, _ fd: Int32) -> UInt64? {
        var info = stat()
        guard stat("/proc/\(pid)/fd/\(fd)", &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    /// A variable of a process's environment.
    static func environmentValue(_ pid: pid_t, _ name: String) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        let prefix = name + "="
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            .first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    static func executable(of pid: pid_t) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
    }

    @Test("SIGHUP under load: check, new workers ready, then the old ones retire; no request fails")
    func reloadUnderLoad() throws {
        let service = try LiveService.start(.master(workers: 3, arguments: []), environment: AccountsTests.environment)
        defer { service.stop() }
        let token = try TasksTests.token(service, "rita")
        let load = MixedLoad(service, token: token)
        defer { load.stop() }
        #expect(load.advance(by: 20))
        let before = Set(service.workerPIDs())
        service.signalMaster(SIGHUP)
        #expect(service.waitForLogLine(containing: ["reload complete"], seconds: 60) != nil, "log:\n\(service.log())")
        #expect(Self.waitForNewWorkers(service, replacing: before, count: 3))
        #expect(load.advance(by: 50))
        let (total, failed) = load.finish("reload")
        #expect(total > 100)
        #expect(failed == 0)
        let listed = try TasksTests.list(service, token: token)
        #expect(Set(listed.compactMap { $0["id"] as? Int }) == Set(load.posts.ids.all))

        // In order: the check, the new workers, then the old ones retire and stop.
        let stoppedLogged = Processes.waitUntil(seconds: 20) {
            let log = service.log()
            return before.allSatisfy { Self.lineIndex(log, ["worker stopped"], field: "worker_pid=\($0)") != nil }
        }
        #expect(stoppedLogged)
        let log = service.log()
        let checking = Self.lineIndex(log, ["reloading: checking the configuration and migrating"])
        let passed = Self.lineIndex(log, ["reload: check passed"])
        let starting = Self.lineIndex(log, ["reloading: starting new workers"])
        let complete = Self.lineIndex(log, ["reload complete", "ready=3", "retiring=3"])
        let firstOldStopped = before.compactMap { Self.lineIndex(log, ["worker stopped"], field: "worker_pid=\($0)") }
            .min()
        #expect(checking != nil && passed != nil && starting != nil && complete != nil, "log:\n\(log)")
        if let checking, let passed, let starting, let complete, let firstOldStopped {
            #expect(checking < passed && passed < starting && starting < complete && complete < firstOldStopped)
        }
        #expect(!log.contains("level=error"), "\(log.split(separator: "\n").filter { $0.contains("level=error") })")
    }

    @Test("SIGHUP with a broken config.json: the check fails, nothing changes, no request fails")
    func reloadWithBrokenConfiguration() throws {
        let service = try LiveService.start(.master(workers: 3, arguments: []), environment: AccountsTests.environment)
        defer { service.stop() }
        let token = try TasksTests.token(service, "bruno")
        let load = MixedLoad(service, token: token)
        defer { load.stop() }
        #expect(load.advance(by: 20))
        let before = Set(service.workerPIDs())

        // The operator's edit breaks the instance file; the running workers read it at start
        // only, the check reads it now.
        let instance = try #require(service.environment["INSTANCE_PATH"])
        let configFile = instance + "/config.json"
        try #"{"MAX_CONTENT_LENGTH": 1048576,"#.write(toFile: configFile, atomically: true, encoding: .utf8)
        service.signalMaster(SIGHUP)
        let failure = try #require(
            service.waitForLogLine(containing: ["reload failed: the check refused the configuration"], seconds: 60),
            "log:\n\(service.log())")
        #expect(failure.contains("level=error"))
        #expect(failure.contains("config.json"), "\(failure)")
        #expect(failure.contains("exit_status=1"), "\(failure)")
        #expect(load.advance(by: 50))
        // The same workers serve: none was started or stopped.
        #expect(Set(service.workerPIDs()) == before)
        #expect(!service.log().contains("reloading: starting new workers"))
        #expect(service.master?.isRunning == true)

        // Once the file is fixed, the next reload goes through.
        try FileManager.default.removeItem(atPath: configFile)
        service.signalMaster(SIGHUP)
        #expect(service.waitForLogLine(containing: ["reload complete"], seconds: 60) != nil, "log:\n\(service.log())")
        #expect(Self.waitForNewWorkers(service, replacing: before, count: 3))
        #expect(load.advance(by: 20))
        let (total, failed) = load.finish("reload with a broken configuration, then a fixed one")
        #expect(total > 100)
        #expect(failed == 0)
    }

    @Test("new workers that fail to boot after an additive migration: the old ones serve beside the new schema")
    func oldWorkersServeAfterMigration() throws {
        let sqlite = try #require(Processes.which("sqlite3"), "sqlite3 is needed: scripts/install-deps test")
        let binary = try BinaryCopy()
        var environment = AccountsTests.environment
        environment["TESTING"] = "true"
        let service = try LiveService.start(
            .master(workers: 3, arguments: []), environment: environment, binary: binary.path)
        defer { service.stop() }
        let token = try TasksTests.token(service, "mina")
        let load = MixedLoad(service, token: token)
        defer { load.stop() }
        #expect(load.advance(by: 20))
        let before = Set(service.workerPIDs())

        // The next release, as far as this test needs one: its `migrate` adds a column and a
        // table (additive, as a migration within a release must be), and its workers cannot
        // start.
        let database = try #require(service.environment["INSTANCE_PATH"]) + "/app.sqlite"
        try binary.install(
            script: """
                #!/bin/sh
                case "$1" in
                migrate)
                    '\(Paths.binary)' "$@" || exit $?
                    exec '\(sqlite)' -cmd '.timeout 10000' '\(database)' "
                        ALTER TABLE tasks ADD COLUMN reload_note TEXT NOT NULL DEFAULT '';
                        CREATE TABLE reload_extra (id INTEGER PRIMARY KEY);" ;;
                worker)
                    echo 'level=critical msg="cannot start: this release cannot boot"' >&2
                    exit 3 ;;
                esac
                exec '\(Paths.binary)' "$@"
                """)
        service.signalMaster(SIGHUP)
        let failure = try #require(
            service.waitForLogLine(containing: ["reload failed: the new workers did not start"], seconds: 60),
            "log:\n\(service.log())")
        #expect(failure.contains("exit_status=3"), "\(failure)")
        #expect(service.log().contains("reload: check passed"))
        let schema = try Processes.run(sqlite, [database, "PRAGMA table_info(tasks)"])
        #expect(schema.output.contains("reload_note"), "\(schema.output)")

        // The old workers serve reads and writes on the migrated schema, and the pool runs on.
        #expect(load.advance(by: 50))
        #expect(Set(service.workerPIDs()) == before)
        #expect(service.master?.isRunning == true)
        let created = try AccountsTests.post(service, "/api/tasks", ["title": "after the migration"], token: token)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json?["id"] as? Int)
        let auth = [("Authorization", "Bearer \(token)")]
        let fetched = try service.client.get("/api/tasks/\(id)", headers: auth)
        #expect(fetched.status == 200)
        #expect(fetched.json?["title"] as? String == "after the migration")
        let etag = try #require(fetched.header("ETag"))
        let patched = try service.client.send(
            "PATCH", "/api/tasks/\(id)", headers: auth + [("Content-Type", "application/json"), ("If-Match", etag)],
            body: AccountsTests.json(["completed": true]))
        #expect(patched.status == 200, "\(patched.text)")
        #expect(patched.json?["completed"] as? Bool == true)

        // The fixed release then replaces them, on the same schema.
        try binary.install(contentsOf: Paths.binary)
        service.signalMaster(SIGHUP)
        #expect(service.waitForLogLine(containing: ["reload complete"], seconds: 60) != nil, "log:\n\(service.log())")
        #expect(Self.waitForNewWorkers(service, replacing: before, count: 3))
        #expect(load.advance(by: 20))
        let (total, failed) = load.finish("reload whose workers fail to boot, then a good one")
        #expect(total > 100)
        #expect(failed == 0)
        let listed = try TasksTests.list(service, token: token)
        #expect(Set(listed.compactMap { $0["id"] as? Int }) == Set(load.posts.ids.all + [id]))
    }

    @Test("SIGUSR2 under load: the master executes the new binary in place; socket, region and PID kept")
    func upgradeUnderLoad() throws {
        let binary = try BinaryCopy()
        let service = try LiveService.start(
            .master(workers: 3, arguments: []), environment: AccountsTests.environment, binary: binary.path)
        defer { service.stop() }
        let master = try #require(service.master?.processIdentifier)
        let token = try TasksTests.token(service, "ugo")
        let load = MixedLoad(service, token: token)
        defer { load.stop() }
        #expect(load.advance(by: 20))
        let before = Set(service.workerPIDs())
        let oldWorker = try #require(before.first)
        let regionFD = try #require(Self.environmentValue(oldWorker, "TASKS_API_HOST_REGION_FD").flatMap(Int32.init))
        let region = Self.descriptorInode(oldWorker, regionFD)
        let socket = Self.descriptorTarget(oldWorker, 0)
        #expect(region != nil && socket.hasPrefix("socket:"))

        try binary.install(contentsOf: Paths.binary)
        #expect(Self.executable(of: master).hasSuffix(" (deleted)"), "the master runs the replaced file")
        service.signalMaster(SIGUSR2)
        #expect(service.waitForLogLine(containing: ["upgrade complete"], seconds: 60) != nil, "log:\n\(service.log())")
        #expect(Self.waitForNewWorkers(service, replacing: before, count: 3))
        #expect(load.advance(by: 50))
        let (total, failed) = load.finish("upgrade")
        #expect(total > 100)
        #expect(failed == 0)

        // The same process runs the file now on disk, and took over the old workers.
        #expect(service.master?.isRunning == true)
        #expect(Self.executable(of: master) == binary.path)
        let log = service.log()
        #expect(log.contains("upgraded in place: starting new workers"))
        #expect(log.contains("adopted_workers=3"))
        #expect(Self.lineIndex(log, ["upgrading: checking the configuration and migrating"]) != nil)
        // New workers share the old listening socket and host region.
        let newWorker = try #require(service.workerPIDs().first)
        #expect(Self.descriptorTarget(newWorker, 0) == socket)
        let newRegionFD = Self.environmentValue(newWorker, "TASKS_API_HOST_REGION_FD").flatMap(Int32.init)
        #expect(newRegionFD.flatMap { Self.descriptorInode(newWorker, $0) } == region)
        #expect(!log.contains("level=error"), "\(log.split(separator: "\n").filter { $0.contains("level=error") })")

        // The upgraded master stops as the first one would, and removes the socket file.
        service.signalMaster(SIGTERM)
        #expect(service.waitForMaster(seconds: 30) == 0)
        #expect(!FileManager.default.fileExists(atPath: service.socketPath))
    }

    @Test("SIGUSR2 whose execve fails: logged, and the master and its workers keep serving")
    func failedUpgradeKeepsRunning() throws {
        let binary = try BinaryCopy()
        let service = try LiveService.start(
            .master(workers: 2, arguments: []), environment: AccountsTests.environment, binary: binary.path)
        defer { service.stop() }
        let token = try TasksTests.token(service, "fay")
        let load = MixedLoad(service, token: token)
        defer { load.stop() }
        #expect(load.advance(by: 20))
        let before = Set(service.workerPIDs())

        // A release whose check passes but that cannot be executed afterwards.
        try binary.install(
            script: """
                #!/bin/sh
                '\(Paths.binary)' "$@" || exit $?
                [ "$1" = migrate ] && chmod a-x "$0"
                exit 0
                """)
        service.signalMaster(SIGUSR2)
        let failure = try #require(
            service.waitForLogLine(containing: ["upgrade failed: cannot execute the binary"], seconds: 60),
            "log:\n\(service.log())")
        #expect(failure.contains("level=error"))
        #expect(failure.contains("Permission denied"), "\(failure)")
        #expect(load.advance(by: 50))
        #expect(service.master?.isRunning == true)
        #expect(Set(service.workerPIDs()) == before)

        // The same master still reloads, from a good binary.
        try binary.install(contentsOf: Paths.binary)
        service.signalMaster(SIGHUP)
        #expect(service.waitForLogLine(containing: ["reload complete"], seconds: 60) != nil, "log:\n\(service.log())")
        #expect(Self.waitForNewWorkers(service, replacing: before, count: 2))
        #expect(load.advance(by: 20))
        let (total, failed) = load.finish("upgrade whose execve fails, then a reload")
        #expect(total > 100)
        #expect(failed == 0)
    }
}
