// Settings: defaults, production refusal of missing or default secrets, DATABASE_URL, malformed values.

import Flagon
import Logging
import TasksAPI
import Testing

private let goodSecret = String(repeating: "a1B2c3D4", count: 8)
private let goodJWTSecret = String(repeating: "Z9y8X7w6", count: 8)

@Suite("Settings")
struct SettingsTests {
    @Test("every setting has the contract's default")
    func defaults() async throws {
        let settings = try await loadSettings([:], instancePath: "/srv/instance")
        #expect(settings.environment == .development)
        // Generated in the instance folder by loadGeneratedSecrets, never a published constant.
        #expect(settings.secretKey == "")
        #expect(settings.jwtSecretKey == "")
        #expect(settings.usesGeneratedSecrets)
        #expect(settings.jwtPreviousSecretKeys == [])
        #expect(settings.database == .sqlite(path: "/srv/instance/app.sqlite"))
        #expect(settings.maxContentLength == 1_048_576)
        #expect(settings.corsOrigins == [])
        #expect(settings.rateLimitDefault == "200 per day;50 per hour")
        #expect(settings.rateLimitEnabled == true)
        #expect(settings.rateLimitStorageURL == nil)
        #expect(settings.trustedProxies == [])
        #expect(settings.trustProxyAuth == false)
        #expect(settings.jwtAccessTokenExpires == 900)
        #expect(settings.jwtRefreshTokenExpires == 2_592_000)
        #expect(settings.logLevel == .info)
        #expect(settings.maxWorkerRSS == 0)
        #expect(settings.sqliteDurability == .full)
    }

    @Test("SQLITE_SYNCHRONOUS is full or normal, in any case; anything else stops start-up")
    func sqliteSynchronous() async throws {
        #expect(try await loadSettings(["SQLITE_SYNCHRONOUS": "NORMAL"]).sqliteDurability == .normal)
        #expect(try await loadSettings(["SQLITE_SYNCHRONOUS": "full"]).sqliteDurability == .full)
        let error = try await settingsError(["SQLITE_SYNCHRONOUS": "off"])
        #expect(error?.description.contains("SQLITE_SYNCHRONOUS") == true)
    }

    @Test("MAX_WORKER_RSS is a number of MiB; a negative one stops start-up")
    func maxWorkerRSS() async throws {
        #expect(try await loadSettings(["MAX_WORKER_RSS": "128"]).maxWorkerRSS == 128)
        let error = try await settingsError(["MAX_WORKER_RSS": "-1"])
        #expect(error?.description.contains("MAX_WORKER_RSS") == true)
    }

    @Test("values are read and typed")
    func values() async throws {
        let settings = try await loadSettings([
            "MAX_CONTENT_LENGTH": "2048", "CORS_ORIGINS": "https://a.example, https://b.example",
            "RATELIMIT_DEFAULT": "10 per minute", "RATELIMIT_ENABLED": "false",
            "RATELIMIT_STORAGE_URL": "sqlite:////tmp/limits.sqlite", "TRUSTED_PROXIES": "10.0.0.0/8,127.0.0.1/32",
            "TRUST_PROXY_AUTH": "true", "JWT_ACCESS_TOKEN_EXPIRES": "60", "JWT_REFRESH_TOKEN_EXPIRES": "3600",
            "LOG_LEVEL": "WARNING", "APP_ENV": "Development",
        ])
        #expect(settings.maxContentLength == 2048)
        #expect(settings.corsOrigins == ["https://a.example", "https://b.example"])
        #expect(settings.rateLimitDefault == "10 per minute")
        #expect(settings.rateLimitEnabled == false)
        #expect(settings.rateLimitStorageURL == "sqlite:////tmp/limits.sqlite")
        #expect(settings.trustedProxies == ["10.0.0.0/8", "127.0.0.1/32"])
        #expect(settings.trustProxyAuth == true)
        #expect(settings.jwtAccessTokenExpires == 60)
        #expect(settings.jwtRefreshTokenExpires == 3600)
        #expect(settings.logLevel == .warning)
        #expect(settings.environment == .development)
    }

    @Test("a good pair of 64-character secrets passes in production")
    func productionWithGoodSecrets() async throws {
        #expect(goodSecret.count == 64)
        let settings = try await loadSettings([
            "APP_ENV": "production", "SECRET_KEY": goodSecret, "JWT_SECRET_KEY": goodJWTSecret,
        ])
        #expect(settings.environment == .production)
        #expect(settings.secretKey == goodSecret)
        #expect(settings.jwtSecretKey == goodJWTSecret)
    }

