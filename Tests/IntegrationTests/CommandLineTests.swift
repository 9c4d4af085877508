// The command line's conventions through the real binary: --version, check-config, migrate --check, jitter, no writes.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Command line", .serialized)
struct CommandLineTests {
    /// What one run of the binary printed, each stream apart.
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// A fresh folder for one test, removed afterwards.
    final class Folder {
        let path: String
        init() throws {
            path =
                FileManager.default.temporaryDirectory
                .appendingPathComponent("tasks-api-cli-\(getpid())-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        /// Every path below the folder, relative to it, sorted.
        func listing() -> [String] {
            (FileManager.default.subpaths(atPath: path) ?? []).sorted()
        }
    }

    /// The environment of a development instance in `folder` unless `environment` says otherwise.
    static func environment(_ folder: Folder, _ environment: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            ![
                "LISTEN_FDS", "LISTEN_PID", "TASKS_API_MASTER_PID", "APP_ENV", "REPLIT_DEPLOYMENT", "SECRET_KEY",
                "JWT_SECRET_KEY", "DATABASE_URL", "FCGI_WEB_SERVER_ADDRS", "FCGI_READ_TIMEOUT", "CREDENTIALS_DIRECTORY",
            ].contains(key)
        }
        env["INSTANCE_PATH"] = folder.path + "/instance"
        env["LOG_LEVEL"] = "info"
        for (key, value) in environment { env[key] = value }
        return env
    }

    /// Runs `tasks-api arguments` to completion.
    static func run(_ arguments: [String], environment: [String: String]) throws -> Run {
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasks-api-cli-run-\(getpid())-\(UUID().uuidString)").path
        defer {
            unlink(base + ".out")
            unlink(base + ".err")
        }
        let pid = try Processes.spawn(
            executable: Paths.binary, arguments: arguments, environment: environment,
            fileActions: [
                .open(0, path: "/dev/null", flags: O_RDONLY),
                .open(1, path: base + ".out", flags: O_WRONLY | O_CREAT | O_TRUNC),
                .open(2, path: base + ".err", flags: O_WRONLY | O_CREAT | O_TRUNC),
            ])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Run(
            status: (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f),
            stdout: (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")
    }

    static let productionSecrets = [
        "APP_ENV": "production", "SECRET_KEY": String(repeating: "s7", count: 20),
        "JWT_SECRET_KEY": String(repeating: "j9", count: 20),
    ]

    // MARK: - --version

    @Test("--version prints `tasks-api X.Y.Z`, the version the OpenAPI document carries")
    func version() throws {
        let folder = try Folder()
        let run = try Self.run(["--version"], environment: Self.environment(folder))
        #expect(run.status == 0)
        let line = run.stdout.trimmingCharacters(in: .newlines)
        #expect(line.wholeMatch(of: /tasks-api [0-9]+\.[0-9]+\.[0-9]+/) != nil, "\(line)")
        let document = try Self.run(["openapi"], environment: Self.environment(folder))
        let info = try #require(
            (try JSONSerialization.jsonObject(with: Data(document.stdout.utf8)) as? [String: Any])?["info"]
                as? [String: Any])
        #expect("tasks-api \(info["version"] as? String ?? "")" == line)
    }

    // MARK: - check-config

    @Test("check-config: 'configuration ok' on stdout, and no file or folder created")
    func checkConfigOK() throws {
        let folder = try Folder()
        let run = try Self.run(["check-config"], environment: Self.environment(folder))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "configuration ok\n")
        #expect(run.stderr.isEmpty)
        // Development generates its secret and database in the instance folder: not here.
        #expect(folder.listing().isEmpty)
    }

    @Test("check-config: production without secrets is one line on stderr naming the key, exit 1")
    func checkConfigProductionRefusal() throws {
        let folder = try Folder()
        let run = try Self.run(["check-config"], environment: Self.environment(folder, ["APP_ENV": "production"]))
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.contains("SECRET_KEY is not set"))

        let weak = try Self.run(
            ["check-config"],
            environment: Self.environment(folder, Self.productionSecrets.merging(["JWT_SECRET_KEY": "secret"]) { $1 }))
        #expect(weak.status == 1)
        #expect(weak.stderr.contains("JWT_SECRET_KEY is still a default value"), "\(weak.stderr)")
        let good = try Self.run(["check-config"], environment: Self.environment(folder, Self.productionSecrets))
        #expect(good.status == 0, "\(good.stderr)")
        #expect(folder.listing().isEmpty)
    }

