// The worker: accept one FastCGI request, let the App answer it, write it back, repeat.

import Flagon
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One FastCGI worker process serving requests from the socket on fd 0, one at a time,
/// like a WSGI sync worker. It accepts each connection itself, checks the peer, bounds
/// the connection's reads and writes, then lets libfcgi decode the request.
public struct Worker {
    /// Why the worker loop ended.
    public enum Exit: Sendable, Equatable {
        /// A control signal asked it to stop, after the request in flight finished.
        case signalled(Int32)
        /// It served `--max-requests` requests and leaves to be replaced.
        case recycled
        /// The listening socket failed.
        case acceptFailed(Int32)
    }

    /// Exit status of a worker that could not start (bad configuration, database).
    /// The master stops instead of restarting it in a loop.
    public static let bootFailureStatus: Int32 = 3

    let app: App
    let logger: Logger
    let maxRequests: Int
    let readTimeout: Double
    let peers: PeerPolicy

    /// The default of ``readTimeout``: nginx sends a whole request at once (it buffers the
    /// body first), so a peer silent for this long is not nginx at work.
    public static let defaultReadTimeout = 10.0

    /// More than 0 and at most a day: a socket timeout of 0 would mean "wait forever".
    public static func isValidReadTimeout(_ seconds: Double) -> Bool {
        seconds > 0 && seconds <= 86400
    }

    /// - Parameters:
    ///   - app: the application that answers every request.
    ///   - maxRequests: leave after this many requests (0: never), to bound leaks.
    ///   - readTimeout: seconds a read or write on a connection may wait for the peer.
    ///   - peers: who may connect, from ``PeerPolicy/forSocket(_:webServers:)`` on the
    ///     listening socket; no default, so a TCP socket is never left unchecked.
    public init(
        app: App, logger: Logger, maxRequests: Int = 0, readTimeout: Double = Worker.defaultReadTimeout,
        peers: PeerPolicy
    ) {
        self.app = app
        self.logger = logger
        self.maxRequests = maxRequests
        self.readTimeout = readTimeout
        self.peers = peers
    }

    /// Serves until a control signal, recycling, or a socket failure.
    public func run(listenSocket: Int32 = 0) async -> Exit {
        Signals.installWorkerHandlers()
        let fcgx = FCGXRequest()
        var served = 0
        while true {
            if maxRequests > 0 && served >= maxRequests { return .recycled }
            // Control signals are let in only while the worker waits for a connection: one
            // that arrives then interrupts the accept (or closes the socket under it).
            Signals.openWindow()
            var accepted = Connection.Accepted.retry
            if Signals.shutdownSignal == 0 { accepted = Connection.accept(on: listenSocket) }
            Signals.closeWindow()
            switch accepted {
            case .connection(let connection):
                if await handle(connection, fcgx) { served += 1 }
            case .retry:
                break
            case .failed(let code):
                if Signals.shutdownSignal == 0 { return .acceptFailed(code) }
            }
            if Signals.shutdownSignal != 0 { return .signalled(Signals.shutdownSignal) }
        }
    }

    /// Checks the peer, reads its request and answers it; false when nothing was served.
    func handle(_ connection: Connection, _ fcgx: FCGXRequest) async -> Bool {
        guard peers.allows(connection.peer) else {
            logger.warning(
                "refused FastCGI connection from a peer that is not an allowed web server",
                metadata: ["peer": "\(connection.peerDescription)"])
            close(connection.fd)
            return false
        }
        connection.setTimeouts(seconds: readTimeout)
        guard fcgx.begin(connection: connection.fd) else {
            logger.warning(
                "dropped FastCGI connection without a complete request",
                metadata: ["peer": "\(connection.peerDescription)", "read_timeout": "\(readTimeout)"])
            return false
        }
        await serve(fcgx)
        return true
    }

    /// Answers the accepted request. Nothing a client sends can make this trap.
    func serve(_ fcgx: FCGXRequest) async {
        var (request, declaredLength) = CGIRequest.decode(fcgx.params(keeping: CGIRequest.isNeeded))
        let limit = app.maxContentLength
        if request.transportError == nil {
            if let declaredLength {
                // A body over the limit is refused from its declared length, unread.
                if declaredLength <= limit { request.body = fcgx.readBody(limit: declaredLength) }
            } else {
                let body = fcgx.readBody(limit: limit + 1)
                if !body.isEmpty {
                    request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
                    if body.count <= limit { request.body = body }
                }
            }
        }
        let response = await app.handle(request)
        if !fcgx.write(CGIResponse.encode(response)) {
            logger.debug("client went away before the response was written")
        }
        if let connection = fcgx.finish() {
            Connection.closeGracefully(connection, within: min(readTimeout, 2))
        }
    }
}
