// What the status page and the metrics tell: one reading of the scoreboard and the counters.

import HostRegion

#if canImport(Glibc)
    import Glibc
#endif

/// One reading of the pool, taken by the master's status server and rendered as the status
/// page (text or JSON) or as Prometheus metrics. A plain value, so the renderers are tested
/// on fixed readings.
public struct StatusReport: Sendable, Equatable {
    /// The pool's name: its listen address.
    public var pool: String
    /// When the master started, in seconds since the Unix epoch.
    public var startTime: Int
    /// Seconds since the master started.
    public var uptime: Int
    /// The accept queue of the pool's socket; nil when the kernel does not tell.
    public var listenQueue: ListenQueue?
    /// The longest accept queue the status server has seen.
    public var maxListenQueue: Int
    /// The most workers seen reading or running a request at once.
    public var maxActive: Int
    /// The host-wide counters.
    public var restarts: UInt64
    public var timeouts: UInt64
    public var workerDeaths: UInt64
    public var slowRequests: UInt64
    /// The counted requests per route.
    public var rows: [MetricsTable.Row]
    /// The workers' slots.
    public var workers: [Scoreboard.Snapshot]
    /// `CLOCK_MONOTONIC` nanoseconds at the reading, for the elapsed time of requests.
    public var now: UInt64

    public init(
        pool: String, startTime: Int, uptime: Int, listenQueue: ListenQueue?, maxListenQueue: Int, maxActive: Int,
        restarts: UInt64, timeouts: UInt64, workerDeaths: UInt64, slowRequests: UInt64, rows: [MetricsTable.Row],
        workers: [Scoreboard.Snapshot], now: UInt64
    ) {
        self.pool = pool
        self.startTime = startTime
        self.uptime = uptime
        self.listenQueue = listenQueue
        self.maxListenQueue = maxListenQueue
        self.maxActive = maxActive
        self.restarts = restarts
        self.timeouts = timeouts
        self.workerDeaths = workerDeaths
        self.slowRequests = slowRequests
        self.rows = rows
        self.workers = workers
        self.now = now
    }

    /// Requests answered by every worker since the master started: recycled workers' included.
    public var acceptedRequests: UInt64 { rows.reduce(0) { $0 + $1.requests } }

    /// Requests refused by the rate limiter (status 429).
    public var rateLimited: UInt64 { rows.reduce(0) { $0 + ($1.statuses[429] ?? 0) } }

    /// Workers in `state`.
    public func count(_ state: Scoreboard.State) -> Int { workers.filter { $0.state == state }.count }

    /// Workers reading or running a request.
    public var active: Int { count(.reading) + count(.busy) }

    /// Workers waiting for a request.
    public var idle: Int { count(.idle) }

    /// Every worker with a slot, starting ones included.
    public var total: Int { workers.count }
}
