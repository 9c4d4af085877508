// The status server's renderers: the Prometheus text exactly, the status page's text and JSON fields.

import Flagon
import Testing

@testable import FastCGI
@testable import HostRegion

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Status page and metrics")
struct StatusReportTests {
    static func worker(
        pid: pid_t, state: Scoreboard.State, served: UInt64 = 0, resident: UInt64 = 0, start: UInt64 = 0,
        method: String = "", path: String = "", requestID: String = ""
    ) -> Scoreboard.Snapshot {
        Scoreboard.Snapshot(
            index: Int(pid), pid: pid, state: state, consistent: true, requestStart: start, served: served,
            lastDuration: 2_500_000, lastStatus: 200, residentBytes: resident, startedAt: 0, serial: served,
            method: method, requestID: requestID, path: path)
    }

    /// Two workers, one idle and one busy for 1.5 s on a request, and one route's counters.
    static func report(listenQueue: ListenQueue? = ListenQueue(queued: 2, limit: 1024)) -> StatusReport {
        var buckets = [UInt64](repeating: 0, count: MetricsTable.bucketBounds.count + 1)
        buckets[0] = 1
        buckets[1] = 2
        buckets[buckets.count - 1] = 1
        let row = MetricsTable.Row(
            index: 0, label: "GET /api/hello", statuses: [200: 3, 429: 1], buckets: buckets,
            durationMicroseconds: 1_500)
        return StatusReport(
            pool: "unix:/run/pool.sock", startTime: 1_764_468_000, uptime: 120, listenQueue: listenQueue,
            maxListenQueue: 5, maxActive: 2, restarts: 1, timeouts: 0, workerDeaths: 0, slowRequests: 2, rows: [row],
            workers: [
                worker(pid: 10, state: .idle, served: 3, resident: 1024),
                worker(
                    pid: 11, state: .busy, served: 1, resident: 2048, start: 1_000_000_000, method: "GET",
                    path: "/api/tasks", requestID: "abc"),
            ],
            now: 2_500_000_000)
    }

    @Test("the Prometheus text is exact: families once, cumulative buckets, _sum and _count")
    func prometheusText() {
        let expected = """
            # HELP tasks_api_requests_total Requests answered by the workers, by route and status.
            # TYPE tasks_api_requests_total counter
            tasks_api_requests_total{route="GET /api/hello",status="200"} 3
            tasks_api_requests_total{route="GET /api/hello",status="429"} 1
            # HELP tasks_api_request_duration_seconds Time from the first byte of a request to its answer, by route.
            # TYPE tasks_api_request_duration_seconds histogram
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="0.001"} 1
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="0.0025"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="0.005"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="0.01"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="0.025"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="0.05"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="0.1"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="0.25"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="0.5"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="1"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="2.5"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="5"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="10"} 3
            tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="+Inf"} 4
            tasks_api_request_duration_seconds_sum{route="GET /api/hello"} 0.0015
            tasks_api_request_duration_seconds_count{route="GET /api/hello"} 4
            # HELP tasks_api_workers Worker processes by state.
            # TYPE tasks_api_workers gauge
            tasks_api_workers{state="starting"} 0
            tasks_api_workers{state="idle"} 1
            tasks_api_workers{state="reading"} 0
            tasks_api_workers{state="busy"} 1
            # HELP tasks_api_listen_queue Connections waiting in the pool socket's accept queue.
            # TYPE tasks_api_listen_queue gauge
            tasks_api_listen_queue 2
            # HELP tasks_api_listen_queue_limit The most connections the accept queue holds.
            # TYPE tasks_api_listen_queue_limit gauge
            tasks_api_listen_queue_limit 1024
            # HELP tasks_api_worker_restarts_total Workers started to replace one that ended.
            # TYPE tasks_api_worker_restarts_total counter
            tasks_api_worker_restarts_total 1
            # HELP tasks_api_request_timeouts_total Workers killed for a request over the timeout.
            # TYPE tasks_api_request_timeouts_total counter
            tasks_api_request_timeouts_total 0
            # HELP tasks_api_worker_deaths_total Workers that were killed or crashed.
            # TYPE tasks_api_worker_deaths_total counter
            tasks_api_worker_deaths_total 0
            # HELP tasks_api_rate_limited_total Requests refused by the rate limiter (429).
            # TYPE tasks_api_rate_limited_total counter
            tasks_api_rate_limited_total 1
            # HELP tasks_api_slow_requests_total Requests logged as slow.
            # TYPE tasks_api_slow_requests_total counter
            tasks_api_slow_requests_total 2
            # HELP tasks_api_worker_resident_bytes Resident memory of each worker, as the master read it.
            # TYPE tasks_api_worker_resident_bytes gauge
            tasks_api_worker_resident_bytes{pid="10"} 1024
            tasks_api_worker_resident_bytes{pid="11"} 2048

            """
        #expect(Self.report().prometheusText() == expected)
    }

