// Accounts and revoked tokens in the embedded SQLite database; parameterised SQL only.

import Flagon
import Foundation
import GRDB

/// ``AccountStore`` on the service's SQLite database.
///
/// Every statement binds its values; uniqueness of usernames is the database's
/// (`UNIQUE ... COLLATE NOCASE`), so concurrent registrations from several worker
/// processes give exactly one account. Each operation is one transaction on statements from
/// the connection's statement cache, prepared once per worker.
public struct SQLiteAccountStore: AccountStore {
    let database: Database

    public init(database: Database) { self.database = database }

    public func createUser(username: String, passwordHash: String, roles: [String]) throws -> User {
        let createdAt = Timestamps.now()
        do {
            return try database.write { db in
                try db.cachedStatement(
                    sql: "INSERT INTO users (username, password_hash, roles, created_at) VALUES (?, ?, ?, ?)"
                ).execute(arguments: [username, passwordHash, roles.joined(separator: ","), createdAt])
                return User(
                    id: db.lastInsertedRowID, username: username, roles: roles, passwordHash: passwordHash,
                    createdAt: createdAt)
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw AccountStoreError.usernameTaken
        }
    }

    public func user(named username: String) throws -> User? {
        try database.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE username = ?"), arguments: [username])
                .map(User.init(row:))
        }
    }

    public func user(id: Int64) throws -> User? {
        try database.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE id = ?"), arguments: [id]).map(
                User.init(row:))
        }
    }

    public func users(offset: Int, limit: Int) throws -> (users: [User], total: Int) {
        try database.read { db in
            let total = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM users")) ?? 0
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM users ORDER BY id LIMIT ? OFFSET ?"), arguments: [limit, offset])
            return (rows.map(User.init(row:)), total)
        }
    }

    public func updatePasswordHash(userID: Int64, passwordHash: String) throws {
        try database.write { db in
            try db.cachedStatement(sql: "UPDATE users SET password_hash = ? WHERE id = ?")
                .execute(arguments: [passwordHash, userID])
        }
    }

    public func revoke(jti: String, expiresAt: Int64, now: Int64) throws {
        try database.write { db in
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)")
                .execute(arguments: [jti, expiresAt])
            try db.cachedStatement(sql: "DELETE FROM revoked_tokens WHERE expires_at < ?").execute(arguments: [now])
        }
    }

    public func isRevoked(jti: String) throws -> Bool {
        try database.read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM revoked_tokens WHERE jti = ?"), arguments: [jti])
                ?? false
        }
    }
}

/// Timestamps as the API renders them: RFC 3339, UTC, whole seconds, `Z`.
enum Timestamps {
    static func now() -> String { RFC3339.now() }
    static func render(_ seconds: Int64) -> String { RFC3339.format(seconds: seconds) }
}
