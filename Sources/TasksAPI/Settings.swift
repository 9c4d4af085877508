// The application's typed settings, read from the layered configuration (API contract §11).

import Flagon
import Logging

/// Every setting of the service, with its default, validated once at start-up.
public struct Settings: Sendable {
    /// The development defaults earlier versions fell back on. They are published, so they are
    /// no key at all: production refuses them, and `JWT_SECRET_KEY` is refused everywhere when
    /// it is the old JWT default. Without configured secrets, development generates its own
    /// (``DevelopmentSecret``).
    static let publishedDevelopmentSecretKey = "dev"
    static let publishedDevelopmentJWTSecretKey = "dev-jwt-secret-change-me-in-production-0123456789"
    /// Secrets that are never accepted in production: the published defaults and the guide's.
    static let knownDefaultSecrets: Set<String> = [
        publishedDevelopmentSecretKey, publishedDevelopmentJWTSecretKey, "super-secret", "secret", "change-me",
        "changeme",
    ]

    public enum Environment: String, Sendable {
        case development, production
    }

    public var environment: Environment
    /// `SECRET_KEY`; in development without one, the generated secret's half (see
    /// ``usesGeneratedSecrets``), filled in by ``loadGeneratedSecrets(logger:)``.
    public var secretKey: String
    /// `JWT_SECRET_KEY`, the key that signs tokens; generated in development as `secretKey` is.
    public var jwtSecretKey: String
    /// `JWT_PREVIOUS_SECRET_KEYS`: earlier signing keys whose tokens still verify until they
    /// expire (key rotation). Never used to sign.
    public var jwtPreviousSecretKeys: [String]
    /// True in development when `SECRET_KEY` or `JWT_SECRET_KEY` is not configured: the missing
    /// ones come from the secret generated once in the instance folder.
    public let usesGeneratedSecrets: Bool
    /// The instance folder, where the generated development secret lives.
    public var instancePath: String
    public var database: DatabaseLocation
    /// `SQLITE_SYNCHRONOUS`: `full` (the default) answers a SQLite write once it is on disk,
    /// `normal` once it is in the WAL (README, Durability).
    public var sqliteDurability: SQLiteDurability
    public var maxContentLength: Int
    public var corsOrigins: [String]
    public var rateLimitDefault: String
    public var rateLimitEnabled: Bool
    public var rateLimitStorageURL: String?
    public var trustedProxies: [String]
    /// `RATELIMIT_DEFAULT`, parsed.
    public var rateLimitDefaultLimits: [RateLimit]
    /// `RATELIMIT_STORAGE_URL`, parsed.
    public var rateLimitStorage: RateLimitStorage
    /// `TRUSTED_PROXIES` parsed, with `RATELIMIT_IPV6_PREFIX` (the IPv6 prefix a client is
    /// counted by, 64 by default).
    public var trustedProxyNetworks: TrustedProxies
    public var trustProxyAuth: Bool
    public var jwtAccessTokenExpires: Int
    public var jwtRefreshTokenExpires: Int
    public var logLevel: Logger.Level
    /// `MAX_WORKER_RSS`: the master recycles a worker whose resident memory passes this many
    /// MiB; 0 (the default) never does.
    public var maxWorkerRSS: Int
    /// `REQUEST_TIMEOUT`: seconds a worker may spend on one request before the master kills
    /// and replaces it (30 by default, as gunicorn's `--timeout`; 0: no limit).
    public var requestTimeout: Double
    /// `SLOW_LOG`: requests running longer than this many seconds are logged (0, the
    /// default: none), as PHP-FPM's `request_slowlog_timeout`.
    public var slowLog: Double
    /// The default of ``requestTimeout``: gunicorn's.
    public static let defaultRequestTimeout = 30.0
    /// Flask's `TESTING`: adds the `/_testing/*` routes the integration tests use to hold
    /// a worker busy. Refused in production.
    public var testing: Bool

    /// The keys whose values are secrets (redacted wherever configuration is reported).
    public static let secretKeys: Set<String> = [
        "SECRET_KEY", "JWT_SECRET_KEY", "JWT_PREVIOUS_SECRET_KEYS", "DATABASE_URL",
    ]