    @Test("an unknown listen queue leaves its gauges out; other statuses count as \"other\"")
    func prometheusWithoutQueue() {
        var report = Self.report(listenQueue: nil)
        report.rows[0].statuses = [0: 2]
        let text = report.prometheusText()
        #expect(!text.contains("tasks_api_listen_queue"))
        #expect(text.contains(#"tasks_api_requests_total{route="GET /api/hello",status="other"} 2"#))
    }

    @Test("label values escape backslash, double quote and line feed")
    func labelEscaping() {
        #expect(StatusReport.escapeLabel("a\\b\"c\nd") == #"a\\b\"c\nd"#)
        #expect(StatusReport.number(1) == "1")
        #expect(StatusReport.number(0.25) == "0.25")
    }

    @Test("the text page lists every field, aligned, and with full a block per worker")
    func textPage() {
        let text = Self.report().text(full: false)
        let expected = """
            pool:                 unix:/run/pool.sock
            start time:           2025-11-30T02:00:00Z
            start since:          120
            accepted requests:    4
            listen queue:         2
            max listen queue:     5
            listen queue len:     1024
            idle workers:         1
            active workers:       1
            total workers:        2
            max active workers:   2
            restarts:             1
            timeouts:             0
            worker deaths:        0
            slow requests:        2
            rate limited:         1

            """
        #expect(text == expected)
        let full = Self.report().text(full: true)
        #expect(full.hasPrefix(expected))
        let blocks = full.components(separatedBy: "\n************************\n")
        #expect(blocks.count == 3)
        #expect(blocks[1].contains("pid:                  10\nstate:                idle\nrequests:             3\n"))
        #expect(blocks[1].contains("path:                 -\n"))
        #expect(blocks[2].contains("state:                busy\n"))
        #expect(blocks[2].contains("last duration:        0.0025\n"))
        #expect(
            blocks[2].contains(
                "method:               GET\npath:                 /api/tasks\nrequest id:           abc\n"))
        #expect(blocks[2].contains("elapsed:              1.5\n"))
    }

    @Test("the JSON page has the same fields; null for an unknown queue; workers only with full")
    func jsonPage() throws {
        let json = try JSONParser.parse(Self.report(listenQueue: nil).json(full: true).jsonText)
        let object = try #require(json.objectValue)
        #expect(object["accepted_requests"] == .integer(4))
        #expect(object["listen_queue"] == .null)
        #expect(object["listen_queue_len"] == .null)
        #expect(object["idle_workers"] == .integer(1))
        #expect(object["active_workers"] == .integer(1))
        #expect(object["total_workers"] == .integer(2))
        #expect(object["rate_limited"] == .integer(1))
        #expect(object["slow_requests"] == .integer(2))
        #expect(object["start_time"] == .string("2025-11-30T02:00:00Z"))
        guard case .array(let workers) = object["workers"] else {
            Issue.record("no workers array")
            return
        }
        #expect(workers.count == 2)
        let busy = try #require(workers[1].objectValue)
        #expect(busy["pid"] == .integer(11))
        #expect(busy["state"] == .string("busy"))
        #expect(busy["request_id"] == .string("abc"))
        #expect(busy["path"] == .string("/api/tasks"))
        #expect(busy["elapsed"] == .number(1.5))
        #expect(busy["last_duration"] == .number(0.0025))
        #expect(busy["rss"] == .integer(2048))
        #expect(Self.report().json(full: false).objectValue?["workers"] == nil)
    }
}
