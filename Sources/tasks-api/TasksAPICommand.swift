// The `tasks-api` command line.

import ArgumentParser
import FastCGI
import Flagon
import Foundation
import Logging
import TasksAPI

struct TasksAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks-api",
        abstract: "The tasks REST API as a FastCGI worker pool behind nginx.",
        version: "tasks-api \(Application.version)",
        subcommands: [
            Serve.self, WorkerCommand.self, Migrate.self, CreateUser.self, OpenAPICommand.self, Routes.self,
            Status.self,
            CheckConfig.self,
            Backup.self,
        ]
    )
}

/// Shared start-up: logging and configuration from the environment.
enum Startup {
    static let bootstrapLogging: Void = {
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(configValue:))
        LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level ?? .info) }
    }()

    static func logger(_ label: String) -> Logger {
        bootstrapLogging
        return Logger(label: label)
    }

    static func loadConfig() async throws -> Config {
        try await Config.load(
            environment: ProcessInfo.processInfo.environment, secretKeys: Settings.secretKeys)
    }

    /// The application factory's result for this process's configuration.
    /// - Parameter describeOnly: build routes and documents only, opening no file.
    static func application(_ logger: Logger, migrate: Bool = true, describeOnly: Bool = false) throws -> Application {
        try runBlocking {
            try await makeApplication(
                config: try await loadConfig(), logger: logger, migrate: migrate, describeOnly: describeOnly)
        }
    }

    /// `FCGI_READ_TIMEOUT` (seconds), else the worker's default.
    static func readTimeoutFromEnvironment() throws -> Double {
        guard let text = ProcessInfo.processInfo.environment["FCGI_READ_TIMEOUT"], !text.isEmpty else {
            return Worker.defaultReadTimeout
        }
        guard let seconds = Double(text), Worker.isValidReadTimeout(seconds) else {
            throw ValidationError("FCGI_READ_TIMEOUT must be more than 0 and at most 86400 seconds, got '\(text)'")
        }
        return seconds
    }

    /// Prints a start-up failure as one line and exits non-zero.
    static func fail(_ logger: Logger, _ error: any Error, status: Int32 = 1) -> Never {
        logger.critical("cannot start: \(error)")
        exit(status)
    }
}

/// Runs async work from a synchronous command and waits for it on the main thread.
///
/// The commands stay synchronous so that the master never needs the concurrency
/// runtime; the worker runs its whole loop inside one such call.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

private final class ResultBox<T: Sendable>: @unchecked Sendable {
    // Written once by the task before the semaphore is signalled, read after the wait.
    var result: Result<T, any Error>?
}
