// `tasks-api routes`: the route table, one route a line, as `flask routes` prints it.

import ArgumentParser
import FastCGI
import Flagon
import Foundation
import TasksAPI

struct Routes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every route: method, path, endpoint, authentication and rate limits.",
        discussion: "The table depends on the configuration as the served routes do. No file is opened or created.")

    func run() throws {
        Signals.unblockControlSignals()
        let logger = Startup.logger("tasks-api.routes")
        do {
            let application = try Startup.application(logger, describeOnly: true)
            let settings = application.settings
            let rows = application.app.router.routes.map { route in
                [
                    route.method.rawValue, route.pattern.description, route.metadata.name,
                    route.metadata.auth.description,
                    Self.limits(
                        of: route, enabled: settings.rateLimitEnabled, defaults: settings.rateLimitDefaultLimits),
                ]
            }
            for line in Self.table(header: ["Method", "Path", "Endpoint", "Auth", "Limits"], rows: rows) {
                print(line)
            }
        } catch {
            Startup.fail(logger, error)
        }
    }

    /// The limits the route is counted against, as `RATELIMIT_DEFAULT` writes them.
    static func limits(of route: Route, enabled: Bool, defaults: [RateLimit]) -> String {
        guard enabled else { return "off" }
        if RateLimitMiddleware.defaultExemptPaths.contains(route.pattern.description) { return "exempt" }
        let limits = route.metadata.rateLimit ?? defaults
        return limits.isEmpty ? "exempt" : limits.map(\.description).joined(separator: "; ")
    }

    /// Left-aligned columns two spaces apart, with a dashed rule under the header.
    static func table(header: [String], rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }
        return [line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
