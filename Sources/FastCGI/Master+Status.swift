// The master's status server: where its socket goes, and the reading it serves.

import HostRegion
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension Master {
    /// Starts the status server on `options.statusListener`, if any; nil without one, or
    /// without a host region to read.
    func startStatusServer() -> StatusServer? {
        guard let statusListener = options.statusListener else { return nil }
        guard let region = options.region else {
            statusListener.close()
            return nil
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let startTime = Int(now.tv_sec)
        let started = Self.now()
        let pool =
            listener.address == .systemd ? (listener.unixPath.map { "unix:\($0)" } ?? "systemd") : "\(listener.address)"
        let poolFD = listener.fd
        let server = StatusServer(listener: statusListener) {
            StatusReport(
                pool: pool, startTime: startTime, uptime: Int(Self.now() - started),
                listenQueue: ListenQueue.of(poolFD), maxListenQueue: 0, maxActive: 0,
                restarts: region.metrics.value(.restarts), timeouts: region.metrics.value(.timeouts),
                workerDeaths: region.metrics.value(.workerDeaths), slowRequests: region.metrics.value(.slowRequests),
                rows: region.metrics.rows(), workers: region.scoreboard.snapshots(), now: Scoreboard.now())
        }
        do {
            try server.start()
        } catch {
            logger.error("cannot start the status server", metadata: ["error": "\(error)"])
            statusListener.close()
            return nil
        }
        logger.info("status server started", metadata: ["status_socket": "\(statusListener.address)"])
        return server
    }
}

extension StatusServer {
    /// The file name of the status socket in a directory of its own (`$RUN_DIR`,
    /// systemd's `RuntimeDirectory=`).
    public static let fileName = "tasks-api-status.sock"

    /// Where the status socket goes when `--status-socket` is not given: systemd's runtime
    /// directory, else beside a unix pool socket (`<socket>.status`), else `$RUN_DIR`; nil
    /// for a TCP pool with neither.
    public static func defaultPath(pool: Listener, environment: [String: String]) -> String? {
        if let directory = environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first {
            return "\(directory)/\(fileName)"
        }
        if let path = pool.unixPath { return path + ".status" }
        if let directory = environment["RUN_DIR"], !directory.isEmpty { return "\(directory)/\(fileName)" }
        return nil
    }
}

extension Listener {
    /// The path a unix listening socket is bound to (as systemd passed it too); nil for TCP.
    public var unixPath: String? {
        if case .unix(let path) = address { return path }
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0, address.sun_family == sa_family_t(AF_UNIX) else { return nil }
        let path = withUnsafeBytes(of: address.sun_path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return path.isEmpty ? nil : path
    }

    /// The group of the socket file at `unixPath`, to give the status socket the same one
    /// when systemd made the pool's socket.
    public var unixGroup: gid_t? {
        guard let path = unixPath else { return nil }
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_gid
    }
}
