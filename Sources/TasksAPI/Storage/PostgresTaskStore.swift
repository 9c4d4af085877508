// Tasks in PostgreSQL; parameterised SQL only.

import Flagon

/// ``TaskStore`` on the service's PostgreSQL database.
///
/// A conditional write checks the version in the `UPDATE`/`DELETE` itself
/// (`WHERE version = $n`): PostgreSQL re-checks the condition on the newest row version when
/// a concurrent writer got there first, so writers conditioned on the same version, on any
/// number of hosts, give exactly one success. The list's SQL is built from fixed fragments
/// only; every value is bound.
public struct PostgresTaskStore: TaskStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    public func create(owner: Int64, fields: Input<TaskItem>) throws -> TaskItem {
        let now = Timestamps.now()
        // title, description, priority, completed: the declaration's order of the writable columns.
        let columns = TaskItem.writableColumns(fields).map(\.value)
        do {
            let rows = try database.transaction { connection in
                try connection.query(
                    """
                    INSERT INTO tasks (owner_id, title, description, priority, completed, created_at, updated_at, version)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, 1) RETURNING *
                    """,
                    [.integer(owner)] + columns + [.text(now), .text(now)])
            }
            guard let row = rows.first else { throw PostgresError(sqlState: nil, message: "INSERT returned no row") }
            return TaskItem(row: row)
        } catch let error as PostgresError where error.isForeignKeyViolation {
            throw TaskError.ownerNotFound
        }
    }

    public func task(id: Int64, owner: Int64) throws -> TaskItem? {
        try database.withConnection { connection in
            try connection.query(
                "SELECT * FROM tasks WHERE id = $1 AND owner_id = $2", [.integer(id), .integer(owner)]
            )
            .first.map(TaskItem.init(row:))
        }
    }

    public func tasks(
        owner: Int64, filter: TaskFilter, sort: TaskSort, offset: Int, limit: Int
    ) throws
        -> (tasks: [TaskItem], total: Int)
    {
        var conditions = ["owner_id = $1"]
        var values: [SQLValue] = [.integer(owner)]
        if let completed = filter.completed {
            values.append(.integer(completed ? 1 : 0))
            conditions.append("completed = $\(values.count)")
        }
        if let priority = filter.priority {
            values.append(.integer(Int64(priority)))
            conditions.append("priority = $\(values.count)")
        }
        let whereClause = conditions.joined(separator: " AND ")
        let page = "LIMIT $\(values.count + 1) OFFSET $\(values.count + 2)"
        return try database.snapshot { connection in
            let total = try connection.query("SELECT count(*) FROM tasks WHERE \(whereClause)", values).first?.first
            let rows = try connection.query(
                "SELECT * FROM tasks WHERE \(whereClause) ORDER BY \(SQLiteTaskStore.orderBy(sort)) \(page)",
                values + [.integer(Int64(limit)), .integer(Int64(offset))])
            return (rows.map(TaskItem.init(row:)), total?.integer.map(Int.init) ?? 0)
        }
    }

    public func update(id: Int64, owner: Int64, changes: Patch<TaskItem>, ifVersion version: Int64?) throws -> TaskItem
    {
        let now = Timestamps.now()
        let columns = TaskItem.patchColumns(changes).map(\.value)
        return try database.transaction { connection in
            // A nil change keeps the column (coalesce); a nil version matches any version.
            let rows = try connection.query(
                """
                UPDATE tasks SET
                    title = coalesce($1, title), description = coalesce($2, description),
                    priority = coalesce($3, priority), completed = coalesce($4, completed),
                    updated_at = $5, version = version + 1
                WHERE id = $6 AND owner_id = $7 AND version = coalesce($8, version)
                RETURNING *
                """,
                columns + [.text(now), .integer(id), .integer(owner), version.map(SQLValue.integer) ?? .null])
            guard let row = rows.first else { throw try Self.failure(connection, id: id, owner: owner) }
            return TaskItem(row: row)
        }
    }

    public func delete(id: Int64, owner: Int64, ifVersion version: Int64?) throws {
        try database.transaction { connection in
            let deleted = try connection.execute(
                "DELETE FROM tasks WHERE id = $1 AND owner_id = $2 AND version = coalesce($3, version)",
                [.integer(id), .integer(owner), version.map(SQLValue.integer) ?? .null])
            if deleted != 1 { throw try Self.failure(connection, id: id, owner: owner) }
        }
    }

    /// Why a write scoped to (id, owner) changed nothing, read in the write's transaction.
    private static func failure(_ connection: PostgresConnection, id: Int64, owner: Int64) throws -> TaskError {
        let rows = try connection.query(
            "SELECT 1 FROM tasks WHERE id = $1 AND owner_id = $2", [.integer(id), .integer(owner)])
        return rows.isEmpty ? .notFound : .versionMismatch
    }

}
