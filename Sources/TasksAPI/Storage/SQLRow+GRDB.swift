// GRDB's rows and bound values in the backend-neutral SQLRow and SQLValue.

import Foundation
import GRDB

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

extension StatementArguments {
    /// Positional arguments of bound values. GRDB's initializer for a sequence of one
    /// convertible type maps it with a key path, applied at run time (several hundred
    /// instructions per value); this one goes through the existential initializer, a direct
    /// call per value.
    init(sqlValues values: [SQLValue]) {
        self.init(values.map { $0 as (any DatabaseValueConvertible)? })
    }
}
