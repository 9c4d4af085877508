// The worker: accepts FastCGI connections, keeps the ones nginx reuses, serves one request at a time.

import CFastCGI
import Flagon
import HostRegion
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One FastCGI worker process serving requests from the socket on fd 0, one at a time,
/// like a WSGI sync worker. It accepts each connection itself, checks the peer, bounds
/// the connection's reads and writes, then lets libfcgi decode the request.
///
/// A connection whose peer sets `FCGI_KEEP_CONN` (nginx's `fastcgi_keep_conn on`) stays
/// open after its response: the worker polls the listening socket and its kept connections
/// and serves whichever has a request ready. It never closes a kept connection that nginx
/// may be about to reuse: a request nginx writes on a connection closed under it fails, and
/// nginx retries only idempotent methods. It asks nginx to close it instead, with
/// ``Records/release(requestID:)``, and closes its end when nginx has closed its own:
/// - when it takes up a request on one connection, it releases its other kept connections
///   beyond `keptConnections - 1`, the least recently used first;
/// - when that request has run for `releaseAfter` seconds, ``IdleRelease`` releases the
///   others, so requests do not wait on connections held by a worker busy with a slow one
///   (with `releaseAfter` 0, they are all released as the request begins);
/// - when it stops (SIGTERM, SIGHUP, `--max-requests`), it stops accepting, releases every
///   kept connection, answers what nginx had already sent on them, and exits once nginx has
///   closed them all (or after `readTimeout` of silence from a peer that ignores the release).
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
    let keptConnections: Int
    let releaseAfter: Double
    /// Where the worker publishes what it does, when the host region is in use.
    public var monitor: Monitor?

    /// The default of ``readTimeout``: nginx sends a whole request at once (it buffers the
    /// body first), so a peer silent for this long is not nginx at work.
    public static let defaultReadTimeout = 10.0

    /// The default of `keptConnections`: nginx's `keepalive 32` in deploy/nginx-site.conf,
    /// so that under saturation nginx reuses connections instead of opening one per request.
    public static let defaultKeptConnections = 32

    /// The default of `releaseAfter`: 2 ms, longer than the requests that make up most of
    /// the load (hello, reads, token checks take well under 1 ms), short beside a slow one.
    public static let defaultReleaseAfter = 0.002

    /// 0 (at once) to 10 s.
    public static func isValidReleaseAfter(_ seconds: Double) -> Bool {
        (0...10).contains(seconds)
    }

    /// More than 0 and at most a day: a socket timeout of 0 would mean "wait forever".
    public static func isValidReadTimeout(_ seconds: Double) -> Bool {
        seconds > 0 && seconds <= 86400
    }

    /// 0 (close after every response) to 1024: each kept connection is a descriptor.
    public static func isValidKeptConnections(_ count: Int) -> Bool {
        (0...1024).contains(count)
    }

    /// - Parameters:
    ///   - app: the application that answers every request.
    ///   - maxRequests: leave after this many requests (0: never), to bound leaks.
    ///   - readTimeout: seconds a read or write on a connection may wait for the peer.
    ///   - peers: who may connect, from ``PeerPolicy/forSocket(_:webServers:)`` on the
    ///     listening socket; no default, so a TCP socket is never left unchecked.
    ///   - keptConnections: how many connections the worker keeps open for nginx to reuse
    ///     (0: none).
    ///   - releaseAfter: seconds a request runs before the worker asks nginx to close its
    ///     other connections (0: as it begins).
    public init(
        app: App, logger: Logger, maxRequests: Int = 0, readTimeout: Double = Worker.defaultReadTimeout,
        peers: PeerPolicy, keptConnections: Int = Worker.defaultKeptConnections,
        releaseAfter: Double = Worker.defaultReleaseAfter
    ) {
        self.app = app
        self.logger = logger
        self.maxRequests = maxRequests
        self.readTimeout = readTimeout
        self.peers = peers
        self.keptConnections = keptConnections
        self.releaseAfter = releaseAfter
    }

    /// The worker's slot on the scoreboard and the host's request counters.
    public struct Monitor: Sendable {
        public let slot: Scoreboard.Slot
        public let region: HostRegion

        public init(slot: Scoreboard.Slot, region: HostRegion) {
            self.slot = slot
            self.region = region
        }

        public var metrics: MetricsTable { region.metrics }

        /// The monitor of this process in `region`: the slot the master assigned in
        /// `TASKS_API_SCOREBOARD_SLOT`, else one claimed (workers without a master); the
        /// application's routes label the counters' rows.
        public static func attach(to region: HostRegion, routes: [Route]) -> Monitor? {
            let slot: Scoreboard.Slot?
            if let text = getenv(slotVariable).map({ String(cString: $0) }), let index = Int(text),
                (0..<Scoreboard.slotCount).contains(index)
            {
                slot = region.scoreboard.slot(index)
            } else {
                slot = region.scoreboard.claim()
            }
            guard let slot else { return nil }
            for (index, route) in routes.enumerated() {
                region.metrics.setLabel(row: index, "\(route.method.rawValue) \(route.pattern)")
            }
            slot.attach()
            return Monitor(slot: slot, region: region)
        }

        /// The environment variable in which the master names a worker's slot.
        public static let slotVariable = "TASKS_API_SCOREBOARD_SLOT"
    }

    /// Serves until a control signal, recycling, or a socket failure, then until nginx has
    /// closed every kept connection.
    public func run(listenSocket: Int32 = 0) async -> Exit {
        let wake = Signals.installWorkerHandlers()
        Connection.setNonBlocking(listenSocket)
        StartupPages.dropExecutableCode()
        Self.reportReady()
        let idleRelease =
            keptConnections > 1 && releaseAfter > 0
            ? IdleRelease.start(after: releaseAfter, connections: keptConnections + 1) : nil
        let loop = Loop(worker: self, listenSocket: listenSocket, wake: wake, idleRelease: idleRelease)
        return await loop.run()
    }

    /// Tells the master, when it named a readiness pipe, that this worker is about to serve:
    /// a reload retires the old workers only then. The PID fits one atomic pipe write.
    static func reportReady() {
        guard let text = getenv(Master.readyDescriptorVariable).map({ String(cString: $0) }) else { return }
        unsetenv(Master.readyDescriptorVariable)
        guard let fd = Int32(text), fd > 2 else { return }
        // Only ever the master's pipe: a number left in the environment by anything else
        // is not written to.
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else { return }
        var pid = getpid()
        _ = write(fd, &pid, MemoryLayout<pid_t>.size)
        close(fd)
    }

    /// One open connection and its libfcgi request.
    final class Kept {
        let connection: Connection
        let fcgx: FCGXRequest
        /// When the worker asked nginx to close it; nil while nginx may reuse it.
        var releasedAt: Double?
        /// Order of last use: the least recently used are released first.
        var lastUsed = 0
        /// Its request wrote, and its answer waits for the round's sync (``WriteSync``).
        var awaitingSync = false

        init(_ connection: Connection) {
            self.connection = connection
            fcgx = FCGXRequest(connection: connection.fd)
        }

        var fd: Int32 { connection.fd }

        /// Whether nginx may still send on it and it is not `current`, the one being served,
        /// nor one whose answer is held.
        func isOpen(besides current: Kept) -> Bool { self !== current && releasedAt == nil && !awaitingSync }
    }

    /// The worker's mutable state: its connections, counters and exit reason.
    final class Loop {
        let worker: Worker
        let listenSocket: Int32
        let wake: Int32
        /// Signals let in while the worker waits (``Signals/waitMask()``).
        var waitMask = Signals.waitMask()
        /// Releases the idle connections when a request runs long; nil: as it begins.
        let idleRelease: IdleRelease?
        var kept: [Kept] = []
        var polled: [pollfd] = []
        var served = 0
        var uses = 0
        /// Set once the worker stops accepting.
        var exit: Exit?
        var scratch = [CChar](repeating: 0, count: 65536)
        /// Answers to writes waiting for a sync, in the order served, each with the generation
        /// of the sync handed to ``syncThread`` that covers it (0: not handed over yet).
        var held: [Held] = []
        /// Answers held at most: past it the worker waits for the disk before it serves more.
        static let maxHeld = 32
        /// The syncs the round's writes left (``WriteSync``).
        let batch = WriteSync.Batch()
        /// Runs the syncs while the worker serves; started at the first held answer. Nil if it
        /// could not start: the worker then runs each round's sync itself.
        lazy var syncThread: SyncThread? = SyncThread.start()
        /// The generation of the last sync handed over.
        var generation: UInt64 = 0

        init(worker: Worker, listenSocket: Int32, wake: Int32, idleRelease: IdleRelease?) {
            self.worker = worker
            self.listenSocket = listenSocket
            self.wake = wake
            self.idleRelease = idleRelease
        }

        var logger: Logger { worker.logger }

        var recycleDue: Bool { worker.maxRequests > 0 && served >= worker.maxRequests }

        func run() async -> Exit {
            await WriteSync.$batch.withValue(batch) { await serveUntilExit() }
        }

        func serveUntilExit() async -> Exit {
            while true {
                if Signals.takeReopenRequest() { LogFile.reopen(logger: logger) }
                if exit == nil {
                    let signal = Signals.shutdownSignal
                    if signal != 0 {
                        stopAccepting(.signalled(signal))
                    } else if recycleDue {
                        stopAccepting(.recycled)
                    }
                }
                if let exit, kept.isEmpty { return exit }
                await waitAndServe()
            }
        }

        func stopAccepting(_ reason: Exit) {
            exit = reason
            // One whose answer is held is released once answered.
            for connection in kept where connection.releasedAt == nil && !connection.awaitingSync {
                release(connection)
            }
        }

        /// Waits until the listening socket, a kept connection or the wake pipe is ready (or
        /// a released connection's grace ends), then serves each ready connection once and
        /// accepts at most one new one, so neither kept connections nor the backlog starve.
        func waitAndServe() async {
            polled.removeAll(keepingCapacity: true)
            polled.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0))
            let accepting = exit == nil
            if accepting { polled.append(pollfd(fd: listenSocket, events: Int16(POLLIN), revents: 0)) }
            let syncing = held.contains { $0.generation != 0 }
            let finished = polled.count
            if syncing, let syncThread {
                polled.append(pollfd(fd: syncThread.finishedDescriptor, events: Int16(POLLIN), revents: 0))
            }
            let first = polled.count
            let watched = kept
            for connection in watched { polled.append(pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)) }

            var timeout: Int32 = -1
            var earliest = Double.infinity
            for connection in watched {
                if let releasedAt = connection.releasedAt { earliest = min(earliest, releasedAt) }
            }
            if earliest.isFinite {
                let now = Connection.monotonicNow()
                timeout = Int32(max(0, min(86_400_000, (earliest + worker.readTimeout - now) * 1000 + 1)))
            }
            // Control signals are let in only while the worker waits: one that lands before
            // the wait writes to the wake pipe, which the wait then reports at once.
            let ready = cfastcgi_poll_with_mask(&polled, nfds_t(polled.count), timeout, &waitMask)
            if ready < 0 { return }
            if polled[0].revents != 0 { Signals.drainWakePipe(wake) }
            if syncing && polled[finished].revents != 0 { answerSynced() }

            for (index, connection) in watched.enumerated() where polled[first + index].revents != 0 {
                guard kept.contains(where: { $0 === connection }) else { continue }
                await serveKept(connection)
            }
            if accepting && exit == nil && !recycleDue && polled[1].revents != 0, let fresh = acceptOne() {
                await serveNext(on: fresh)
            }
            handOverHeld()
            closeExpired()
        }

        /// A kept connection became readable: the peer's next request, or its close.
        func serveKept(_ connection: Kept) async {
            switch Connection.pending(connection.fd) {
            case .nothing:
                return
            case .closed:
                drop(connection, closing: true)
            case .request:
                await serveNext(on: connection)
            }
        }

        func acceptOne() -> Kept? {
            switch Connection.accept(on: listenSocket) {
            case .connection(let accepted):
                guard worker.peers.allows(accepted.peer) else {
                    logger.warning(
                        "refused FastCGI connection from a peer that is not an allowed web server",
                        metadata: ["peer": "\(accepted.peerDescription)"])
                    close(accepted.fd)
                    return nil
                }
                accepted.setTimeouts(seconds: worker.readTimeout)
                let connection = Kept(accepted)
                kept.append(connection)
                return connection
            case .retry:
                return nil
            case .failed(let code):
                if Signals.shutdownSignal == 0 { stopAccepting(.acceptFailed(code)) }
                return nil
            }
        }

        /// Reads one request from `connection` and answers it.
        func serveNext(on connection: Kept) async {
            worker.monitor?.slot.beginReading()
            guard case .request(let peerKeeps) = connection.fcgx.begin() else {
                worker.monitor?.slot.abandonReading()
                // libfcgi has closed it.
                logger.warning(
                    "dropped FastCGI connection without a complete request",
                    metadata: [
                        "peer": "\(connection.connection.peerDescription)", "read_timeout": "\(worker.readTimeout)",
                    ])
                drop(connection, closing: false)
                return
            }
            served += 1
            uses += 1
            connection.lastUsed = uses
            releaseIdle(besides: connection)
            idleRelease?.begin { idle in
                for other in kept where other.isOpen(besides: connection) {
                    idle.append(IdleRelease.Idle(fd: other.fd, requestID: other.fcgx.requestID))
                }
            }
            let release =
                !peerKeeps || connection.releasedAt != nil || exit != nil || recycleDue || worker.keptConnections == 0
            let outcome = await worker.serve(
                connection.fcgx, peerKeeps: peerKeeps, release: release, batch: batch, scratch: &scratch)
            if let released = idleRelease?.end(), !released.isEmpty {
                logger.debug(
                    "released idle FastCGI connections while a request ran",
                    metadata: ["connections": "\(released.count)", "after": "\(worker.releaseAfter)"])
                let now = Connection.monotonicNow()
                for other in kept where other.releasedAt == nil && released.contains(other.fd) {
                    other.releasedAt = now
                }
            }
            if case .held(let answer) = outcome {
                connection.awaitingSync = true
                held.append(Held(connection: connection, answer: answer, peerKeeps: peerKeeps, release: release))
            } else {
                settle(connection, outcome, peerKeeps: peerKeeps, release: release)
            }
            answerFailedRounds()
            if held.count >= Self.maxHeld { waitForHeld() }
        }

        /// Answers 500 to the held requests whose round's transaction did not commit
        /// (``WriteSync/Batch/roundFailed(_:error:)``): their writes are not stored.
        func answerFailedRounds() {
            for failed in batch.takeFailedRounds() {
                write(takeHeld { $0.answer.round == failed.round }, failure: failed.error, committed: false)
            }
        }

        /// Commits the round's open transaction, if any, so that its sync can be handed over.
        func endRound() {
            if logger.logLevel <= .debug {
                let joined = held.filter { $0.generation == 0 && $0.answer.round != 0 }.map(\.answer.round)
                if Set(joined).count < joined.count {
                    logger.debug("one transaction committed several writes", metadata: ["requests": "\(joined.count)"])
                }
            }
            batch.endRound()
            answerFailedRounds()
        }

        /// What follows an answer written on `connection`.
        func settle(_ connection: Kept, _ outcome: Served, peerKeeps: Bool, release: Bool) {
            switch outcome {
            case .gone:
                logger.debug("client went away before the response was written")
                drop(connection, closing: true)
            case .answered(let complete):
                if !peerKeeps || !complete {
                    // A peer without FCGI_KEEP_CONN expects the close; a request whose body
                    // was left unread cannot be followed by another, and the release record
                    // after its response keeps nginx from reusing it.
                    Connection.closeGracefully(connection.fd, within: min(worker.readTimeout, 2))
                    drop(connection, closing: false)
                } else if release && connection.releasedAt == nil {
                    connection.releasedAt = Connection.monotonicNow()
                } else if exit != nil && connection.releasedAt == nil {
                    // The worker stopped accepting while the answer was held.
                    self.release(connection)
                }
            case .held:
                preconditionFailure("a held answer is settled once written")
            }
        }

        /// At the end of a turn: hands the sync that the turn's new held answers wait for to
        /// the sync thread, which runs it while the worker serves on; without the thread, runs
        /// it here and writes every held answer.
        func handOverHeld() {
            endRound()
            guard held.contains(where: { $0.generation == 0 }) else { return }
            guard let syncThread else { return answerHeld() }
            generation += 1
            for index in held.indices where held[index].generation == 0 { held[index].generation = generation }
            // A held answer always left a sync; nothing to wait for otherwise.
            guard let sync = batch.takePending() else {
                let handedOver = generation
                return write(takeHeld { $0.generation == handedOver })
            }
            syncThread.submit(sync, generation: generation)
        }

        /// Writes the held answers that the finished syncs cover.
        func answerSynced() {
            guard let syncThread else { return }
            for finished in syncThread.takeFinished() {
                write(
                    takeHeld { $0.generation != 0 && $0.generation <= finished.generation },
                    failure: finished.error)
            }
        }

        /// Removes the held answers that `selected` picks, and returns them in order.
        func takeHeld(where selected: (Held) -> Bool) -> [Held] {
            let taken = held.filter(selected)
            held.removeAll(where: selected)
            return taken
        }

        /// Too many answers are held: waits for the disk until fewer are.
        func waitForHeld() {
            guard let syncThread else { return answerHeld() }
            handOverHeld()
            while held.count >= Self.maxHeld {
                syncThread.waitForFinished()
                answerSynced()
            }
        }

        /// Runs the sync the held answers wait for, once, here, then writes them.
        func answerHeld() {
            endRound()
            guard !held.isEmpty else { return }
            var failure: (any Error)?
            do { try batch.flush() } catch { failure = error }
            let answers = held
            held.removeAll(keepingCapacity: true)
            write(answers, failure: failure)
        }

        /// Writes held answers whose sync has run. If it failed (`failure`), each gets a 500
        /// instead: the writes are committed but may not survive a power loss, or, when not
        /// `committed`, their round's transaction was rolled back.
        func write(_ answers: [Held], failure: (any Error)? = nil, committed: Bool = true) {
            guard !answers.isEmpty else { return }
            if let failure {
                logger.error(
                    committed
                        ? "could not make committed writes durable; answering them 500"
                        : "a round of writes did not commit; answering them 500",
                    metadata: ["error": "\(failure)", "requests": "\(answers.count)"])
            } else if answers.count > 1 {
                logger.debug("one sync made several writes durable", metadata: ["requests": "\(answers.count)"])
            }
            for held in answers {
                held.connection.awaitingSync = false
                let outcome = worker.answer(held.answer, synced: failure == nil, on: held.connection.fcgx)
                settle(held.connection, outcome, peerKeeps: held.peerKeeps, release: held.release)
            }
        }

        /// Asks nginx to close the kept connections the worker holds beyond
        /// `keptConnections - 1` besides `current`, the least recently used first; all of them
        /// when no ``IdleRelease`` does it later.
        func releaseIdle(besides current: Kept) {
            let allowed = idleRelease == nil ? 0 : max(0, worker.keptConnections - 1)
            // Nothing to sort or release in the common case.
            var count = 0
            for other in kept where other.isOpen(besides: current) { count += 1 }
            guard count > allowed else { return }
            let open = kept.filter { $0.isOpen(besides: current) }.sorted { $0.lastUsed > $1.lastUsed }
            for connection in open[allowed...] { release(connection) }
        }

        /// Writes the release record on an open connection; the worker closes it when nginx
        /// has closed its end.
        func release(_ connection: Kept) {
            connection.releasedAt = Connection.monotonicNow()
            if !Connection.writeAll(connection.fd, Records.release(requestID: connection.fcgx.requestID)) {
                drop(connection, closing: true)
            }
        }

        /// Closes released connections whose peer stayed silent for `readTimeout`: not
        /// nginx, which closes a released idle connection at once.
        func closeExpired() {
            let now = Connection.monotonicNow()
            for connection in kept {
                if let releasedAt = connection.releasedAt, now - releasedAt >= worker.readTimeout {
                    logger.debug(
                        "closed a released FastCGI connection that its peer left open",
                        metadata: ["peer": "\(connection.connection.peerDescription)"])
                    drop(connection, closing: true)
                }
            }
        }

        func drop(_ connection: Kept, closing: Bool) {
            if closing && connection.fcgx.connection >= 0 { close(connection.fd) }
            kept.removeAll { $0 === connection }
        }
    }

    /// An answer held for a sync, and what settles its connection once written.
    struct Held {
        let connection: Kept
        let answer: HeldAnswer
        let peerKeeps: Bool
        let release: Bool
        /// The sync handed to the sync thread that covers it; 0 until handed over.
        var generation: UInt64 = 0
    }

    /// What became of a request once answered.
    enum Served {
        /// The response is written; `complete` when the request's input was read to its
        /// end, so the connection can carry another request.
        case answered(complete: Bool)
        /// The peer went away.
        case gone
        /// The request wrote: its answer waits for the sync that makes the write durable.
        case held(HeldAnswer)
    }

    /// An answer waiting for ``WriteSync/flush()``, and what to count once it is written.
    struct HeldAnswer {
        let response: [UInt8]
        let requestID: String
        /// The release record follows the response.
        let releaseAfter: Bool
        let complete: Bool
        let routeRow: Int
        let status: Int
        let nanoseconds: UInt64
        /// The round whose transaction holds its write (``WriteSync/Batch/join(round:)``);
        /// 0: its write committed alone.
        let round: UInt64
    }

    /// Writes a held answer, or a 500 when the sync failed, and counts it.
    func answer(_ answer: HeldAnswer, synced: Bool, on fcgx: FCGXRequest) -> Served {
        var bytes = answer.response
        var status = answer.status
        if !synced {
            var failure = HTTPError(.internalServerError).response
            failure.headers.add(name: "X-Request-Id", value: answer.requestID)
            bytes = CGIResponse.encode(failure)
            status = 500
        }
        let written = fcgx.respond(bytes, release: answer.releaseAfter)
        monitor?.metrics.record(row: answer.routeRow, status: status, nanoseconds: answer.nanoseconds)
        return written ? .answered(complete: answer.complete) : .gone
    }

    /// Answers the request libfcgi has begun. Nothing a client sends can make this trap.
    /// With `release`, or when the request's input was not read to its end, a peer that
    /// keeps connections gets the release record after the response. A request that left a
    /// sync in `batch` (the loop's, which is also the task's ``WriteSync/batch``) is held.
    func serve(
        _ fcgx: FCGXRequest, peerKeeps: Bool, release: Bool, batch: WriteSync.Batch, scratch: inout [CChar]
    ) async -> Served {
        var decoder = CGIRequest.Decoder()
        fcgx.forEachParam { decoder.take(name: $0, value: $1) }
        var (request, declaredLength) = decoder.finish()
        let limit = app.maxContentLength
        if request.transportError == nil {
            if let declaredLength {
                // A body over the limit is refused from its declared length, unread.
                if declaredLength <= limit { request.body = fcgx.readBody(limit: declaredLength, scratch: &scratch) }
            } else {
                let body = fcgx.readBody(limit: limit + 1, scratch: &scratch)
                if !body.isEmpty {
                    request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
                    if body.count <= limit { request.body = body }
                }
            }
        }
        var routeIndex: Int?
        let response: Response
        if let monitor {
            // nginx's id names the request and any retry of it; the client's may repeat.
            let retryKey = request.id.isEmpty ? 0 : monitor.region.retryKey(request.id)
            request.id = RequestIDMiddleware.id(for: request)
            monitor.slot.beginRequest(
                method: request.method.rawValue, path: request.path, requestID: request.id, retryKey: retryKey)
            if retryKey != 0 && monitor.region.scoreboard.anyTimedOut
                && monitor.region.scoreboard.wasTimedOut(idHash: retryKey)
            {
                request.transportError = HTTPError(
                    .gatewayTimeout, message: "The request took longer than the server's timeout.")
            }
            (response, routeIndex) = await app.handleRouted(request)
        } else {
            response = await app.handle(request)
        }
        // What is left of the body (all of it when refused unread) is read now, so the next
        // bytes on a kept connection are the next request; a body too long for that ends
        // the connection.
        let complete = fcgx.discardInput(limit: 65536, scratch: &scratch)
        let releaseAfter = peerKeeps && (release || !complete)
        let encoded = CGIResponse.encode(response)
        let status = Int(response.status.code)
        let routeRow = routeIndex ?? MetricsTable.unmatchedRow
        if batch.takeRequest() {
            // Written once the round's sync has made the write durable (Loop.handOverHeld).
            let now = Scoreboard.now()
            let nanoseconds = monitor.map { $0.slot.elapsed(now: now) } ?? 0
            monitor?.slot.endRequest(status: status, now: now)
            return .held(
                HeldAnswer(
                    response: encoded, requestID: request.id, releaseAfter: releaseAfter, complete: complete,
                    routeRow: routeRow, status: status, nanoseconds: nanoseconds, round: batch.takeJoinedRound()))
        }
        let written = fcgx.respond(encoded, release: releaseAfter)
        if let monitor {
            // Counted before the slot shows idle: a reader that sees every worker idle has
            // every answered request in the counters.
            let now = Scoreboard.now()
            monitor.metrics.record(row: routeRow, status: status, nanoseconds: monitor.slot.elapsed(now: now))
            monitor.slot.endRequest(status: status, now: now)
        }
        return written ? .answered(complete: complete) : .gone
    }
}
