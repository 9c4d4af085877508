// The application factory (the guide's `create_app`).

import Flagon
import Foundation
import HostRegion
import Logging

/// Everything `makeApp` built, for callers that need more than the App (the CLI, tests).
public struct Application: Sendable {
    public let app: App
    public let settings: Settings
    public let database: Database
    public let accounts: Accounts
    /// The host's shared-memory region: counters, scoreboard, revocation generation; nil
    /// for an application that only describes itself.
    public let hostRegion: HostRegion?

    /// The title and version of the API in its OpenAPI document. The version is the release's
    /// too, kept here only: `tasks-api --version` prints it and `make dist` names the package by it.
    public static let title = "tasks-api"
    public static let version = "1.0.0"
}

/// Builds the application from layered configuration: validates the settings (refusing
/// to start in production with missing or default secrets), opens and migrates the
/// database, and registers the blueprints.
///
/// ```swift
/// let config = try await Config.load(overrides: ["DATABASE_URL": "sqlite:///test.sqlite"],
///                                    environment: [:])
/// let app = try await makeApp(config: config)
/// ```
public func makeApp(config: Config, logger: Logger = Logger(label: "tasks-api")) async throws -> App {
    try await makeApplication(config: config, logger: logger).app
}

/// ``makeApp(config:logger:)``, returning the settings and database beside the App.
/// - Parameters:
///   - migrate: apply pending migrations (skipped by workers whose master did it).
///   - rateLimitClock: the rate limiter's clock in epoch seconds; tests pass a fixed one so
///     that no window boundary falls between their requests.
///   - describeOnly: build the routes and their document only, touching no file: an empty
///     in-memory database, no instance folder, no generated secret, no host region, rate-limit
///     counters in memory. For commands that describe the service (`routes`, `openapi`,
///     `check-config`); such an application must never serve.
public func makeApplication(
    config: Config, logger: Logger = Logger(label: "tasks-api"), migrate: Bool = true,
    describeOnly: Bool = false, rateLimitClock: @escaping @Sendable () -> Int64 = UnixTime.now
) async throws -> Application {
    var settings = try Settings(config: config)
    var logger = logger
    logger.logLevel = settings.logLevel
    let database: Database
    if describeOnly {
        database = try Database(inMemory: ())
        // The development secret's file is neither read nor created: nothing gets signed.
        if settings.secretKey.isEmpty { settings.secretKey = throwawaySecret() }
        if settings.jwtSecretKey.isEmpty { settings.jwtSecretKey = throwawaySecret() }
    } else {
        switch settings.database {
        case .sqlite(let path):
            // The instance folder is owner-only (0700) when the service keeps anything in it.
            if path.hasPrefix(settings.instancePath + "/") || settings.usesGeneratedSecrets {
                try PrivateFiles.folder(settings.instancePath, logger: logger)
            }
            database = try Database(path: path, durability: settings.sqliteDurability, logger: logger)
        case .postgres(let url):
            database = try Database(postgres: url)
        }
        try settings.loadGeneratedSecrets(logger: logger)
        if migrate { try database.migrate() }
    }

    // An application that only describes itself shares nothing with other processes.
    let region = describeOnly ? nil : try hostRegion(database: database, settings: settings)
    let stores = Stores(database: database)
    let accountStore: any AccountStore
    if let postgres = database.postgres, !describeOnly {
        accountStore = GenerationRevocations(stores.accounts, generation: .database(postgres))
    } else {
        accountStore = region.map { GenerationRevocations(stores.accounts, region: $0) } ?? stores.accounts
    }
    let accounts = Accounts(store: accountStore, hasher: try PasswordHasher(config: config), logger: logger)
    let signer = JWTSigner(secret: settings.jwtSecretKey, previousSecrets: settings.jwtPreviousSecretKeys)
    let tokens = TokenIssuer(
        signer: signer, accessLifetime: Int64(settings.jwtAccessTokenExpires),
        refreshLifetime: Int64(settings.jwtRefreshTokenExpires))

    var app = App(logger: logger)
    app.maxContentLength = settings.maxContentLength
    // Stage order: CORS answers preflights before anything counts them; the rate limit
    // applies before authentication (flask-limiter's before_request); then auth.
    app.use(CORSMiddleware(allowedOrigins: settings.corsOrigins))
    if settings.rateLimitEnabled {
        app.use(
            RateLimitMiddleware(
                defaultLimits: settings.rateLimitDefaultLimits,
                store: try region.map {
                    try makeRateLimitStore(settings.rateLimitStorage, database: database, region: $0, logger: logger)
                } ?? MemoryRateLimitStore(),
                trustedProxies: settings.trustedProxyNetworks, now: rateLimitClock))
    }
    // A logged-out token is refused by every worker: revocation lives in the database, and
    // the host region's generation tells each worker when to read it again.
    let store = accounts.store
    app.use(
        AuthMiddleware(signer: signer, trustProxyHeaders: settings.trustProxyAuth) { jti in
            try store.isRevoked(jti: jti)
        })
    let docs = APIDocs()
    // Parsed once here, so a missing or broken template stops start-up, never a request.
    let templates = describeOnly ? Templates.unread : try Templates(folder: Templates.folder(config: config))
    app.register(Blueprints.home(templates: templates))
    for blueprint in Blueprints.meta(database: database, docs: docs, templates: templates) {
        app.register(blueprint)
    }
    app.register(Blueprints.auth(accounts: accounts, tokens: tokens))
    app.register(Blueprints.users(accounts: accounts))
    app.register(Blueprints.tasks(store: stores.tasks))
    app.register(Blueprints.products(store: stores.products))
    if settings.testing { app.register(Blueprints.testing(database: database)) }
    // Last: the document describes every route registered above, its own included.
    docs.publish(app.openAPIDocument(title: Application.title, version: Application.version))
    return Application(app: app, settings: settings, database: database, accounts: accounts, hostRegion: region)
}

