// `tasks-api status`: the pool's status page, asked of the master's status socket on this host.

import ArgumentParser
import FastCGI
import Foundation
import Logging

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the running pool's status (from its status socket).",
        discussion: """
            Exits 1 with one line when no pool answers on the socket.
            """
    )

    @Flag(help: "JSON instead of text.")
    var json = false

    @Flag(help: "One row per worker as well.")
    var full = false

    @Option(
        help: ArgumentHelp(
            "The status socket (`serve --status-socket`).",
            discussion: "Default: $RUN_DIR/\(StatusServer.fileName), else \(Status.installedPath)."))
    var socket: String?

    /// Where the installed unit's runtime directory puts it (deploy/tasks-api.service).
    static let installedPath = "/run/tasks-api-status/\(StatusServer.fileName)"

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let path =
            socket ?? environment["RUN_DIR"].map { "\($0)/\(StatusServer.fileName)" } ?? Self.installedPath
        let flags = [json ? "json" : nil, full ? "full" : nil].compactMap { $0 }
        let target = "/status" + (flags.isEmpty ? "" : "?" + flags.joined(separator: "&"))
        let answer: (status: Int, body: [UInt8])
        do {
            answer = try StatusClient.get(target, socket: path)
        } catch {
            FileHandle.standardError.write(Data("tasks-api status: the pool is not running (\(error))\n".utf8))
            throw ExitCode(1)
        }
        guard answer.status == 200 else {
            FileHandle.standardError.write(Data("tasks-api status: the status server answered \(answer.status)\n".utf8))
            throw ExitCode(1)
        }
        FileHandle.standardOutput.write(Data(answer.body))
    }
}

extension Startup {
    /// The status socket for `serve`: `--status-socket`, or the default beside the pool's
    /// socket; nil (logged) when there is none. A socket named on the command line that
    /// cannot be made stops the start; a default one only warns, the pool serving without.
    static func statusListener(_ path: String?, pool: Listener, group: String?, _ logger: Logger) -> Listener? {
        let environment = ProcessInfo.processInfo.environment
        guard let chosen = path ?? StatusServer.defaultPath(pool: pool, environment: environment) else {
            logger.warning("no status server: give --status-socket (a TCP pool has no socket path to go beside)")
            return nil
        }
        // Under systemd the pool socket's group is the one nginx's user is in: the same fits.
        let group = group ?? (pool.address == .systemd ? pool.unixGroup.flatMap(Self.groupName) : nil)
        do {
            return try Listener.open(.unix(path: chosen), mode: 0o660, group: group, backlog: 16)
        } catch {
            if path != nil { fail(logger, error) }
            logger.warning("no status server", metadata: ["error": "\(error)"])
            return nil
        }
    }

    static func groupName(_ gid: gid_t) -> String? {
        guard let entry = getgrgid(gid) else { return nil }
        return String(cString: entry.pointee.gr_name)
    }
}
