// A user account, declared once: its JSON form, row mapping and OpenAPI schema; the account store's interface.

import Flagon

/// A user account. The password hash never leaves the storage and login code.
public struct User: Sendable, Equatable {
    public var id: Int64
    public var username: String
    public var roles: [String]
    public var passwordHash: String
    /// RFC 3339 UTC, `2026-11-25T07:00:00Z`.
    public var createdAt: String

    /// The public form: `{"id", "username", "roles", "created_at"}`.
    public var json: JSONValue { Self.resource.json(self) }
}

extension User: Resource {
    /// The columns of the `users` table. Accounts are written through registration
    /// (``RegisterInput``), not through an input of their own; the hash is never shown.
    public static let resource = ResourceDeclaration<User>(
        "User", blank: User(id: 0, username: "", roles: [], passwordHash: "", createdAt: ""),
        .integer("id", \.id, access: .readOnly, minimum: 1),
        .string("username", \.username, access: .readOnly),
        .strings("roles", \.roles),
        .string("password_hash", \.passwordHash, access: .hidden),
        .timestamp("created_at", \.createdAt))
}

/// Why an account could not be stored.
public enum AccountStoreError: Error, Equatable {
    /// The username is taken (compared case-insensitively).
    case usernameTaken
}

/// Where accounts and revoked token ids live. The SQLite implementation is the default; a
/// PostgreSQL one can fill the same interface without touching the handlers.
public protocol AccountStore: Sendable {
    /// Creates a user; throws ``AccountStoreError/usernameTaken`` if the name exists.
    func createUser(username: String, passwordHash: String, roles: [String]) throws -> User
    func user(named username: String) throws -> User?
    func user(id: Int64) throws -> User?
    /// One page of users by id, and the total count.
    func users(offset: Int, limit: Int) throws -> (users: [User], total: Int)
    /// Replaces the stored hash (rehash on login after a cost change).
    func updatePasswordHash(userID: Int64, passwordHash: String) throws
    /// Records a token id as revoked until it expires anyway; prunes entries already expired.
    func revoke(jti: String, expiresAt: Int64, now: Int64) throws
    func isRevoked(jti: String) throws -> Bool
}