/// The host's shared-memory region: inherited from the master, else the file beside the
/// database that workers without a master share (as SQLite's own `-shm` file is); with
/// PostgreSQL, a file in the instance folder.
func hostRegion(database: Database, settings: Settings) throws -> HostRegion {
    let beside = database.postgres == nil ? database.path : settings.instancePath + "/postgres"
    if database.postgres != nil, getenv(HostRegion.descriptorVariable) == nil {
        try PrivateFiles.folder(settings.instancePath, logger: nil)
    }
    return try HostRegion.forThisProcess(fallbackPath: hostRegionPath(database: beside))
}

/// The stores of every resource on the configured backend.
struct Stores {
    let accounts: any AccountStore
    let tasks: any TaskStore
    let products: any ProductStore

    init(database: Database) {
        if let postgres = database.postgres {
            accounts = PostgresAccountStore(database: postgres)
            tasks = PostgresTaskStore(database: postgres)
            products = PostgresProductStore(database: postgres)
        } else {
            accounts = SQLiteAccountStore(database: database)
            tasks = SQLiteTaskStore(database: database)
            products = SQLiteProductStore(database: database)
        }
    }
}

/// The host region's file for workers started without a master: beside the database they share.
public func hostRegionPath(database path: String) -> String { path + "-host-region" }

/// The counters `RATELIMIT_STORAGE_URL` selects; by default the host's shared-memory region,
/// with a second connection to the application database for keys that do not fit.
func makeRateLimitStore(
    _ storage: RateLimitStorage, database: Database, region: HostRegion, logger: Logger
) throws -> any RateLimitStore {
    switch storage {
    case .sharedMemory:
        if let postgres = database.postgres {
            return SharedMemoryRateLimitStore(region: region, logger: logger) {
                PostgresRateLimitStore(database: postgres)
            }
        }
        return SharedMemoryRateLimitStore(region: region, logger: logger) {
            try SQLiteRateLimitStore(path: database.path, sharesApplicationDatabase: true, application: database)
        }
    case .database:
        if let postgres = database.postgres { return PostgresRateLimitStore(database: postgres) }
        return try SQLiteRateLimitStore(path: database.path, sharesApplicationDatabase: true, application: database)
    case .sqlite(let path):
        return try SQLiteRateLimitStore(path: path, sharesApplicationDatabase: false)
    case .memory:
        return MemoryRateLimitStore()
    }
}

/// A random key for an application that only describes itself.
private func throwawaySecret() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
}
