// The tasks blueprint: each user's own tasks, with ETags and conditional requests (API contract §8, §12).

import Flagon

/// The query of `GET /api/tasks`: a page, the filters and the order.
struct TaskListQuery: SchemaDecodable {
    static let schema = ObjectSchema(
        fields: PageQuery.fields + [
            .boolean("completed"),
            .integer("priority", minimum: 1, maximum: 5),
            .string("sort", oneOf: TaskSort.allCases.map(\.rawValue), default: TaskSort.createdAt.rawValue),
        ])
    var page: Int
    var perPage: Int
    var completed: Bool?
    var priority: Int?
    var sort: TaskSort

    enum CodingKeys: String, CodingKey {
        case page
        case perPage = "per_page"
        case completed
        case priority
        case sort
    }

    var pageQuery: PageQuery { PageQuery(page: page, perPage: perPage) }
    var filter: TaskFilter { TaskFilter(completed: completed, priority: priority) }
}

extension Blueprints {
    /// `GET`/`POST /api/tasks` and `GET`/`PUT`/`PATCH`/`DELETE /api/tasks/{id}`, for access
    /// tokens only. Another user's task answers exactly as a missing one: `404`, whatever
    /// the conditional headers say.
    static func tasks(store: any TaskStore) -> Blueprint {
        let tasks = Blueprint("tasks", prefix: "/api/tasks")
        // Its writes are short, and its store joins the worker's round of writes (README, Durability).
        tasks.writesJoinRounds = true

        tasks.get(
            "", name: "list", operationId: "listTasks",
            summary: "The caller's tasks, filtered and sorted, a page at a time",
            auth: .accessToken, query: TaskListQuery.schema,
            response: .page("One page of tasks.", item: TaskItem.resource.schema)
        ) { request in
            let owner = try TaskRoutes.owner(of: request)
            let query = try request.query(TaskListQuery.self)
            let page = query.pageQuery
            let (rows, total) = try store.tasks(
                owner: owner, filter: query.filter, sort: query.sort, offset: page.offset, limit: page.perPage)
            return Pagination(page: page, total: total).response(items: rows.map(\.json), for: request)
        }

        tasks.post(
            "", name: "create", operationId: "createTask", summary: "Create a task", auth: .accessToken,
            body: TaskItem.resource.inputSchema, response: .created("The new task.", schema: TaskItem.resource.schema)
        ) { request in
            let owner = try TaskRoutes.owner(of: request)
            let task = try store.create(owner: owner, fields: try request.input(TaskItem.resource))
            var response = TaskRoutes.representation(task, status: .created)
            response.headers["Location"] = task.location
            return response
        }

        tasks.get(
            "/{id:int}", name: "get", operationId: "getTask", summary: "One task, with its ETag", auth: .accessToken,
            response: .json("The task.", schema: TaskItem.resource.schema), etag: true
        ) { request in
            let task = try TaskRoutes.existing(in: store, for: request)
            if request.ifNoneMatch?.matchesWeakly(task.etag) == true { return .notModified(etag: task.etag) }
            return TaskRoutes.representation(task)
        }

        tasks.put(
            "/{id:int}", name: "replace", operationId: "replaceTask", summary: "Replace a task", auth: .accessToken,
            body: TaskItem.resource.inputSchema, response: .json("The task.", schema: TaskItem.resource.schema),
            etag: true
        ) { request in
            let (task, version) = try TaskRoutes.target(in: store, for: request)
            let input = try request.input(TaskItem.resource)
            let updated = try store.update(id: task.id, owner: task.ownerID, changes: input.patch, ifVersion: version)
            return TaskRoutes.representation(updated)
        }

        tasks.patch(
            "/{id:int}", name: "update", operationId: "updateTask", summary: "Change some fields of a task",
            auth: .accessToken, body: TaskItem.resource.patchSchema,
            response: .json("The task.", schema: TaskItem.resource.schema), etag: true
        ) { request in
            let (task, version) = try TaskRoutes.target(in: store, for: request)
            let patch = try request.patch(TaskItem.resource)
            let updated = try store.update(id: task.id, owner: task.ownerID, changes: patch, ifVersion: version)
            return TaskRoutes.representation(updated)
        }

        tasks.delete(
            "/{id:int}", name: "delete", operationId: "deleteTask", summary: "Delete a task", auth: .accessToken,
            response: .noContent("The task is gone."), etag: true
        ) { request in
            let (task, version) = try TaskRoutes.target(in: store, for: request)
            try store.delete(id: task.id, owner: task.ownerID, ifVersion: version)
            return .empty()
        }
        return tasks
    }
}

/// What the task routes share: the owner, lookups and preconditions. Store failures are
/// ``TaskError``s, which answer for themselves.
private enum TaskRoutes {
    /// The caller's user id: tasks belong to accounts, so only token identities own any.
    static func owner(of request: Request) throws -> Int64 {
        guard let identity = request.identity, identity.method == .jwt, let owner = Int64(identity.id) else {
            throw HTTPError(.unauthorized, headers: ["WWW-Authenticate": "Bearer"])
        }
        return owner
    }

    /// The caller's task named by the path, else `404`.
    static func existing(in store: any TaskStore, for request: Request) throws -> TaskItem {
        let owner = try owner(of: request)
        guard let id = request.parameters.int("id"), let task = try store.task(id: id, owner: owner) else {
            throw TaskError.notFound
        }
        return task
    }

    /// The task a `PUT`, `PATCH` or `DELETE` changes, once its preconditions hold (RFC 9110
    /// §13.2.2 order: existence, then `If-Match`, then `If-None-Match`; the body after).
    ///
    /// - Returns: the task and, when a precondition was evaluated, the version it was
    ///   evaluated against: the write is conditioned on it, so a change that lands between
    ///   this read and the write turns into a `412` instead of being overwritten.
    /// - Throws: `404` for a task that is not the caller's, `412` when `If-Match` does not
    ///   match strongly (a weak tag never does) or `If-None-Match` matches.
    static func target(in store: any TaskStore, for request: Request) throws -> (TaskItem, Int64?) {
        let task = try existing(in: store, for: request)
        let ifMatch = request.ifMatch
        let ifNoneMatch = request.ifNoneMatch
        if let ifMatch, !ifMatch.matchesStrongly(task.etag) { throw TaskError.versionMismatch }
        if let ifNoneMatch, ifNoneMatch.matchesWeakly(task.etag) { throw TaskError.versionMismatch }
        return (task, ifMatch != nil || ifNoneMatch != nil ? task.version : nil)
    }

    /// The task as JSON with its `ETag`.
    static func representation(_ task: TaskItem, status: HTTPStatus = .ok) -> Response {
        .json(task.json, status: status, headers: ["ETag": task.etag.description])
    }
}
