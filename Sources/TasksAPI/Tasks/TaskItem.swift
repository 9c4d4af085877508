// A task and how it appears in API responses (API contract §8).

import Flagon

/// One user's task. `version` counts modifications and makes the strong ``etag``.
public struct TaskItem: Sendable, Equatable {
    public var id: Int64
    /// The user the task belongs to; nobody else sees it.
    public var ownerID: Int64
    public var title: String
    public var description: String
    /// 1 (lowest) to 5.
    public var priority: Int
    public var completed: Bool
    /// RFC 3339 UTC, `2026-11-25T07:00:00Z`.
    public var createdAt: String
    /// RFC 3339 UTC; changes on every modification.
    public var updatedAt: String
    /// 1 when created, one more on every modification.
    public var version: Int64

    public init(
        id: Int64, ownerID: Int64, title: String, description: String, priority: Int, completed: Bool,
        createdAt: String, updatedAt: String, version: Int64
    ) {
        self.id = id
        self.ownerID = ownerID
        self.title = title
        self.description = description
        self.priority = priority
        self.completed = completed
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }

    /// The public form: `{"id", "title", "description", "priority", "completed", "created_at", "updated_at"}`.
    public var json: JSONValue {
        [
            "id": .integer(id), "title": .string(title), "description": .string(description),
            "priority": .integer(Int64(priority)), "completed": .bool(completed),
            "created_at": .string(createdAt), "updated_at": .string(updatedAt),
        ]
    }

    /// The strong entity tag `"<id>-<version>"`: ids are never reused and the version
    /// changes with every modification, so equal tags mean the same representation.
    public var etag: ETag { ETag("\(id)-\(version)") }

    /// The path of this task, for `Location`.
    public var location: String { "/api/tasks/\(id)" }
}
