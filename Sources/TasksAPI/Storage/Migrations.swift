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
        return migrator
    }()
}
