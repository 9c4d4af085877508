// GRDB's rows and bound values in the backend-neutral SQLRow and SQLValue.

import Foundation
import GRDB
import GRDBSQLite

extension Row: SQLRow {
    public func value(_ column: String) -> SQLValue {
        guard hasColumn(column) else { return .null }
        let value: DatabaseValue = self[column]
        switch value.storage {
        case .null: return .null
        case .int64(let number): return .integer(number)
        case .double(let number): return .real(number)
        case .string(let text): return .text(text)
        // The stores write no blobs; one read as text keeps whatever it holds visible.
        case .blob(let data): return .text(String(decoding: data, as: UTF8.self))
        }
    }
}

extension SQLValue: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let number): return number.databaseValue
        case .real(let number): return number.databaseValue
        case .text(let text): return text.databaseValue
        }
    }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> SQLValue? {
        switch dbValue.storage {
        case .null: return .null
        case .int64(let number): return .integer(number)
        case .double(let number): return .real(number)
        case .string(let text): return .text(text)
        case .blob(let data): return .text(String(decoding: data, as: UTF8.self))
        }
    }
}

extension GRDB.Statement {
    /// Runs a statement that returns no rows, its `?` bound in order to `values`, straight
    /// through SQLite's C API.
    ///
    /// GRDB's `execute(arguments:)` first turns the values into its own through a generic
    /// initializer that it cannot specialise for them (about 1,400 instructions a value, most
    /// of them generic metadata lookups), then binds them, and runs the statement between its
    /// observation hooks. Nothing here needs those hooks: the service registers no
    /// transaction observer, and such a statement neither begins nor ends a transaction. (A
    /// GRDB transaction observer would still see the commit, not the rows changed.)
    ///
    /// Text is bound with its byte length, so a NUL inside it is stored, not cut at; an empty
    /// string is bound as an empty string, not as NULL. SQLite copies each text
    /// (`SQLITE_TRANSIENT`).
    /// - Throws: `DatabaseError` with SQLite's extended result code and message, as GRDB does.
    func run(_ values: [SQLValue]) throws {
        let handle = sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        precondition(
            values.count == Int(sqlite3_bind_parameter_count(handle)), "one value for each parameter of \(sql)")
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let bound: Int32
            switch value {
            case .null:
                bound = sqlite3_bind_null(handle, index)
            case .integer(let number):
                bound = sqlite3_bind_int64(handle, index, number)
            case .real(let number):
                bound = sqlite3_bind_double(handle, index, number)
            case .text(var text):
                bound = text.withUTF8 { bytes in
                    // A nil pointer would bind NULL; an empty buffer may have one.
                    let start = UnsafeRawPointer(bytes.baseAddress ?? ("" as StaticString).utf8Start)
                    return sqlite3_bind_text(
                        handle, index, start.assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.transient)
                }
            }
            guard bound == SQLITE_OK else { throw error(of: handle) }
        }
        guard sqlite3_step(handle) == SQLITE_DONE else { throw error(of: handle) }
    }

    /// SQLite's `SQLITE_TRANSIENT`: copy the value before returning.
    private static var transient: sqlite3_destructor_type {
        unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
    }

    /// The connection's last error, as GRDB reports it.
    private func error(of handle: OpaquePointer) -> DatabaseError {
        let connection = sqlite3_db_handle(handle)
        return DatabaseError(
            resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
            message: String(cString: sqlite3_errmsg(connection)), sql: sql)
    }
}
