// `tasks-api check-config`: the configuration checked as `serve` would load it, writing nothing (as `nginx -t`).

import ArgumentParser
import FastCGI
import Flagon
import Foundation
import Logging
import TasksAPI

#if canImport(Glibc)
    import Glibc
#endif

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check the configuration and any serve options as `serve` would; exit 0 or 1.",
        discussion: """
            Reads the settings from the same environment, instance config.json and credentials as \
            `serve`, with its production rules; checks that the database opens read-only (or that \
            its folder is writable when it does not exist yet), and validates the serve options \
            given after check-config. Prints "configuration ok", or one line naming the problem on \
            standard error and exits 1. Writes nothing (no migration, no file created), so it is \
            safe beside a running pool, before a reload:
              tasks-api check-config --workers 4 --socket /run/tasks-api/tasks-api.sock
            """
    )

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp("Options of `serve` to validate as well.", valueName: "serve-option"))
    var serveOptions: [String] = []

    func run() throws {
        Signals.unblockControlSignals()
        do {
            try Self.check(serveArguments: serveOptions)
        } catch {
            FileHandle.standardError.write(Data("configuration error: \(Self.oneLine(error))\n".utf8))
            Foundation.exit(1)
        }
        print("configuration ok")
    }

    /// Throws the first problem `serve` would stop on with these arguments and this environment.
    static func check(serveArguments: [String]) throws {
        let serve: Serve
        do {
            serve = try Serve.parse(serveArguments)
        } catch {
            throw ValidationError(Serve.message(for: error))
        }
        if serve.readTimeout == nil { _ = try Startup.readTimeoutFromEnvironment() }
        // A malformed FCGI_WEB_SERVER_ADDRS stops a TCP listener's workers whatever the address.
        let webServers = Listener.webServersFromEnvironment
        if webServers != nil { _ = try PeerPolicy.tcp(listeningOn: IPAddress("127.0.0.1")!, webServers: webServers) }
        if let bind = serve.bind {
            guard case .tcp(let host, _) = ListenAddress.parseBind(bind), let address = IPAddress(host) else {
                throw ValidationError("--bind expects IPV4:PORT or [IPV6]:PORT, got '\(bind)'")
            }
            _ = try PeerPolicy.tcp(listeningOn: address, webServers: webServers)
        }
        if let socket = serve.socket { try checkSocketFolder(socket) }
        if let group = serve.socketGroup, getgrnam(group) == nil {
            throw ValidationError("--socket-group: unknown group '\(group)'")
        }
        let quiet = Logger(label: "tasks-api.check-config") { _ in SwiftLogNoOpLogHandler() }
        _ = try runBlocking { try await checkConfiguration(config: try await Startup.loadConfig(), logger: quiet) }
    }

    /// The socket file is created in a private folder inside its own folder, then renamed:
    /// that folder must exist and be writable.
    private static func checkSocketFolder(_ path: String) throws {
        var folder = (path as NSString).deletingLastPathComponent
        if folder.isEmpty { folder = "." }
        var status = stat()
        guard stat(folder, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw ValidationError("--socket: the folder \(folder) does not exist")
        }
        guard access(folder, W_OK | X_OK) == 0 else {
            throw ValidationError("--socket: cannot create the socket in \(folder) (not writable)")
        }
    }

    /// The error's first non-empty line, as the one line the caller (an operator, or the
    /// master validating a reload) reads.
    static func oneLine(_ error: any Error) -> String {
        let text = "\(error)"
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
    }
}
