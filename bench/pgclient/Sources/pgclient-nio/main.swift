// The bench's work through postgres-nio, called from one synchronous thread as a prefork worker would have to: `future` waits on EventLoopFutures, `async` blocks on async calls.

import Dispatch
import Logging
import NIOCore
import NIOPosix
import PGClientBench
import PostgresNIO

#if canImport(Glibc)
    import Glibc
#endif

typealias Columns = (Int64, Int64, String, String, Int32, Bool, String, String, Int64)

func taskRow(_ row: PostgresRow) throws -> TaskRow {
    let columns = try row.decode(Columns.self)
    return TaskRow(
        id: columns.0, ownerID: columns.1, title: columns.2, description: columns.3, priority: columns.4,
        completed: columns.5, createdAt: columns.6, updatedAt: columns.7, version: columns.8)
}

/// The deprecated PreparedQuery path labels binary cells as text, which `decode` refuses;
/// its own PostgresData accessors read them.
func legacyTaskRow(_ row: PostgresRow) -> TaskRow {
    let cells = row.makeRandomAccess()
    return TaskRow(
        id: cells[data: "id"].int64 ?? 0, ownerID: cells[data: "owner_id"].int64 ?? 0,
        title: cells[data: "title"].string ?? "", description: cells[data: "description"].string ?? "",
        priority: cells[data: "priority"].int32 ?? 0, completed: cells[data: "completed"].bool ?? false,
        createdAt: cells[data: "created_at"].string ?? "", updatedAt: cells[data: "updated_at"].string ?? "",
        version: cells[data: "version"].int64 ?? 0)
}

func newTaskBinds(_ task: NewTask) -> [PostgresData] {
    [
        PostgresData(int64: task.ownerID), PostgresData(string: task.title), PostgresData(string: task.description),
        PostgresData(int32: task.priority), PostgresData(bool: task.completed), PostgresData(string: task.timestamp),
        PostgresData(string: task.timestamp),
    ]
}

struct SelectTask: PostgresPreparedStatement {
    static let sql = Statements.select
    typealias Row = TaskRow
    var id: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(id)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> TaskRow { try taskRow(row) }
}

struct InsertTask: PostgresPreparedStatement {
    static let sql = Statements.insert
    typealias Row = TaskRow
    var task: NewTask

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(task.ownerID)
        bindings.append(task.title)
        bindings.append(task.description)
        bindings.append(task.priority)
        bindings.append(task.completed)
        bindings.append(task.timestamp)
        bindings.append(task.timestamp)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> TaskRow { try taskRow(row) }
}

/// Where an async call's outcome crosses back to the blocked thread; the semaphore orders
/// the write before the read.
final class Outcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Runs `body` on the concurrency pool and blocks the calling thread until it ends: the
/// bridge a synchronous worker needs for an async-only API.
func blocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { outcome.result = .success(try await body()) } catch { outcome.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try outcome.result!.get()
}

func onlyRow(_ rows: some AsyncSequence<TaskRow, any Error>) async throws -> TaskRow {
    var found: TaskRow?
    for try await row in rows { found = row }
    guard let found else { throw BenchError.noRow }
    return found
}

let options = Options.parse()
var logger = Logger(label: "pgclient-nio")
logger.logLevel = .error
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let configuration = PostgresConnection.Configuration(
    unixSocketPath: "\(options.socketFolder)/.s.PGSQL.\(options.port)", username: options.user, password: nil,
    database: options.database)

do {
    let connection = try PostgresConnection.connect(
        on: group.next(), configuration: configuration, id: 1, logger: logger
    ).wait()
    let timings: (select: [UInt64], insert: [UInt64])
    switch options.mode {
    case "", "future":
        let select = try connection.prepare(query: Statements.select).wait()
        let insert = try connection.prepare(query: Statements.insert).wait()
        timings = try measure(
            options,
            select: { id in
                guard let row = try select.execute([PostgresData(int64: id)]).wait().first else {
                    throw BenchError.noRow
                }
                return legacyTaskRow(row)
            },
            insert: { task in
                guard let row = try insert.execute(newTaskBinds(task)).wait().first else { throw BenchError.noRow }
                return legacyTaskRow(row)
            })
    case "async":
        timings = try measure(
            options,
            select: { [logger] id in
                try blocking { try await onlyRow(connection.execute(SelectTask(id: id), logger: logger)) }
            },
            insert: { [logger] task in
                try blocking { try await onlyRow(connection.execute(InsertTask(task: task), logger: logger)) }
            })
    default:
        print("pgclient-nio: --mode is future or async")
        exit(2)
    }
    report(
        client: "nio-\(options.mode.isEmpty ? "future" : options.mode)", select: timings.select, insert: timings.insert)
    try connection.close().wait()
    try group.syncShutdownGracefully()
} catch {
    print("pgclient-nio: \(String(reflecting: error))")
    exit(1)
}
