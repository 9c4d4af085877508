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
        migrator.registerMigration("v3_tasks") { db in
            // A user's tasks go with the user. `version` counts modifications: the ETag is
            // built from it and conditional writes compare it in their WHERE clause.
            try db.execute(
                sql: """
                    CREATE TABLE tasks (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        title TEXT NOT NULL,
                        description TEXT NOT NULL DEFAULT '',
                        priority INTEGER NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
                        completed INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        version INTEGER NOT NULL DEFAULT 1
                    )
                    """)
            // The list queries: every one is scoped by owner and sorted by one of these
            // (the rowid id, their tie-breaker, is part of every index entry).
            try db.execute(sql: "CREATE INDEX tasks_owner_created_at ON tasks (owner_id, created_at)")
            try db.execute(sql: "CREATE INDEX tasks_owner_priority ON tasks (owner_id, priority)")
        }
        migrator.registerMigration("v4_products") { db in
            // `id` is the rowid, so the table itself is stored in the list order (`ORDER BY id`
            // needs neither a sort nor another index), and AUTOINCREMENT never hands a deleted
            // product's id (and its Location) to a new one.
            try db.execute(
                sql: """
                    CREATE TABLE products (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        description TEXT NOT NULL DEFAULT '',
                        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
                        currency TEXT NOT NULL DEFAULT 'USD',
                        stock INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL
                    )
                    """)
            // Covers the `q` search: counting the matches scans the names only, not whole rows
            // with their descriptions. (A substring test cannot seek in any index.)
            try db.execute(sql: "CREATE INDEX products_name ON products (name)")
        }
        migrator.registerMigration("v5_rate_limits") { db in
            // Fixed-window counters shared by every worker (SQLiteRateLimitStore). The key
            // names endpoint, limit, client and window start; rows of ended windows are pruned.
            try db.execute(sql: SQLiteRateLimitStore.createTableSQL)
        }
        migrator.registerMigration("v6_rate_limits_window_end") { db in
            // Pruning finds ended windows through this index, in small batches, instead of
            // scanning the whole table while it holds the write lock.
            try db.execute(sql: SQLiteRateLimitStore.createIndexSQL)
        }
        return migrator
    }()
}
