// The master's status server: a thread answering /status, /ping and /metrics on a unix socket.

// The socket API constants (SOCK_CLOEXEC, MSG_NOSIGNAL) come with libfcgi's headers.
import CFastCGI
import CHostRegion
import HostRegion

#if canImport(Glibc)
    import Glibc
#endif

/// Serves the status page, the ping and the metrics from the scoreboard and the host-wide
/// counters, on its own unix socket, from a thread of the master.
///
/// A thread of the master rather than a worker or a process of its own: it answers while
/// every worker is busy (exactly when an operator looks), it needs nothing the master does
/// not already hold (the host region and the pool's socket, for its accept queue), and there
/// is no second process to supervise. It never touches the master's own state, only shared
/// memory and the kernel, and it takes no signals: the master blocks them before starting it.
///
/// One connection at a time, one request per connection: a head of at most
/// ``StatusRequest/maximumHead`` bytes read within ``ioTimeout``, then the answer and close.
/// A peer that sends nothing holds it for at most that long; the master's loop is never held.
public final class StatusServer: @unchecked Sendable {
    /// Seconds a connection may take to send its head or to take the answer.
    public static let ioTimeout = 2.0
    /// How often, in milliseconds, the busiest moments are sampled between requests.
    static let sampleInterval: Int32 = 100

    let listener: Listener
    let read: @Sendable () -> StatusReport
    // Written to stop the thread; both ends close-on-exec, as the workers must not hold them.
    private var wake: (read: Int32, write: Int32) = (-1, -1)
    private var thread: pthread_t?
    // Touched by the server's thread only.
    private var maxActive = 0
    private var maxListenQueue = 0

    /// - Parameters:
    ///   - listener: the status socket, already listening.
    ///   - read: a reading of the pool, without its maxima (the server adds them).
    public init(listener: Listener, read: @escaping @Sendable () -> StatusReport) {
        self.listener = listener
        self.read = read
    }

    /// Starts the thread. Call it with the signals the process handles already blocked.
    public func start() throws {
        var fds: [Int32] = [0, 0]
        guard chr_pipe_cloexec(&fds) == 0 else { throw Listener.Failure("status server pipe", errno: errno) }
        wake = (fds[0], fds[1])
        let box = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(
            &handle, nil,
            { argument in
                let server = Unmanaged<StatusServer>.fromOpaque(argument!).takeRetainedValue()
                server.loop()
                return nil
            }, box)
        guard result == 0 else {
            Unmanaged<StatusServer>.fromOpaque(box).release()
            throw Listener.Failure("status server thread", errno: result)
        }
        thread = handle
    }

    /// Stops the thread, waits for it, and removes the socket.
    public func stop() {
        if let thread {
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
            pthread_join(thread, nil)
            self.thread = nil
        }
        if wake.read >= 0 {
            close(wake.read)
            close(wake.write)
            wake = (-1, -1)
        }
        listener.close()
    }

    /// A reading with the maxima seen so far; updates them first.
    func report() -> StatusReport {
        var report = read()
        sample(report)
        report.maxActive = maxActive
        report.maxListenQueue = maxListenQueue
        return report
    }

    func sample(_ report: StatusReport) {
        maxActive = max(maxActive, report.active)
        maxListenQueue = max(maxListenQueue, report.listenQueue?.queued ?? 0)
    }

    private func loop() {
        while true {
            var polled = [
                pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&polled, 2, Self.sampleInterval)
            if ready < 0 && errno != EINTR { return }
            if polled[1].revents != 0 { return }
            guard ready > 0, polled[0].revents & Int16(POLLIN) != 0 else {
                sample(read())
                continue
            }
            let connection = chr_accept_cloexec(listener.fd)
            guard connection >= 0 else { continue }
            serve(connection)
            close(connection)
        }
    }

    private func serve(_ connection: Int32) {
        var timeout = timeval(tv_sec: Int(Self.ioTimeout), tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let deadline = Master.now() + Self.ioTimeout
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        var parsed = StatusRequest.Parse.incomplete
        while case .incomplete = parsed {
            let left = deadline - Master.now()
            guard left > 0 else { return }
            var polled = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            guard poll(&polled, 1, Int32(left * 1000) + 1) > 0 else { return }
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            bytes += buffer[..<count]
            parsed = StatusRequest.parse(bytes)
        }
        let response: StatusResponse
        var head = false
        switch parsed {
        case .request(let request):
            head = request.method == "HEAD"
            response = request.response(report)
        default:
            response = .error(400, "The request could not be understood.")
        }
        let out = response.encoded(head: head)
        var offset = 0
        while offset < out.count {
            let sent = out[offset...].withUnsafeBytes {
                send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { return }
            offset += sent
        }
    }
}
