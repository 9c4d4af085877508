// Tasks in the embedded SQLite database; parameterised SQL only.

import Flagon
import GRDB

/// ``TaskStore`` on the service's SQLite database.
///
/// Every statement binds its values, and every one is scoped by `owner_id`. A conditional
/// write checks the version in the `UPDATE`/`DELETE` itself, inside GRDB's immediate write
/// transaction, so concurrent writers from several worker processes conditioned on the
/// same version give exactly one success.
///
/// Each operation is one transaction, and its statements come from the connection's statement
/// cache: a worker prepares each of them once and then only binds and steps it. The list's
/// SQL is built from fixed fragments only, so it too has a bounded number of forms. Rows
/// become tasks, and tasks bound columns, through ``TaskItem/resource``.
public struct SQLiteTaskStore: TaskStore {
    let database: Database

    public init(database: Database) { self.database = database }

    public func create(owner: Int64, fields: Input<TaskItem>) throws -> TaskItem {
        let now = Timestamps.now()
        // title, description, priority, completed: the declaration's order of the writable columns.
        let columns = TaskItem.writableColumns(fields).map(\.value)
        do {
            return try database.write(joiningRound: true) { db in
                try db.cachedStatement(
                    sql: """
                        INSERT INTO tasks (owner_id, title, description, priority, completed, created_at, updated_at, version)
                        VALUES (?, ?, ?, ?, ?, ?, ?, 1)
                        """
                ).run([SQLValue.integer(owner)] + columns + [.text(now), .text(now)])
                var task = fields.model
                task.id = db.lastInsertedRowID
                task.ownerID = owner
                task.createdAt = now
                task.updatedAt = now
                task.version = 1
                return task
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
            throw TaskError.ownerNotFound
        }
    }

    public func task(id: Int64, owner: Int64) throws -> TaskItem? {
        try database.read { db in try Self.task(db, id: id, owner: owner) }
    }

    public func tasks(
        owner: Int64, filter: TaskFilter, sort: TaskSort, offset: Int, limit: Int
    ) throws
        -> (tasks: [TaskItem], total: Int)
    {
        var conditions = ["owner_id = ?"]
        var values: [(any DatabaseValueConvertible)?] = [owner]
        if let completed = filter.completed {
            conditions.append("completed = ?")
            values.append(completed)
        }
        if let priority = filter.priority {
            conditions.append("priority = ?")
            values.append(priority)
        }
        // Only fixed fragments are joined into the SQL; every value is bound.
        let whereClause = conditions.joined(separator: " AND ")
        return try database.read { db in
            let total =
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT count(*) FROM tasks WHERE \(whereClause)"),
                    arguments: StatementArguments(values)) ?? 0
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT * FROM tasks WHERE \(whereClause) ORDER BY \(Self.orderBy(sort)) LIMIT ? OFFSET ?"),
                arguments: StatementArguments(values + [limit, offset]))
            return (rows.map(TaskItem.init(row:)), total)
        }
    }

    public func update(id: Int64, owner: Int64, changes: Patch<TaskItem>, ifVersion version: Int64?) throws -> TaskItem
    {
        let now = Timestamps.now()
        let columns = TaskItem.patchColumns(changes).map(\.value)
        return try database.write(joiningRound: true) { db in
            // A nil change keeps the column (coalesce); a nil version matches any version.
            try db.cachedStatement(
                sql: """
                    UPDATE tasks SET
                        title = coalesce(?, title), description = coalesce(?, description),
                        priority = coalesce(?, priority), completed = coalesce(?, completed),
                        updated_at = ?, version = version + 1
                    WHERE id = ? AND owner_id = ? AND version = coalesce(?, version)
                    """
            ).run(columns + [.text(now), .integer(id), .integer(owner), version.map(SQLValue.integer) ?? .null])
            guard db.changesCount == 1, let task = try Self.task(db, id: id, owner: owner) else {
                throw try Self.failure(db, id: id, owner: owner)
            }
            return task
        }
    }

    public func delete(id: Int64, owner: Int64, ifVersion version: Int64?) throws {
        try database.write(joiningRound: true) { db in
            try db.cachedStatement(
                sql: "DELETE FROM tasks WHERE id = ? AND owner_id = ? AND version = coalesce(?, version)"
            ).execute(arguments: [id, owner, version])
            if db.changesCount != 1 { throw try Self.failure(db, id: id, owner: owner) }
        }
    }

    /// Why a write scoped to (id, owner) changed nothing: the task is not the owner's, or
    /// its version moved on. Read in the write's own transaction.
    private static func failure(_ db: GRDB.Database, id: Int64, owner: Int64) throws -> TaskError {
        let exists =
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM tasks WHERE id = ? AND owner_id = ?"), arguments: [id, owner])
            ?? false
        return exists ? .versionMismatch : .notFound
    }

    private static func task(_ db: GRDB.Database, id: Int64, owner: Int64) throws -> TaskItem? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM tasks WHERE id = ? AND owner_id = ?"), arguments: [id, owner]
        ).map(TaskItem.init(row:))
    }

    /// The ORDER BY of each sort, with the id as tie-breaker; served by the
    /// (owner_id, created_at) and (owner_id, priority) indexes, which hold the id too.
    static func orderBy(_ sort: TaskSort) -> String {
        switch sort {
        case .createdAt: return "created_at ASC, id ASC"
        case .createdAtDescending: return "created_at DESC, id DESC"
        case .priority: return "priority ASC, id ASC"
        case .priorityDescending: return "priority DESC, id ASC"
        }
    }
}
