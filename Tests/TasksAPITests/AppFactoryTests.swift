// The application factory on a real SQLite file: meta routes, health check, migrations, WAL.

import Flagon
import Foundation
import GRDB
import TasksAPI
import Testing

@Suite("Application factory")
struct AppFactoryTests {
    /// The application built from `overrides` with `folder` as its instance folder.
    private func build(_ folder: String, _ overrides: [String: String] = [:]) async throws -> Application {
        let config = try await Config.load(overrides: overrides, environment: [:], instancePath: folder)
        return try await makeApplication(config: config, logger: quietLogger)
    }

    /// A second, independent connection to the same file, as another process would open it.
    private func openDirectly(_ path: String) throws -> DatabaseQueue {
        try DatabaseQueue(path: path)
    }

    @Test("GET /api/hello answers the exact body and headers")
    func hello() async throws {
        try await withTemporaryDirectory { folder in
            let client = TestClient(app: try await build(folder).app)
            let response = await client.get("/api/hello")
            #expect(response.status == 200)
            #expect(response.text == #"{"message": "Hello, World!"}"#)
            // The default rate limit (API contract §6) applies to /api/hello too.
            #expect(
                response.headers.map(\.name) == [
                    "Content-Type", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-Id",
                    "X-Content-Type-Options",
                ])
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(response.headers["X-Content-Type-Options"] == "nosniff")
            let id = try #require(response.headers["X-Request-Id"])
            #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
        }
    }

    @Test("HEAD /api/hello has the GET headers and no body; POST is 405")
    func helloMethods() async throws {
        try await withTemporaryDirectory { folder in
            let client = TestClient(app: try await build(folder).app)
            let head = await client.head("/api/hello")
            #expect(head.status == 200)
            #expect(head.response.body.isEmpty)
            #expect(head.headers["Content-Length"] == String(#"{"message": "Hello, World!"}"#.utf8.count))
            #expect(head.headers["Content-Type"] == "application/json")

            let post = await client.send(.post, "/api/hello", json: [:])
            #expect(post.status == 405)
            #expect(post.headers["Allow"] == "GET, HEAD, OPTIONS")
        }
    }

    @Test("an incoming request id is echoed by the real application")
    func requestIDEchoed() async throws {
        try await withTemporaryDirectory { folder in
            let client = TestClient(app: try await build(folder).app)
            let response = await client.get("/healthz", headers: ["X-Request-Id": "probe-42"])
            #expect(response.headers["X-Request-Id"] == "probe-42")
        }
    }

    @Test("an unknown path is the contract's 404")
    func notFound() async throws {
        try await withTemporaryDirectory { folder in
            let response = await TestClient(app: try await build(folder).app).get("/api/nothing")
            #expect(response.status == 404)
            #expect(
                response.text
                    == #"{"error": "Not Found", "message": "The requested URL was not found on the server.", "#
                    + #""status": 404}"#)
            #expect(response.headers["X-Content-Type-Options"] == "nosniff")
        }
    }

    @Test("GET /healthz is 200 with the database ok")
    func healthy() async throws {
        try await withTemporaryDirectory { folder in
            let response = await TestClient(app: try await build(folder).app).get("/healthz")
            #expect(response.status == 200)
            #expect(response.text == #"{"status": "ok", "database": "ok"}"#)
            #expect(response.headers["Content-Type"] == "application/json")
        }
    }

    @Test("GET /healthz is 503 with the error body once the database is broken")
    func unhealthy() async throws {
        try await withTemporaryDirectory { folder in
            let application = try await build(folder)
            let client = TestClient(app: application.app)
            #expect(await client.get("/healthz").status == 200)

            let other = try openDirectly(application.database.path)
            try await other.write { db in try db.execute(sql: "DROP TABLE grdb_migrations") }

            let response = await client.get("/healthz")
            #expect(response.status == 503)
            #expect(
                response.text
                    == #"{"error": "Service Unavailable", "message": "The database is unavailable.", "status": 503, "#
                    + #""database": "unavailable"}"#)
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(response.headers["Retry-After"] == "5")
            #expect(response.headers["X-Content-Type-Options"] == "nosniff")
            #expect(response.headers["X-Request-Id"]?.count == 32)
            #expect(!response.text.contains("grdb_migrations"))
            #expect(!response.text.contains(folder))

            let head = await client.head("/healthz")
            #expect(head.status == 503)
            #expect(head.response.body.isEmpty)
        }
    }

    @Test("migrations are applied once, even when the factory runs twice on the same file")
    func migrationsOnce() async throws {
        try await withTemporaryDirectory { folder in
            let all = [
                "v1_service_info", "v2_accounts", "v3_tasks", "v4_products", "v5_rate_limits",
                "v6_rate_limits_window_end",
            ]
            let first = try await build(folder)
            #expect(try first.database.appliedMigrations() == all)
            let second = try await build(folder)
            #expect(try second.database.appliedMigrations() == all)
            #expect(second.database.path == first.database.path)

            let other = try openDirectly(first.database.path)
            let (migrations, rows) = try await other.read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations"),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM service_info WHERE key = 'created_at'")
                )
            }
            #expect(migrations == all.count)
            #expect(rows == 1)
            #expect(await TestClient(app: second.app).get("/healthz").status == 200)
        }
    }

    @Test("the database file is in WAL mode")
    func walMode() async throws {
        try await withTemporaryDirectory { folder in
            let application = try await build(folder)
            let other = try openDirectly(application.database.path)
            let mode = try await other.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(mode == "wal")
        }
    }

    @Test("the default database is app.sqlite in the instance folder, created with its folders")
    func defaultLocation() async throws {
        try await withTemporaryDirectory { folder in
            let instance = folder + "/nested/instance"
            let application = try await build(instance)
            #expect(application.settings.database == .sqlite(path: instance + "/app.sqlite"))
            #expect(application.database.path == instance + "/app.sqlite")
            #expect(FileManager.default.fileExists(atPath: instance + "/app.sqlite"))
        }
    }

    @Test("an absolute DATABASE_URL is used as given")
    func absoluteURL() async throws {
        try await withTemporaryDirectory { folder in
            let path = folder + "/data/custom.sqlite"
            let application = try await build(folder + "/instance", ["DATABASE_URL": "sqlite:///" + path])
            #expect(application.database.path == path)
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(!FileManager.default.fileExists(atPath: folder + "/instance/app.sqlite"))
        }
    }

    @Test("settings reach the app: MAX_CONTENT_LENGTH becomes the 413 limit")
    func maxContentLength() async throws {
        try await withTemporaryDirectory { folder in
            let application = try await build(folder, ["MAX_CONTENT_LENGTH": "16"])
            #expect(application.app.maxContentLength == 16)
            let client = TestClient(app: application.app)
            let response = await client.request(
                .get, "/api/hello", body: Array(repeating: UInt8(ascii: "x"), count: 17))
            #expect(response.status == 413)
            #expect(response["error"] == "Content Too Large")
            let atLimit = await client.request(
                .get, "/api/hello", body: Array(repeating: UInt8(ascii: "x"), count: 16))
            #expect(atLimit.status == 200)
        }
    }

    @Test("production with default secrets refuses to start before touching the database")
    func productionRefusesEarly() async throws {
        try await withTemporaryDirectory { folder in
            let error = await #expect(throws: ConfigError.self) {
                _ = try await build(folder, ["APP_ENV": "production"])
            }
            #expect(error?.message == "refusing to start in production: SECRET_KEY is not set")
            #expect(!FileManager.default.fileExists(atPath: folder + "/app.sqlite"))
        }
    }

    @Test("a configured log level is applied to the app's logger")
    func logLevel() async throws {
        try await withTemporaryDirectory { folder in
            let application = try await build(folder, ["LOG_LEVEL": "error"])
            #expect(application.settings.logLevel == .error)
            #expect(application.app.logger.logLevel == .error)
        }
    }
}
