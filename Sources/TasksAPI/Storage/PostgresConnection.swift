// One libpq connection: connecting from a URL, prepared statements by name, rows, errors by SQLSTATE.

import CLibPQ
import Foundation

/// A failure reported by PostgreSQL or libpq. The description holds the server's primary
/// message and SQLSTATE only: never the connection string, so never the password.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// The five-character SQLSTATE, nil when libpq failed without a server answer
    /// (connection lost, server unreachable).
    public let sqlState: String?
    public let message: String

    public var description: String { "PostgreSQL" + (sqlState.map { " \($0)" } ?? "") + ": \(message)" }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// Serialization failure or deadlock: the transaction may succeed when run again.
    public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }
    /// The connection is gone (class 08, admin shutdown 57P01, or no answer at all).
    public var isConnectionFailure: Bool {
        sqlState == nil || sqlState?.hasPrefix("08") == true || sqlState == "57P01" || sqlState == "57P02"
            || sqlState == "57P03"
    }
}

/// One row of a PostgreSQL result, read as ``SQLRow``.
struct PostgresRow: SQLRow {
    let columns: PostgresColumns
    let values: [SQLValue]

    func value(_ column: String) -> SQLValue {
        guard let index = columns.index[column] else { return .null }
        return values[index]
    }

    /// The first column, for `SELECT count(*)` and the like.
    var first: SQLValue { values.first ?? .null }
}

/// A result's column names, shared by its rows.
final class PostgresColumns {
    let index: [String: Int]
    init(_ names: [String]) {
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() where index[name] == nil { index[name] = position }
        self.index = index
    }
}

/// A synchronous libpq connection, used by one thread at a time (``PostgresDatabase`` locks).
///
/// Each distinct SQL text is prepared once per connection under a name of its own and then
/// only executed with its parameters, as GRDB's statement cache does for SQLite. Parameters
/// travel separately from the SQL (`PQexecPrepared`), as text; the server parses them by the
/// types it inferred for the statement.
final class PostgresConnection {
    private var connection: OpaquePointer?
    private var statements: [String: String] = [:]
    /// Statements that got the server's answer, counted so that a caller can tell whether a
    /// failed operation ran anything at all.
    private(set) var completedStatements = 0

    /// Connects with `url`, a `postgres://` or `postgresql://` URI as libpq reads it
    /// (user, password, host, port, dbname; `?host=/folder` for a unix socket's folder).
    init(url: String) throws {
        // The URL comes last, so its own settings win over these defaults: an unreachable server
        // fails the request after 10 s instead of holding the worker until the request timeout.
        let keywords = ["connect_timeout", "application_name", "dbname"]
        let values = ["10", "tasks-api", url]
        connection = Self.withCStrings(keywords) { keywords in
            Self.withCStrings(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let error = PostgresError(sqlState: nil, message: Self.message(of: connection))
            PQfinish(connection)
            connection = nil
            throw error
        }
        // Timestamps are rendered by the service; the session's own zone never shows. Notices
        // ("already exists, skipping") would go to the worker's stderr, unstructured.
        try command("SET TIME ZONE 'UTC'; SET client_min_messages = warning")
    }

    deinit { PQfinish(connection) }

    /// Whether libpq still considers the connection usable.
    var isOpen: Bool { PQstatus(connection) == CONNECTION_OK }

    /// Runs `sql` with `parameters` bound to `$1`, `$2`, …, preparing it on first use.
    /// - Returns: the result's rows (none for a statement without a result).
    @discardableResult
    func query(_ sql: String, _ parameters: [SQLValue] = []) throws -> [PostgresRow] {
        let result = try run(sql, parameters)
        defer { PQclear(result) }
        return Self.rows(of: result)
    }

    /// The number of rows a statement without `RETURNING` changed.
    func execute(_ sql: String, _ parameters: [SQLValue] = []) throws -> Int {
        let result = try run(sql, parameters)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// Runs a parameterless command (transaction control, DDL), without preparing it.
    func command(_ sql: String) throws {
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        try check(result)
        completedStatements += 1
    }

    /// Executes the prepared form of `sql` with `parameters`.
    /// - Returns: the successful result, which the caller clears.
    private func run(_ sql: String, _ parameters: [SQLValue]) throws -> OpaquePointer? {
        let name = try prepared(sql)
        let texts: [String?] = parameters.map(Self.text)
        let result = Self.withCStrings(texts) { pointers in
            PQexecPrepared(connection, name, Int32(texts.count), pointers, nil, nil, 0)
        }
        do {
            try check(result)
        } catch {
            PQclear(result)
            throw error
        }
        completedStatements += 1
        return result
    }

    private func prepared(_ sql: String) throws -> String {
        if let name = statements[sql] { return name }
        let name = "tasks_api_\(statements.count + 1)"
        let result = PQprepare(connection, name, sql, 0, nil)
        defer { PQclear(result) }
        try check(result)
        statements[sql] = name
        return name
    }

    private func check(_ result: OpaquePointer?) throws {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return
        default:
            guard let result, let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) else {
                throw PostgresError(sqlState: nil, message: Self.message(of: connection))
            }
            let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            throw PostgresError(sqlState: String(cString: state), message: primary ?? Self.message(of: connection))
        }
    }

    private static func message(of connection: OpaquePointer?) -> String {
        guard let text = PQerrorMessage(connection) else { return "no connection" }
        let message = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
        return message.isEmpty ? "no connection" : message
    }

    /// int2/4/8 as integers, bool as 1 or 0, float4/8 as reals, anything else as text.
    private static func rows(of result: OpaquePointer?) -> [PostgresRow] {
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        guard rowCount > 0, columnCount > 0 else { return [] }
        let columns = PostgresColumns((0..<columnCount).map { String(cString: PQfname(result, $0)) })
        let types = (0..<columnCount).map { PQftype(result, $0) }
        return (0..<rowCount).map { row in
            PostgresRow(
                columns: columns,
                values: (0..<columnCount).map { column in
                    if PQgetisnull(result, row, column) != 0 { return .null }
                    let text = String(cString: PQgetvalue(result, row, column))
                    switch types[Int(column)] {
                    case 20, 21, 23: return Int64(text).map(SQLValue.integer) ?? .text(text)
                    case 16: return .integer(text == "t" ? 1 : 0)
                    case 700, 701: return Double(text).map(SQLValue.real) ?? .text(text)
                    default: return .text(text)
                    }
                })
        }
    }

    private static func text(_ value: SQLValue) -> String? {
        switch value {
        case .null: return nil
        case .integer(let integer): return String(integer)
        case .real(let real): return String(real)
        case .text(let text): return text
        }
    }

    /// Calls `body` with C strings of `texts` (nil for SQL NULL), valid only during the call.
    private static func withCStrings<T>(
        _ texts: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T
    ) -> T {
        let copies: [UnsafeMutablePointer<CChar>?] = texts.map { $0.map { strdup($0) } }
        defer { for copy in copies { free(copy) } }
        // libpq reads keyword and value arrays up to a terminating NULL; counted arrays ignore it.
        let pointers = copies.map { UnsafePointer($0) } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
