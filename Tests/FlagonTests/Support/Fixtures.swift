// Shared fixtures of the framework tests: quiet apps, captured logs and temporary folders.

import Flagon
import Foundation
import Logging
import Synchronization

/// A logger that drops everything, so tests do not write to the terminal.
let quietLogger = Logger(label: "flagon-tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// An app with the standard stages and the given blueprints, logging nowhere.
func makeApp(_ blueprints: Blueprint..., logger: Logger = quietLogger) -> App {
    var app = App(logger: logger)
    for blueprint in blueprints { app.register(blueprint) }
    return app
}

/// True for the ids ``RequestIDMiddleware`` generates: 32 lower-case hex digits.
func isGeneratedRequestID(_ id: String?) -> Bool {
    guard let id, id.utf8.count == 32 else { return false }
    return id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
}

/// One log event as a test sees it.
struct CapturedEvent: Sendable {
    let level: Logger.Level
    let message: String
    let metadata: [String: String]
}

/// Collects the events of every logger made from it; one per test, never global.
final class LogCapture: Sendable {
    private let events = Mutex<[CapturedEvent]>([])

    var captured: [CapturedEvent] { events.withLock { $0 } }

    func logger(level: Logger.Level = .info) -> Logger {
        Logger(label: "captured", factory: { _ in CapturingLogHandler(capture: self, logLevel: level) })
    }

    fileprivate func append(_ event: CapturedEvent) {
        events.withLock { $0.append(event) }
    }
}

private struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        capture.append(
            CapturedEvent(
                level: event.level, message: event.message.description,
                metadata: merged.mapValues { $0.description }))
    }
}

/// A fresh empty folder under the system's temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("flagon-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url.path)
}
