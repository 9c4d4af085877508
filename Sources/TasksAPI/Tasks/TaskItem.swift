// A task, declared once: its input, patch, JSON form, row mapping and OpenAPI schemas (API contract §8).

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
        id: Int64 = 0, ownerID: Int64 = 0, title: String = "", description: String = "", priority: Int = 3,
        completed: Bool = false, createdAt: String = "", updatedAt: String = "", version: Int64 = 0
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
    public var json: JSONValue { Self.resource.json(self) }

    /// The strong entity tag `"<id>-<version>"`: ids are never reused and the version
    /// changes with every modification, so equal tags mean the same representation.
    public var etag: ETag { ETag("\(id)-\(version)") }

    /// The path of this task, for `Location`.
    public var location: String { "/api/tasks/\(id)" }
}

extension TaskItem: Resource {
    /// The guide's `TaskSchema`: the columns of the `tasks` table, in the order of the JSON form.
    public static let resource = ResourceDeclaration<TaskItem>(
        "Task", blank: TaskItem(),
        .integer("id", \.id, access: .readOnly, minimum: 1),
        .integer("owner_id", \.ownerID, access: .hidden),
        .string("title", \.title, required: true, minLength: 1, maxLength: 100),
        .string("description", \.description, maxLength: 500, default: ""),
        .integer("priority", \.priority, minimum: 1, maximum: 5, default: 3),
        .boolean("completed", \.completed, default: false),
        .timestamp("created_at", \.createdAt),
        .timestamp("updated_at", \.updatedAt),
        .integer("version", \.version, access: .hidden))
}
