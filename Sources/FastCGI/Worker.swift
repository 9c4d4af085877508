// The worker: accept one FastCGI request, let the App answer it, write it back, repeat.

import Flagon
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One FastCGI worker process serving requests from the socket on fd 0, one at a time,
/// like a WSGI sync worker.
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

    /// - Parameters:
    ///   - app: the application that answers every request.
    ///   - maxRequests: leave after this many requests (0: never), to bound leaks.
    public init(app: App, logger: Logger, maxRequests: Int = 0) {
        self.app = app
        self.logger = logger
        self.maxRequests = maxRequests
    }

    /// Serves until a control signal, recycling, or a socket failure.
    public func run(listenSocket: Int32 = 0) async -> Exit {
        Signals.installWorkerHandlers()
        let fcgx = FCGXRequest(listenSocket: listenSocket)
        var served = 0
        while true {
            if maxRequests > 0 && served >= maxRequests {
                fcgx.finish()
                return .recycled
            }
            Signals.openWindow()
            var status: Int32 = 0
            if Signals.shutdownSignal == 0 { status = fcgx.accept() }
            Signals.closeWindow()
            if Signals.shutdownSignal != 0 {
                if status >= 0 { await serve(fcgx) }
                fcgx.finish()
                return .signalled(Signals.shutdownSignal)
            }
            if status < 0 {
                if -status == EINTR { continue }
                return .acceptFailed(-status)
            }
            await serve(fcgx)
            served += 1
        }
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
        fcgx.finish()
    }
}
