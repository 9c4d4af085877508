// A result row and a column value, the same for the SQLite and the PostgreSQL stores.

/// One column's value as either backend returns it. Booleans arrive as `.integer(0/1)`
/// from both, timestamps as RFC 3339 text.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// One row of a query's result, read by column name. Both backends' rows conform, so a
/// resource maps its columns once for both.
public protocol SQLRow {
    /// The value of `column`; `.null` when the row has no such column.
    func value(_ column: String) -> SQLValue
}

extension SQLRow {
    /// The column as an integer, nil when null or not an integer.
    public func int64(_ column: String) -> Int64? {
        if case .integer(let value) = value(column) { return value }
        return nil
    }

    /// The column as text, nil when null or not text.
    public func string(_ column: String) -> String? {
        if case .text(let value) = value(column) { return value }
        return nil
    }

    /// The column as a boolean: a non-zero integer is true.
    public func bool(_ column: String) -> Bool? {
        int64(column).map { $0 != 0 }
    }
}
