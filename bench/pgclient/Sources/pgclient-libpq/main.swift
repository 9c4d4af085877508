// The bench's work through libpq: one synchronous connection, statements prepared once, text parameters, as the service's PostgresConnection does it.

import CLibPQ
import PGClientBench

#if canImport(Glibc)
    import Glibc
#endif

/// One libpq connection, driven from the calling thread only.
final class Connection {
    private let connection: OpaquePointer?

    init(_ options: Options) throws {
        let keywords = ["host", "port", "user", "dbname", "application_name"]
        let values = [options.socketFolder, String(options.port), options.user, options.database, "pgclient-libpq"]
        connection = withCStrings(keywords) { keywords in
            withCStrings(values) { values in PQconnectdbParams(keywords, values, 0) }
        }
        guard PQstatus(connection) == CONNECTION_OK else { throw Failure(connection, nil) }
        for (name, sql) in [("select_task", Statements.select), ("insert_task", Statements.insert)] {
            let result = PQprepare(connection, name, sql, 0, nil)
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw Failure(connection, result) }
        }
    }

    deinit { PQfinish(connection) }

    func select(_ id: Int64) throws -> TaskRow {
        try run("select_task", [String(id)])
    }

    func insert(_ task: NewTask) throws -> TaskRow {
        try run(
            "insert_task",
            [
                String(task.ownerID), task.title, task.description, String(task.priority), task.completed ? "t" : "f",
                task.timestamp, task.timestamp,
            ])
    }

    private func run(_ name: String, _ parameters: [String]) throws -> TaskRow {
        let result = withCStrings(parameters) { pointers in
            PQexecPrepared(connection, name, Int32(parameters.count), pointers, nil, nil, 0)
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else { throw Failure(connection, result) }
        guard PQntuples(result) == 1 else { throw BenchError.noRow }
        func text(_ column: Int32) -> String { String(cString: PQgetvalue(result, 0, column)) }
        return TaskRow(
            id: Int64(text(0)) ?? 0, ownerID: Int64(text(1)) ?? 0, title: text(2), description: text(3),
            priority: Int32(text(4)) ?? 0, completed: text(5) == "t", createdAt: text(6), updatedAt: text(7),
            version: Int64(text(8)) ?? 0)
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String

    init(_ connection: OpaquePointer?, _ result: OpaquePointer?) {
        let message = result.flatMap { PQresultErrorMessage($0) } ?? PQerrorMessage(connection)
        description = message.map { String(cString: $0) } ?? "libpq failed"
    }
}

/// Calls `body` with C strings of `texts`, valid only during the call.
func withCStrings<T>(_ texts: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
    let copies = texts.map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    // Keyword and value arrays end at a NULL; counted parameter arrays ignore it.
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}

let options = Options.parse()
do {
    let connection = try Connection(options)
    let (selects, inserts) = try measure(options, select: connection.select, insert: connection.insert)
    report(client: "libpq", select: selects, insert: inserts)
} catch {
    print("pgclient-libpq: \(error)")
    exit(1)
}