    @Test(
        "check-config validates the serve options it is given",
        arguments: [
            (["--workers", "0"], "--workers must be at least 1"),
            (["--max-requests-jitter", "-1"], "--max-requests-jitter"),
            (["--bind", "10.0.0.5:9000"], "FCGI_WEB_SERVER_ADDRS"),
            (["--bind", "localhost"], "--bind"),
            (["--socket", "/nonexistent-tasks-api/pool.sock"], "does not exist"),
            (["--socket-group", "no-such-group-tasks-api"], "unknown group"),
            (["--read-timeout", "0"], "--read-timeout"),
            (["--no-such-option"], "--no-such-option"),
        ])
    func checkConfigServeOptions(options: [String], problem: String) throws {
        let folder = try Folder()
        let run = try Self.run(["check-config"] + options, environment: Self.environment(folder))
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.contains(problem), "\(run.stderr)")
    }

    @Test("check-config accepts serve options that serve would, and the environment's FCGI settings")
    func checkConfigServeOptionsOK() throws {
        let folder = try Folder()
        let socket = folder.path + "/pool.sock"
        let ok = try Self.run(
            [
                "check-config", "--socket", socket, "--workers", "3", "--max-requests", "100", "--max-requests-jitter",
                "10",
            ],
            environment: Self.environment(folder))
        #expect(ok.status == 0, "\(ok.stderr)")
        let listed = try Self.run(
            ["check-config", "--bind", "10.0.0.5:9000"],
            environment: Self.environment(folder, ["FCGI_WEB_SERVER_ADDRS": "10.0.0.2"]))
        #expect(listed.status == 0, "\(listed.stderr)")
        let malformed = try Self.run(
            ["check-config"], environment: Self.environment(folder, ["FCGI_WEB_SERVER_ADDRS": "10.0.0.300"]))
        #expect(malformed.status == 1)
        #expect(malformed.stderr.contains("FCGI_WEB_SERVER_ADDRS"), "\(malformed.stderr)")
        let timeout = try Self.run(
            ["check-config"], environment: Self.environment(folder, ["FCGI_READ_TIMEOUT": "never"]))
        #expect(timeout.status == 1)
        #expect(timeout.stderr.contains("FCGI_READ_TIMEOUT"), "\(timeout.stderr)")
        #expect(folder.listing().isEmpty, "\(folder.listing())")
    }

    @Test("check-config: a database file that is no SQLite database is named; a migrated one is left untouched")
    func checkConfigDatabase() throws {
        let folder = try Folder()
        let path = folder.path + "/data/app.sqlite"
        try FileManager.default.createDirectory(atPath: folder.path + "/data", withIntermediateDirectories: false)
        try Data(String(repeating: "not a database\n", count: 100).utf8).write(to: URL(fileURLWithPath: path))
        let env = Self.environment(folder, ["DATABASE_URL": "sqlite:///" + path])
        let broken = try Self.run(["check-config"], environment: env)
        #expect(broken.status == 1)
        #expect(broken.stderr.contains(path), "\(broken.stderr)")

        unlink(path)
        let migrated = try Self.run(["migrate"], environment: env)
        #expect(migrated.status == 0, "\(migrated.stdout)\(migrated.stderr)")
        let before = folder.listing()
        let modified = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        let run = try Self.run(["check-config"], environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        // No -wal or -shm left beside a database that had none.
        #expect(folder.listing() == before)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date == modified)
    }

    // MARK: - migrate --check

    @Test("migrate --check: a fresh path lists every migration as pending and is not created")
    func migrateCheckFresh() throws {
        let folder = try Folder()
        let path = folder.path + "/new/app.sqlite"
        let run = try Self.run(
            ["migrate", "--check"], environment: Self.environment(folder, ["DATABASE_URL": "sqlite:///" + path]))
        #expect(run.status == 1)
        #expect(run.stdout.contains("\(path) (no database yet):"), "\(run.stdout)")
        #expect(run.stdout.contains("pending migrations ("), "\(run.stdout)")
        #expect(run.stdout.contains("): v1_service_info, v2_accounts, "), "\(run.stdout)")
        #expect(run.stdout.split(separator: "\n").count == 1)
        #expect(folder.listing().isEmpty)
    }

    @Test("migrate --check: a migrated database is up to date; one with a migration missing names it")
    func migrateCheckPendingAndCurrent() throws {
        let folder = try Folder()
        let path = folder.path + "/app.sqlite"
        let env = Self.environment(folder, ["DATABASE_URL": "sqlite:///" + path])
        #expect(try Self.run(["migrate"], environment: env).status == 0)
        let before = folder.listing()
        let current = try Self.run(["migrate", "--check"], environment: env)
        #expect(current.status == 0, "\(current.stdout)\(current.stderr)")
        #expect(current.stdout.contains("up to date"), "\(current.stdout)")
        #expect(folder.listing() == before)

        // The latest migration's record removed, as on a database of the previous release.
        let python = try #require(Processes.which("python3"), "python3 is not installed")
        let latest = try Self.run(["migrate"], environment: env).stdout
            .split(separator: "(").last?.split(separator: ",").last?
            .trimmingCharacters(in: CharacterSet(charactersIn: " )\n"))
        let identifier = try #require(latest)
        let removed = try Processes.run(
            python,
            [
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                    + "c.execute('DELETE FROM grdb_migrations WHERE identifier = ?', (sys.argv[2],)); c.commit()",
                path, identifier,
            ])
        #expect(removed.status == 0, "\(removed.output)")
        let pending = try Self.run(["migrate", "--check"], environment: env)
        #expect(pending.status == 1)
        #expect(pending.stdout == "database \(path): pending migrations (1): \(identifier)\n", "\(pending.stdout)")
    }

    @Test("migrate --check: an unreadable configuration is status 2, neither up to date nor pending")
    func migrateCheckUnreadable() throws {
        let folder = try Folder()
        let run = try Self.run(
            ["migrate", "--check"], environment: Self.environment(folder, ["DATABASE_URL": "mysql://db/x"]))
        #expect(run.status == 2)
        #expect(run.stderr.contains("DATABASE_URL"), "\(run.stderr)")
    }

    // MARK: - routes and openapi

    @Test("routes and openapi open no database: a path under a missing folder stays missing")
    func describingCommandsWriteNothing() throws {
        let folder = try Folder()
        let env = Self.environment(
            folder, ["DATABASE_URL": "sqlite:///\(folder.path)/missing/deeper/app.sqlite"])
        let routes = try Self.run(["routes"], environment: env)
        #expect(routes.status == 0, "\(routes.stderr)")
        #expect(routes.stdout.contains("/api/tasks/{id:int}"), "\(routes.stdout)")
        let openapi = try Self.run(["openapi"], environment: env)
        #expect(openapi.status == 0, "\(openapi.stderr)")
        #expect(openapi.stdout.hasPrefix("{"))
        // Not even the instance folder with a generated secret.
        #expect(folder.listing().isEmpty, "\(folder.listing())")

        // A folder that exists but can be neither read nor written (for a non-root user).
        let closed = folder.path + "/closed"
        try FileManager.default.createDirectory(atPath: closed, withIntermediateDirectories: false)
        chmod(closed, 0o500)
        defer { chmod(closed, 0o700) }
        let closedEnv = Self.environment(
            folder, ["INSTANCE_PATH": closed, "DATABASE_URL": "sqlite:///\(closed)/app.sqlite"])
        #expect(try Self.run(["routes"], environment: closedEnv).status == 0)
        #expect(try Self.run(["openapi"], environment: closedEnv).status == 0)
        #expect(folder.listing() == ["closed"])
    }

    // MARK: - --max-requests-jitter

    /// The request limits the workers logged at start.
    static func limits(in log: String) -> [Int] {
        log.split(separator: "\n").filter { $0.contains(#"msg="request limit""#) }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("max_requests=") }.flatMap { Int($0.dropFirst(13)) }
        }
    }

    @Test("--max-requests 5 --max-requests-jitter 50: four workers start with limits from 5 to 55, not all equal")
    func jitter() throws {
        let service = try LiveService.start(
            .master(workers: 4, arguments: ["--max-requests", "5", "--max-requests-jitter", "50"]))
        defer { service.stop() }
        var limits: [Int] = []
        Processes.waitUntil(seconds: 20) {
            limits = Self.limits(in: service.log())
            return limits.count >= 4
        }
        #expect(limits.count >= 4, "log:\n\(service.log())")
        #expect(limits.allSatisfy { (5...55).contains($0) }, "\(limits)")
        // All four equal by chance: 1 in 51^3.
        #expect(Set(limits).count >= 2, "\(limits)")
    }

    @Test("without jitter every worker's limit is --max-requests itself")
    func noJitter() throws {
        let service = try LiveService.start(.master(workers: 2, arguments: ["--max-requests", "7"]))
        defer { service.stop() }
        var limits: [Int] = []
        Processes.waitUntil(seconds: 20) {
            limits = Self.limits(in: service.log())
            return limits.count >= 2
        }
        #expect(limits == [7, 7], "log:\n\(service.log())")
    }
}
