// JSON Schemas of the response bodies that are no resource's, for the OpenAPI document.

import Flagon

/// The shapes the blueprints answer with beside the resources (``TaskItem/resource``,
/// ``Product/resource``, ``User/resource``), as named JSON Schema; each matches a literal
/// body in a blueprint.
enum Schemas {
    private static let id: JSONValue = ["type": "integer", "minimum": 1]
    private static let roles = JSONSchema.array(of: JSONSchema.string)

    /// The body of `POST /api/auth/register`: a new account's username and password.
    static let credentials = RegisterInput.schema.named("Credentials")

    /// The body of `POST /api/auth/login`: looser than ``credentials``, since a wrong guess
    /// is a `401`, not a `400`.
    static let login = LoginInput.schema.named("LoginCredentials")

    /// The answer of `POST /api/auth/register`.
    static let registeredUser = SchemaComponent(
        "RegisteredUser",
        JSONSchema.object([("id", id), ("username", JSONSchema.string), ("roles", roles)]))

    /// `GET /api/users/me`: an account's integer id, or the platform's own id as a string.
    static let currentUser = SchemaComponent(
        "CurrentUser",
        JSONSchema.object([
            ("id", ["type": ["integer", "string"]]), ("username", JSONSchema.string), ("roles", roles),
            ("auth", ["type": "string", "enum": ["jwt", "proxy"]]),
        ]))

    /// `POST /api/auth/login`.
    static let tokenPair = SchemaComponent(
        "TokenPair",
        JSONSchema.object([
            ("access_token", JSONSchema.string), ("refresh_token", JSONSchema.string),
            ("token_type", JSONSchema.constant("Bearer")), ("expires_in", JSONSchema.integer),
        ]))

    /// `POST /api/auth/refresh`: a new access token only.
    static let accessToken = SchemaComponent(
        "AccessToken",
        JSONSchema.object([
            ("access_token", JSONSchema.string), ("token_type", JSONSchema.constant("Bearer")),
            ("expires_in", JSONSchema.integer),
        ]))

    /// `{"message": ...}` of the hello and limited endpoints.
    static let message = SchemaComponent("Message", JSONSchema.object([("message", JSONSchema.string)]))

    /// `GET /api/protected`.
    static let protected = SchemaComponent(
        "ProtectedMessage", JSONSchema.object([("msg", JSONSchema.string), ("user", JSONSchema.string)]))

    /// `GET /healthz` when healthy.
    static let health = SchemaComponent(
        "Health",
        JSONSchema.object([("status", JSONSchema.constant("ok")), ("database", JSONSchema.constant("ok"))]))

    /// `GET /openapi.json`: an OpenAPI document, described no further.
    static let openAPIDocument = SchemaComponent(
        "OpenAPIDocument", JSONSchema.object([("openapi", JSONSchema.string)]))
}
