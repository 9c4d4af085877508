// Where tasks live: the storage interface the task routes use, its value types and its errors.

import Flagon

/// Which of a user's tasks a list shows; nil matches any value.
public struct TaskFilter: Sendable, Equatable {
    public var completed: Bool?
    public var priority: Int?

    public init(completed: Bool? = nil, priority: Int? = nil) {
        self.completed = completed
        self.priority = priority
    }
}

/// The order of a task list, as the `sort` query parameter spells it. Ties are broken by
/// id (creation order), so pages never overlap or skip: oldest first, except under
/// `-created_at` where the newest comes first.
public enum TaskSort: String, Sendable, CaseIterable, Decodable {
    case createdAt = "created_at"
    case createdAtDescending = "-created_at"
    case priority = "priority"
    case priorityDescending = "-priority"
}

/// Why a task could not be read or changed, and how each reason answers.
public enum TaskError: HTTPResponseError, Equatable {
    /// No task of that id belongs to that owner (another user's task included): `404`.
    case notFound
    /// The task exists but its version is no longer the one the write was conditioned on: `412`.
    case versionMismatch
    /// The owner's account no longer exists: `401`, as for a token of a deleted user.
    case ownerNotFound

    public var status: HTTPStatus {
        switch self {
        case .notFound: return .notFound
        case .versionMismatch: return .preconditionFailed
        case .ownerNotFound: return .unauthorized
        }
    }

    public var headers: HTTPHeaders {
        self == .ownerNotFound ? ["WWW-Authenticate": "Bearer error=\"invalid_token\""] : [:]
    }

    public var body: JSONValue {
        HTTPError(status, message: self == .ownerNotFound ? "The account no longer exists." : nil).body
    }
}

/// Where tasks live. Every operation is scoped to an owner: another user's task is
/// indistinguishable from a missing one. The SQLite implementation is the default; a
/// PostgreSQL one can fill the same interface without touching the handlers.
public protocol TaskStore: Sendable {
    /// Stores a new task at version 1, `created_at` and `updated_at` now.
    /// - Throws: ``TaskError/ownerNotFound`` when the owner's account is gone.
    func create(owner: Int64, fields: Input<TaskItem>) throws -> TaskItem

    /// The owner's task of that id, or nil.
    func task(id: Int64, owner: Int64) throws -> TaskItem?

    /// One page of the owner's tasks matching `filter` in `sort` order, and how many match in all.
    func tasks(
        owner: Int64, filter: TaskFilter, sort: TaskSort, offset: Int, limit: Int
    ) throws
        -> (tasks: [TaskItem], total: Int)

    /// Applies `changes` in one atomic step, increments the version and sets `updated_at`.
    /// - Parameter version: when given, the write happens only if the stored version is
    ///   still this one, checked in the same statement (concurrent writers conditioned on
    ///   the same version: exactly one succeeds).
    /// - Returns: the task as stored afterwards.
    /// - Throws: ``TaskError/notFound`` or ``TaskError/versionMismatch``.
    func update(id: Int64, owner: Int64, changes: Patch<TaskItem>, ifVersion version: Int64?) throws -> TaskItem

    /// Deletes the owner's task, only at `version` when one is given.
    /// - Throws: ``TaskError/notFound`` or ``TaskError/versionMismatch``.
    func delete(id: Int64, owner: Int64, ifVersion version: Int64?) throws
}