    @Test(
        "production refuses to start with a missing, default or short secret",
        arguments: [
            ([:], "refusing to start in production: SECRET_KEY is not set"),
            (
                ["SECRET_KEY": "", "JWT_SECRET_KEY": goodJWTSecret],
                "refusing to start in production: SECRET_KEY is not set"
            ),
            (["SECRET_KEY": goodSecret], "refusing to start in production: JWT_SECRET_KEY is not set"),
            (
                ["SECRET_KEY": "dev", "JWT_SECRET_KEY": goodJWTSecret],
                "refusing to start in production: SECRET_KEY is still a default value"
            ),
            (
                ["SECRET_KEY": goodSecret, "JWT_SECRET_KEY": "dev-jwt-secret-change-me-in-production-0123456789"],
                "refusing to start in production: JWT_SECRET_KEY is still a default value"
            ),
            (
                ["SECRET_KEY": "super-secret", "JWT_SECRET_KEY": goodJWTSecret],
                "refusing to start in production: SECRET_KEY is still a default value"
            ),
            (
                ["SECRET_KEY": goodSecret, "JWT_SECRET_KEY": "super-secret"],
                "refusing to start in production: JWT_SECRET_KEY is still a default value"
            ),
            (
                ["SECRET_KEY": String(repeating: "k", count: 31), "JWT_SECRET_KEY": goodJWTSecret],
                "refusing to start in production: SECRET_KEY is shorter than 32 characters"
            ),
            (
                ["SECRET_KEY": goodSecret, "JWT_SECRET_KEY": String(repeating: "j", count: 31)],
                "refusing to start in production: JWT_SECRET_KEY is shorter than 32 characters"
            ),
        ] as [([String: String], String)])
    func productionRefuses(secrets: [String: String], reason: String) async throws {
        let error = try await settingsError(secrets.merging(["APP_ENV": "production"]) { $1 })
        #expect(error?.message == reason)
        #expect(error?.description.contains("\n") == false)
        // The reason never repeats a secret's value.
        for value in secrets.values where !value.isEmpty {
            #expect(error?.message.contains(value) == false)
        }
    }

    @Test("a 32-character secret is long enough")
    func thirtyTwoCharacters() async throws {
        let settings = try await loadSettings([
            "APP_ENV": "production", "SECRET_KEY": String(repeating: "s", count: 32),
            "JWT_SECRET_KEY": String(repeating: "t", count: 32),
        ])
        #expect(settings.environment == .production)
    }

    @Test("REPLIT_DEPLOYMENT=1 means production, whatever APP_ENV says")
    func replitDeployment() async throws {
        let refused = try await settingsError(["REPLIT_DEPLOYMENT": "1"])
        #expect(refused?.message == "refusing to start in production: SECRET_KEY is not set")
        let refusedDespiteAppEnv = try await settingsError(["REPLIT_DEPLOYMENT": "1", "APP_ENV": "development"])
        #expect(refusedDespiteAppEnv?.message == "refusing to start in production: SECRET_KEY is not set")

        let settings = try await loadSettings([
            "REPLIT_DEPLOYMENT": "1", "SECRET_KEY": goodSecret, "JWT_SECRET_KEY": goodJWTSecret,
        ])
        #expect(settings.environment == .production)
    }