    /// Reads and validates every setting.
    /// - Throws: ``ConfigError`` with a one-line reason for a malformed value, or in
    ///   production for a secret that is missing, a known default, or shorter than 32 characters.
    public init(config: Config) throws(ConfigError) {
        let appEnv = config.string("APP_ENV")?.lowercased() ?? "development"
        guard let declared = Environment(rawValue: appEnv) else {
            throw ConfigError("APP_ENV must be 'development' or 'production', got '\(appEnv)'")
        }
        // A hosting platform's deployment marks production whatever APP_ENV says.
        let deployed = !(config.string("REPLIT_DEPLOYMENT") ?? "").isEmpty
        environment = deployed ? .production : declared

        let secret = config.string("SECRET_KEY").flatMap { $0.isEmpty ? nil : $0 }
        let jwtSecret = config.string("JWT_SECRET_KEY").flatMap { $0.isEmpty ? nil : $0 }
        jwtPreviousSecretKeys = config.list("JWT_PREVIOUS_SECRET_KEYS") ?? []
        if environment == .production {
            try Self.requireProductionSecret("SECRET_KEY", secret)
            try Self.requireProductionSecret("JWT_SECRET_KEY", jwtSecret)
            for previous in jwtPreviousSecretKeys {
                try Self.requireProductionSecret("JWT_PREVIOUS_SECRET_KEYS", previous)
            }
        }
        if jwtSecret == Self.publishedDevelopmentJWTSecretKey {
            throw ConfigError(
                "JWT_SECRET_KEY is the published development default; unset it to use a generated one")
        }
        if jwtPreviousSecretKeys.contains(Self.publishedDevelopmentJWTSecretKey) {
            throw ConfigError("JWT_PREVIOUS_SECRET_KEYS lists the published development default; remove it")
        }
        instancePath = config.instancePath
        // Empty until loadGeneratedSecrets fills them: JWTSigner refuses an empty key.
        secretKey = secret ?? ""
        jwtSecretKey = jwtSecret ?? ""
        usesGeneratedSecrets = secret == nil || jwtSecret == nil

        database = try DatabaseLocation(
            url: config.string("DATABASE_URL"), instancePath: config.instancePath)
        let synchronous = config.string("SQLITE_SYNCHRONOUS")?.lowercased() ?? "full"
        guard let durability = SQLiteDurability(rawValue: synchronous) else {
            throw ConfigError("SQLITE_SYNCHRONOUS must be 'full' or 'normal', got '\(synchronous)'")
        }
        sqliteDurability = durability

        maxContentLength = try config.int("MAX_CONTENT_LENGTH") ?? 1_048_576
        guard maxContentLength > 0 else { throw ConfigError("MAX_CONTENT_LENGTH must be positive") }
        corsOrigins = config.list("CORS_ORIGINS") ?? []
        rateLimitDefault = config.string("RATELIMIT_DEFAULT") ?? "200 per day;50 per hour"
        rateLimitEnabled = try config.bool("RATELIMIT_ENABLED") ?? true
        rateLimitStorageURL = config.string("RATELIMIT_STORAGE_URL").flatMap { $0.isEmpty ? nil : $0 }
        trustedProxies = config.list("TRUSTED_PROXIES") ?? []
        rateLimitDefaultLimits = try RateLimit.parseList(rateLimitDefault, key: "RATELIMIT_DEFAULT")
        rateLimitStorage = try RateLimitStorage(url: rateLimitStorageURL, database: database)
        let ipv6Prefix = try config.int("RATELIMIT_IPV6_PREFIX") ?? TrustedProxies.defaultIPv6PrefixLength
        guard (1...128).contains(ipv6Prefix) else {
            throw ConfigError("RATELIMIT_IPV6_PREFIX must be a prefix length from 1 to 128, got \(ipv6Prefix)")
        }
        trustedProxyNetworks = try TrustedProxies(
            trustedProxies, key: "TRUSTED_PROXIES", ipv6PrefixLength: ipv6Prefix)
        trustProxyAuth = try config.bool("TRUST_PROXY_AUTH") ?? false
        jwtAccessTokenExpires = try config.int("JWT_ACCESS_TOKEN_EXPIRES") ?? 900
        jwtRefreshTokenExpires = try config.int("JWT_REFRESH_TOKEN_EXPIRES") ?? 30 * 24 * 3600
        guard jwtAccessTokenExpires > 0, jwtRefreshTokenExpires > 0 else {
            throw ConfigError("JWT_ACCESS_TOKEN_EXPIRES and JWT_REFRESH_TOKEN_EXPIRES must be positive seconds")
        }
        let level = config.string("LOG_LEVEL") ?? "info"
        guard let parsedLevel = Logger.Level(configValue: level) else {
            throw ConfigError("LOG_LEVEL must be one of debug, info, warning, error, critical; got '\(level)'")
        }
        logLevel = parsedLevel
        maxWorkerRSS = try config.int("MAX_WORKER_RSS") ?? 0
        guard maxWorkerRSS >= 0 else { throw ConfigError("MAX_WORKER_RSS must be 0 (off) or a number of MiB") }
        requestTimeout = try config.seconds("REQUEST_TIMEOUT") ?? Self.defaultRequestTimeout
        guard (0...86400).contains(requestTimeout) else {
            throw ConfigError("REQUEST_TIMEOUT must be 0 (off) to 86400 seconds")
        }
        slowLog = try config.seconds("SLOW_LOG") ?? 0
        guard (0...86400).contains(slowLog) else { throw ConfigError("SLOW_LOG must be 0 (off) to 86400 seconds") }
        testing = try config.bool("TESTING") ?? false
        if testing && environment == .production {
            throw ConfigError("refusing to start in production: TESTING is set")
        }
    }

