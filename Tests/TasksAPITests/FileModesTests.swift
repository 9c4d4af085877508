// Owner-only modes of the instance folder, the database and its WAL and SHM, whatever the umask.

import Flagon
import Foundation
import GRDB
import Logging
import TasksAPI
import Testing

/// The permission bits of `path`, or nil if it does not exist.
func permissions(_ path: String) -> mode_t? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return status.st_mode & 0o777
}

@Suite("File modes", .serialized)
struct FileModesTests {
    /// Runs `body` with the process umask at 022, the usual default that makes files
    /// world-readable, and restores the previous one.
    private func withUmask022<T>(_ body: () async throws -> T) async rethrows -> T {
        let previous = umask(0o022)
        defer { umask(previous) }
        return try await body()
    }

    @Test("a new instance folder is 0700; the database, its WAL and SHM and the secret are 0600")
    func newFiles() async throws {
        try await withUmask022 {
            try await withTemporaryDirectory { folder in
                let instance = folder + "/nested/instance"
                let application = try await buildApplication(instance)
                // A write makes sure the WAL and SHM exist.
                #expect(await TestClient(app: application.app).get("/healthz").status == 200)
                _ = try application.accounts.create(username: "alice", password: "a good password")
                let database = instance + "/app.sqlite"
                #expect(permissions(folder + "/nested") == 0o700)
                #expect(permissions(instance) == 0o700)
                #expect(permissions(database) == 0o600)
                #expect(permissions(database + "-wal") == 0o600)
                #expect(permissions(database + "-shm") == 0o600)
                #expect(permissions(instance + "/development-secret") == 0o600)
            }
        }
    }

    @Test("an existing too-open instance folder and database are tightened, and that is logged")
    func existingFilesTightened() async throws {
        try await withUmask022 {
            try await withTemporaryDirectory { folder in
                let instance = folder + "/instance"
                let database = instance + "/app.sqlite"
                _ = try await buildApplication(instance)
                #expect(chmod(instance, 0o755) == 0)
                for path in [database, database + "-wal", database + "-shm"] where permissions(path) != nil {
                    #expect(chmod(path, 0o644) == 0)
                }
                let capture = LogCapture()
                _ = try await buildApplication(instance, logger: capture.logger)
                #expect(permissions(instance) == 0o700)
                #expect(permissions(database) == 0o600)
                for path in [database + "-wal", database + "-shm"] where permissions(path) != nil {
                    #expect(permissions(path) == 0o600)
                }
                let tightened = capture.logged.filter { $0.message == "tightened the mode of a file of the service" }
                #expect(tightened.contains { $0.metadata["path"] == instance && $0.metadata["was"] == "755" })
                #expect(tightened.contains { $0.metadata["path"] == database && $0.metadata["was"] == "644" })
                #expect(tightened.allSatisfy { $0.level == .warning })
            }
        }
    }

    @Test("a database outside the instance folder is 0600 too; its existing folder is left as it is")
    func databaseElsewhere() async throws {
        try await withUmask022 {
            try await withTemporaryDirectory { folder in
                #expect(chmod(folder, 0o755) == 0)
                let path = folder + "/custom.sqlite"
                let application = try await buildApplication(
                    folder + "/instance",
                    ["DATABASE_URL": "sqlite:///" + path, "SECRET_KEY": "s", "JWT_SECRET_KEY": "j"])
                _ = try application.accounts.create(username: "alice", password: "a good password")
                #expect(permissions(path) == 0o600)
                #expect(permissions(path + "-wal") == 0o600)
                #expect(permissions(path + "-shm") == 0o600)
                #expect(permissions(folder) == 0o755)
                // Nothing was kept in the instance folder, so it was not created.
                #expect(permissions(folder + "/instance") == nil)
            }
        }
    }

    @Test("a dedicated rate-limit file is 0600 too")
    func rateLimitFile() async throws {
        try await withUmask022 {
            try await withTemporaryDirectory { folder in
                let path = folder + "/limits/counters.sqlite"
                let store = try SQLiteRateLimitStore(path: path, sharesApplicationDatabase: false)
                _ = try store.hit(key: "k", window: 60, now: 1)
                #expect(permissions(folder + "/limits") == 0o700)
                #expect(permissions(path) == 0o600)
                #expect(permissions(path + "-wal") == 0o600)
                #expect(permissions(path + "-shm") == 0o600)
            }
        }
    }
}