    @Test("JWT_PREVIOUS_SECRET_KEYS is a comma-separated list; production holds each to the secret rules")
    func previousKeys() async throws {
        let settings = try await loadSettings(["JWT_PREVIOUS_SECRET_KEYS": " old-one , old-two,"])
        #expect(settings.jwtPreviousSecretKeys == ["old-one", "old-two"])
        #expect(Settings.secretKeys.contains("JWT_PREVIOUS_SECRET_KEYS"))
        let production = ["APP_ENV": "production", "SECRET_KEY": goodSecret, "JWT_SECRET_KEY": goodJWTSecret]
        let accepted = try await loadSettings(production.merging(["JWT_PREVIOUS_SECRET_KEYS": goodSecret + "x"]) { $1 })
        #expect(accepted.jwtPreviousSecretKeys == [goodSecret + "x"])
        let short = try await settingsError(production.merging(["JWT_PREVIOUS_SECRET_KEYS": "short"]) { $1 })
        #expect(
            short?.message == "refusing to start in production: JWT_PREVIOUS_SECRET_KEYS is shorter than 32 characters")
        let published = try await settingsError([
            "JWT_PREVIOUS_SECRET_KEYS": "dev-jwt-secret-change-me-in-production-0123456789"
        ])
        #expect(published?.message == "JWT_PREVIOUS_SECRET_KEYS lists the published development default; remove it")
    }

    @Test("development accepts the default secrets")
    func developmentDefaults() async throws {
        let settings = try await loadSettings(["APP_ENV": "development", "SECRET_KEY": "super-secret"])
        #expect(settings.environment == .development)
        #expect(settings.secretKey == "super-secret")
    }

    @Test(
        "DATABASE_URL selects an SQLite file, relative or absolute",
        arguments: [
            ("sqlite:///data/app.sqlite", "data/app.sqlite"), ("sqlite:///app.db", "app.db"),
            ("sqlite:////var/lib/tasks/app.sqlite", "/var/lib/tasks/app.sqlite"),
            ("", "/nonexistent/instance/app.sqlite"),
        ])
    func sqliteURLs(url: String, path: String) async throws {
        let settings = try await loadSettings(["DATABASE_URL": url])
        #expect(settings.database == .sqlite(path: path))
    }

    @Test(
        "a PostgreSQL URL libpq cannot read is refused with a message that hides the URL",
        arguments: [
            "postgres://app:hunter2@db.example/tasks?bogus=1", "postgresql://app:hunter2@db.example/tasks%zz",
        ])
    func postgresMalformedRefused(url: String) async throws {
        let error = try await settingsError(["DATABASE_URL": url])
        #expect(error?.message == "DATABASE_URL is not a PostgreSQL connection URI libpq can read")
        #expect(error?.message.contains("hunter2") == false)
    }

    @Test(
        "other DATABASE_URL schemes are refused",
        arguments: ["mysql://app:hunter2@db/tasks", "sqlite://relative.db", "app.sqlite", "file:///tmp/x.sqlite"])
    func unknownSchemeRefused(url: String) async throws {
        let error = try await settingsError(["DATABASE_URL": url])
        #expect(
            error?.message
                == "DATABASE_URL must start with sqlite:///, postgres:// or postgresql:// (got an unsupported scheme)")
    }

    @Test("DATABASE_URL must name a file")
    func sqliteWithoutFile() async throws {
        let error = try await settingsError(["DATABASE_URL": "sqlite:///"])
        #expect(error?.message == "DATABASE_URL names no SQLite file")
    }

    @Test("a bad LOG_LEVEL is refused", arguments: ["verbose", "inf0", "10"])
    func badLogLevel(level: String) async throws {
        let error = try await settingsError(["LOG_LEVEL": level])
        #expect(error?.message == "LOG_LEVEL must be one of debug, info, warning, error, critical; got '\(level)'")
    }

    @Test(
        "LOG_LEVEL takes swift-log's and Python's names",
        arguments: [
            ("debug", Logger.Level.debug), ("INFO", .info), ("warning", .warning), ("warn", .warning),
            ("error", .error), ("critical", .critical), ("trace", .trace), ("notice", .notice),
        ])
    func logLevels(text: String, level: Logger.Level) async throws {
        #expect(try await loadSettings(["LOG_LEVEL": text]).logLevel == level)
    }

    @Test("a bad APP_ENV is refused", arguments: ["staging", "prod", "test"])
    func badAppEnv(value: String) async throws {
        let error = try await settingsError(["APP_ENV": value])
        #expect(error?.message == "APP_ENV must be 'development' or 'production', got '\(value)'")
    }

    @Test(
        "malformed numbers and booleans are refused, naming the key",
        arguments: [
            ("MAX_CONTENT_LENGTH", "1MB"), ("MAX_CONTENT_LENGTH", "0"), ("MAX_CONTENT_LENGTH", "-1"),
            ("RATELIMIT_ENABLED", "maybe"), ("TRUST_PROXY_AUTH", "sure"), ("JWT_ACCESS_TOKEN_EXPIRES", "15m"),
            ("JWT_ACCESS_TOKEN_EXPIRES", "0"), ("JWT_REFRESH_TOKEN_EXPIRES", "-5"),
        ])
    func malformedValues(key: String, value: String) async throws {
        let error = try await settingsError([key: value])
        #expect(error?.message.contains(key) == true)
    }
}
