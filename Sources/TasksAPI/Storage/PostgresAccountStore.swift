// Accounts, revoked tokens and the revocation generation in PostgreSQL; parameterised SQL only.

/// ``AccountStore`` on the service's PostgreSQL database.
///
/// Usernames are unique by `lower(username)` (a unique index), compared with ASCII-only
/// folding as SQLite's `NOCASE` does, so concurrent registrations on any number of hosts give
/// exactly one account. Every write is a transaction whose first statement is `BEGIN`, so a
/// connection found broken on it is reopened and the write run again, never half of it.
public struct PostgresAccountStore: AccountStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) { self.database = database }

    public func createUser(username: String, passwordHash: String, roles: [String]) throws -> User {
        let createdAt = Timestamps.now()
        do {
            let rows = try database.transaction { connection in
                try connection.query(
                    "INSERT INTO users (username, password_hash, roles, created_at) VALUES ($1, $2, $3, $4) RETURNING *",
                    [.text(username), .text(passwordHash), .text(roles.joined(separator: ",")), .text(createdAt)])
            }
            guard let row = rows.first else { throw PostgresError(sqlState: nil, message: "INSERT returned no row") }
            return User(row: row)
        } catch let error as PostgresError where error.isUniqueViolation {
            throw AccountStoreError.usernameTaken
        }
    }

    public func user(named username: String) throws -> User? {
        try database.withConnection { connection in
            try connection.query(
                "SELECT * FROM users WHERE lower(username) = lower($1 COLLATE \"C\")", [.text(username)]
            ).first.map(User.init(row:))
        }
    }

    public func user(id: Int64) throws -> User? {
        try database.withConnection { connection in
            try connection.query("SELECT * FROM users WHERE id = $1", [.integer(id)]).first.map(User.init(row:))
        }
    }

    public func users(offset: Int, limit: Int) throws -> (users: [User], total: Int) {
        try database.snapshot { connection in
            let total = try connection.query("SELECT count(*) FROM users").first?.first
            let rows = try connection.query(
                "SELECT * FROM users ORDER BY id LIMIT $1 OFFSET $2", [.integer(Int64(limit)), .integer(Int64(offset))])
            return (rows.map(User.init(row:)), total.flatMap(\.integer).map(Int.init) ?? 0)
        }
    }

    public func updatePasswordHash(userID: Int64, passwordHash: String) throws {
        try database.transaction { connection in
            try connection.execute(
                "UPDATE users SET password_hash = $1 WHERE id = $2", [.text(passwordHash), .integer(userID)])
        }
    }

    /// Records the revocation and bumps the generation in one transaction: a host that reads
    /// the new generation finds the token in `revoked_tokens`.
    public func revoke(jti: String, expiresAt: Int64, now: Int64) throws {
        try database.transaction { connection in
            try connection.execute(
                "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                [.text(jti), .integer(expiresAt)])
            try connection.execute("DELETE FROM revoked_tokens WHERE expires_at < $1", [.integer(now)])
            try connection.execute("UPDATE revocation_generation SET generation = generation + 1 WHERE id = 1")
        }
    }

    public func isRevoked(jti: String) throws -> Bool {
        try database.withConnection { connection in
            try !connection.query("SELECT 1 FROM revoked_tokens WHERE jti = $1", [.text(jti)]).isEmpty
        }
    }

}

extension SQLValue {
    /// The value as an integer, nil unless it is one.
    var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }
}