    /// In development without configured secrets, reads the secret generated in the instance
    /// folder, creating it on the first start, and uses it for whichever of `SECRET_KEY` and
    /// `JWT_SECRET_KEY` is not configured. Does nothing when both are configured.
    /// - Throws: ``ConfigError`` when the instance folder or the secret file cannot be used.
    public mutating func loadGeneratedSecrets(logger: Logger? = nil) throws(ConfigError) {
        guard secretKey.isEmpty || jwtSecretKey.isEmpty else { return }
        let generated = try DevelopmentSecret.load(instancePath: instancePath, logger: logger)
        if secretKey.isEmpty { secretKey = generated.secretKey }
        if jwtSecretKey.isEmpty { jwtSecretKey = generated.jwtSecretKey }
    }

    private static func requireProductionSecret(_ key: String, _ value: String?) throws(ConfigError) {
        guard let value, !value.isEmpty else {
            throw ConfigError("refusing to start in production: \(key) is not set")
        }
        guard !knownDefaultSecrets.contains(value) else {
            throw ConfigError("refusing to start in production: \(key) is still a default value")
        }
        guard value.utf8.count >= 32 else {
            throw ConfigError("refusing to start in production: \(key) is shorter than 32 characters")
        }
    }
}

/// Where the data lives, from `DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    /// A `postgres://` or `postgresql://` URI, as libpq reads it; it may hold the password.
    case postgres(url: String)

    /// Parses `DATABASE_URL` as SQLAlchemy does for SQLite: `sqlite:///relative.sqlite`,
    /// `sqlite:////absolute/path.sqlite`; unset means `<instance>/app.sqlite`. A
    /// `postgres://` or `postgresql://` URI selects PostgreSQL for every store.
    init(url: String?, instancePath: String) throws(ConfigError) {
        guard let url, !url.isEmpty else {
            self = .sqlite(path: instancePath + "/app.sqlite")
            return
        }
        if url.hasPrefix("sqlite:///") {
            let path = String(url.dropFirst("sqlite:///".count))
            guard !path.isEmpty else { throw ConfigError("DATABASE_URL names no SQLite file") }
            self = .sqlite(path: path)
            return
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            _ = try PostgresDatabase.displayURL(url)
            self = .postgres(url: url)
            return
        }
        throw ConfigError(
            "DATABASE_URL must start with sqlite:///, postgres:// or postgresql:// (got an unsupported scheme)")
    }
}

/// Where rate-limit counters live, from `RATELIMIT_STORAGE_URL`.
public enum RateLimitStorage: Sendable, Equatable {
    /// `shm://`: the host's shared-memory region, shared by every worker of the host, with the
    /// application database for keys that do not fit (the default with SQLite).
    case sharedMemory
    /// `database://`: the application database, shared by every worker of every host using it
    /// (the default with PostgreSQL, so that limits hold across hosts).
    case database
    /// `sqlite:///path`: a separate SQLite file, shared by every worker that opens it.
    case sqlite(path: String)
    /// `memory://`: counters in each worker's memory; per worker, for tests and development only.
    case memory

    /// - Parameter database: where the application's data lives, which decides the default.
    init(url: String?, database: DatabaseLocation) throws(ConfigError) {
        guard let url, !url.isEmpty else {
            if case .postgres = database { self = .database } else { self = .sharedMemory }
            return
        }
        if url.hasPrefix("sqlite:///") {
            let path = String(url.dropFirst("sqlite:///".count))
            guard !path.isEmpty else { throw ConfigError("RATELIMIT_STORAGE_URL names no SQLite file") }
            self = .sqlite(path: path)
            return
        }
        switch url {
        case "shm://":
            self = .sharedMemory
        case "database://":
            self = .database
        case "memory://":
            self = .memory
        default:
            // The URL itself is not repeated: it may hold a password.
            let scheme = url.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            throw ConfigError(
                "RATELIMIT_STORAGE_URL must be shm://, database://, sqlite:///path or memory://, "
                    + "got scheme '\(scheme)'")
        }
    }
}
