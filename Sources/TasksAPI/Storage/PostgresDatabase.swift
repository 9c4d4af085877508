// The PostgreSQL database: one connection per process, opened lazily, its transactions and URL.

import CLibPQ
import Flagon
import Foundation

/// The service's PostgreSQL database, one connection per worker process, opened on first use.
///
/// Workers serve one request at a time, so one synchronous connection each is what PHP's pgsql
/// or psycopg2 keep under prefork; the lock only matters to in-process callers such as tests.
public final class PostgresDatabase: @unchecked Sendable {
    let url: String
    /// The URL without its password, for logs and messages.
    public let displayURL: String
    private let lock = NSLock()
    private var connection: PostgresConnection?

    /// Transactions ended by a serialization failure or deadlock are run again this many times.
    static let retries = 5

    /// - Throws: ``ConfigError`` when libpq cannot read `url`.
    public init(url: String) throws(ConfigError) {
        self.url = url
        displayURL = try Self.displayURL(url)
    }

    /// Runs `body` on this process's connection, opening it first if there is none or libpq
    /// found it broken. When the connection turns out broken before any statement of `body`
    /// completed (the server restarted between two requests), nothing of `body` ran: it is
    /// reconnected and run again, once.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        var reconnected = false
        while true {
            let current: PostgresConnection
            if let connection, connection.isOpen {
                current = connection
            } else {
                connection = nil
                current = try PostgresConnection(url: url)
                connection = current
                reconnected = true
            }
            let completed = current.completedStatements
            do {
                return try body(current)
            } catch let error as PostgresError
                where error.isConnectionFailure && !reconnected && current.completedStatements == completed
            {
                connection = nil
                reconnected = true
            }
        }
    }

    /// Runs `body` in one transaction, committed when it returns and rolled back when it
    /// throws. A serialization failure or deadlock (SQLSTATE 40001, 40P01) runs it again, as
    /// the server asks; they happen where the operator set `default_transaction_isolation`
    /// to serializable, or when writers lock rows in opposite orders.
    /// - Parameter begin: the statement that opens it, with its isolation level.
    func transaction<T>(begin: String = "BEGIN", _ body: (PostgresConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try withConnection { connection in
                    try connection.command(begin)
                    do {
                        let value = try body(connection)
                        try connection.command("COMMIT")
                        return value
                    } catch {
                        try? connection.command("ROLLBACK")
                        throw error
                    }
                }
            } catch let error as PostgresError where error.isRetryable && attempt < Self.retries {
                attempt += 1
            }
        }
    }

    /// A read whose statements all see one snapshot (a count and the page it belongs to).
    func snapshot<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// A real round trip through the schema, for `/healthz`.
    public func isHealthy() -> Bool {
        (try? withConnection { try $0.query("SELECT count(*) FROM schema_migrations") }) != nil
    }

    /// The revocation generation: bumped in every revoking transaction, read by every host.
    func revocationGeneration() throws -> UInt64 {
        let rows = try withConnection { try $0.query("SELECT generation FROM revocation_generation WHERE id = 1") }
        return rows.first?.int64("generation").map { UInt64(bitPattern: $0) } ?? 0
    }

    /// `postgresql://user@host:port/dbname` (socket folders as `?host=`), without the password
    /// wherever the URL held it.
    static func displayURL(_ url: String) throws(ConfigError) -> String {
        // The first PostgreSQL use in a process: libpq is loaded here, not at start-up.
        if let message = CLibPQ_load() {
            throw ConfigError(
                "DATABASE_URL names PostgreSQL, but libpq cannot be loaded (Debian: libpq5): \(String(cString: message))"
            )
        }
        var options: [String: String] = [:]
        guard let parsed = PQconninfoParse(url, nil) else {
            // libpq's own message may quote parts of the URL, the password among them.
            throw ConfigError("DATABASE_URL is not a PostgreSQL connection URI libpq can read")
        }
        defer { PQconninfoFree(parsed) }
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { options[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        let user = options["user"].map { $0 + "@" } ?? ""
        let host = options["host"] ?? ""
        let socket = host.hasPrefix("/")
        let port = options["port"].map { ":" + $0 } ?? ""
        let database = options["dbname"] ?? ""
        return "postgresql://\(user)\(socket ? "" : host)\(socket ? "" : port)/\(database)"
            + (socket ? "?host=\(host)" + (options["port"].map { "&port=\($0)" } ?? "") : "")
    }
}
