// What `tasks-api check-config` verifies: everything the service would refuse to start on, with no side effect.

import Flagon
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Checks the configuration as `serve` would load it, writing nothing: the settings and their
/// production rules, the password hashing costs, the routes, the templates, the generated
/// development secret when one is used, and that the database and any rate-limit file can be
/// opened for writing (or created), or that the PostgreSQL server answers. Pending migrations
/// are no error: `serve` and `migrate` apply them.
///
/// ```swift
/// let config = try await Config.load(environment: ProcessInfo.processInfo.environment)
/// let status = try await checkConfiguration(config: config)   // throws the first problem
/// ```
/// - Returns: the settings and the database's migration state.
/// - Throws: the first problem found, as an error whose description is one line.
public func checkConfiguration(
    config: Config, logger: Logger = Logger(label: "tasks-api")
) async throws -> (settings: Settings, database: MigrationStatus) {
    let settings = try await makeApplication(config: config, logger: logger, describeOnly: true).settings
    _ = try Templates(folder: Templates.folder(config: config))
    if settings.usesGeneratedSecrets { try DevelopmentSecret.check(instancePath: settings.instancePath) }
    let database: MigrationStatus
    switch settings.database {
    case .sqlite(let path):
        database = try Database.migrationStatus(path: path, writable: true)
    case .postgres(let url):
        // Connects and reads the migrations table; a server that cannot be reached is a problem
        // `serve` would stop on too.
        database = try PostgresDatabase(url: url).migrationStatus()
    }
    if settings.rateLimitEnabled, case .sqlite(let path) = settings.rateLimitStorage {
        try Database.requireWritable(path)
    }
    return (settings, database)
}

extension DevelopmentSecret {
    /// Fails when the instance's generated secret exists but is not one this service wrote, or
    /// is missing where it could not be created; reads it without tightening its mode.
    static func check(instancePath: String) throws(ConfigError) {
        let path = instancePath + "/" + fileName
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            guard errno == ENOENT else {
                throw ConfigError("cannot use the development secret \(path): \(String(cString: strerror(errno)))")
            }
            do {
                try Database.requireWritable(path)
            } catch {
                throw ConfigError("cannot create the development secret \(path): the folder is not writable")
            }
            return
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw ConfigError("cannot use the development secret \(path): not a regular file")
        }
        var buffer = [UInt8](repeating: 0, count: 2 * byteCount + 2)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        let text = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .newlines) : ""
        guard text.utf8.count == 2 * byteCount,
            text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else {
            throw ConfigError("\(path) does not hold a secret this service wrote; delete it to generate a new one")
        }
    }
}
