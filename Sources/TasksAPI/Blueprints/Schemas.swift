// JSON Schemas of the response bodies, for the OpenAPI document (inputs have their ObjectSchema).

import Flagon

/// The shapes the blueprints answer with, as JSON Schema; each matches a `json` property
/// or a literal body in a blueprint.
enum Schemas {
    private static let id: JSONValue = ["type": "integer", "minimum": 1]
    private static let roles = JSONSchema.array(of: JSONSchema.string)

    /// `TaskItem.json`.
    static let task = JSONSchema.object([
        ("id", id), ("title", JSONSchema.string), ("description", JSONSchema.string),
        ("priority", ["type": "integer", "minimum": 1, "maximum": 5]), ("completed", JSONSchema.boolean),
        ("created_at", JSONSchema.dateTime), ("updated_at", JSONSchema.dateTime),
    ])

    /// `Product.json`.
    static let product = JSONSchema.object([
        ("id", id), ("name", JSONSchema.string), ("description", JSONSchema.string),
        ("price_cents", ["type": "integer", "minimum": 0]), ("currency", JSONSchema.string),
        ("stock", ["type": "integer", "minimum": 0]),
        ("created_at", JSONSchema.dateTime), ("updated_at", JSONSchema.dateTime),
    ])

    /// `User.json`, as the admin's list shows accounts.
    static let user = JSONSchema.object([
        ("id", id), ("username", JSONSchema.string), ("roles", roles), ("created_at", JSONSchema.dateTime),
    ])

    /// The answer of `POST /api/auth/register`.
    static let registeredUser = JSONSchema.object([
        ("id", id), ("username", JSONSchema.string), ("roles", roles),
    ])

    /// `GET /api/users/me`: an account's integer id, or the platform's own id as a string.
    static let currentUser = JSONSchema.object([
        ("id", ["type": ["integer", "string"]]), ("username", JSONSchema.string), ("roles", roles),
        ("auth", ["type": "string", "enum": ["jwt", "proxy"]]),
    ])

    /// `POST /api/auth/login`.
    static let tokenPair = JSONSchema.object([
        ("access_token", JSONSchema.string), ("refresh_token", JSONSchema.string),
        ("token_type", JSONSchema.constant("Bearer")), ("expires_in", JSONSchema.integer),
    ])

    /// `POST /api/auth/refresh`: a new access token only.
    static let accessToken = JSONSchema.object([
        ("access_token", JSONSchema.string), ("token_type", JSONSchema.constant("Bearer")),
        ("expires_in", JSONSchema.integer),
    ])

    /// `{"message": ...}` of the hello and limited endpoints.
    static let message = JSONSchema.object([("message", JSONSchema.string)])

    /// `GET /api/protected`.
    static let protected = JSONSchema.object([("msg", JSONSchema.string), ("user", JSONSchema.string)])

    /// `GET /healthz` when healthy.
    static let health = JSONSchema.object([
        ("status", JSONSchema.constant("ok")), ("database", JSONSchema.constant("ok")),
    ])

    /// `GET /openapi.json`: an OpenAPI document, described no further.
    static let openAPIDocument = JSONSchema.object([("openapi", JSONSchema.string)])
}
