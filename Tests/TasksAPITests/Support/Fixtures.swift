// Shared fixtures of the application tests: temporary instance folders and a quiet logger.

import Flagon
import Foundation
import Logging
import Synchronization
import TasksAPI

/// A logger that drops everything, so tests do not write to the terminal, but keeps its level.
let quietLogger = Logger(label: "tasks-api-tests", factory: { _ in SilentLogHandler() })

struct SilentLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {}
}

/// A fresh empty folder under the system's temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("tasks-api-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url.path)
}

/// Settings from overrides only: no process environment, an instance folder that has no config.json.
func loadSettings(
    _ overrides: [String: String], instancePath: String = "/nonexistent/instance"
) async throws
    -> Settings
{
    let config = try await Config.load(overrides: overrides, environment: [:], instancePath: instancePath)
    return try Settings(config: config)
}

/// The ConfigError that building settings from `overrides` throws, or nil.
func settingsError(_ overrides: [String: String]) async throws -> ConfigError? {
    let config = try await Config.load(overrides: overrides, environment: [:], instancePath: "/nonexistent/instance")
    do {
        _ = try Settings(config: config)
        return nil
    } catch {
        return error
    }
}

/// A logger that keeps every message with its metadata, for tests that check what was logged.
final class LogCapture: Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    var logged: [Entry] { entries.withLock { $0 } }

    var logger: Logger {
        Logger(label: "tasks-api-tests", factory: { _ in Handler(capture: self) })
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }.mapValues { "\($0)" }
            capture.entries.withLock {
                $0.append(Entry(level: event.level, message: "\(event.message)", metadata: merged))
            }
        }
    }
}

/// The application on an instance folder with no environment and cheap password hashing, as
/// a fresh start of the service would build it.
func buildApplication(
    _ instance: String, _ overrides: [String: String] = [:], logger: Logger = quietLogger
) async throws -> Application {
    let cheap = ["ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1"]
    let config = try await Config.load(
        overrides: cheap.merging(overrides) { $1 }, environment: [:], instancePath: instance)
    return try await makeApplication(config: config, logger: logger)
}
