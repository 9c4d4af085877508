// The versioned schema migrations, applied in order and recorded in grdb_migrations.

import GRDB

/// Every schema change of the service, in order. Never edit a shipped migration:
/// add a new one.
enum Migrations {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_service_info") { db in
            // When this database was created and by which schema generation; read by
            // operators and by `/healthz`'s round trip through the migration table.
            try db.execute(
                sql: """
                    CREATE TABLE service_info (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL
                    )
                    """)
            try db.execute(
                sql: "INSERT INTO service_info (key, value) VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                arguments: ["created_at"])
        }
        migrator.registerMigration("v2_accounts") { db in
            // Usernames are unique whatever their case: "Alice" cannot shadow "alice".
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
                        password_hash TEXT NOT NULL,
                        roles TEXT NOT NULL DEFAULT '',
                        created_at TEXT NOT NULL
                    )
                    """)
            // A logged-out token's id, kept until the token would have expired anyway.
            try db.execute(
                sql: """
                    CREATE TABLE revoked_tokens (
                        jti TEXT PRIMARY KEY NOT NULL,
                        expires_at INTEGER NOT NULL
                    )
                    """)
            try db.execute(sql: "CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at)")
        }
        return migrator
    }()
}
