// The metrics in Prometheus's text exposition format 0.0.4.

import HostRegion

extension StatusReport {
    /// The content type of ``prometheusText()``.
    public static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every metric, each family once with its HELP and TYPE lines. Counters come from the
    /// host-wide table, so they count every worker's requests, recycled ones' included.
    public func prometheusText() -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
            if labels.isEmpty {
                out += "\(name) \(value)\n"
            } else {
                let text = labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",")
                out += "\(name){\(text)} \(value)\n"
            }
        }

        family("tasks_api_requests_total", "counter", "Requests answered by the workers, by route and status.")
        for row in rows {
            for (status, count) in row.statuses.sorted(by: { $0.key < $1.key }) {
                sample(
                    "tasks_api_requests_total",
                    [("route", row.label), ("status", status == 0 ? "other" : "\(status)")],
                    "\(count)")
            }
        }

        let histogram = "tasks_api_request_duration_seconds"
        family(histogram, "histogram", "Time from the first byte of a request to its answer, by route.")
        for row in rows {
            var cumulative: UInt64 = 0
            for (index, count) in row.buckets.enumerated() {
                cumulative += count
                let bound =
                    index < MetricsTable.bucketBounds.count ? Self.number(MetricsTable.bucketBounds[index]) : "+Inf"
                sample(histogram + "_bucket", [("route", row.label), ("le", bound)], "\(cumulative)")
            }
            sample(histogram + "_sum", [("route", row.label)], Self.number(Double(row.durationMicroseconds) / 1e6))
            sample(histogram + "_count", [("route", row.label)], "\(cumulative)")
        }

        family("tasks_api_workers", "gauge", "Worker processes by state.")
        for state in Scoreboard.State.allCases where state != .free {
            sample("tasks_api_workers", [("state", state.name)], "\(count(state))")
        }

        if let listenQueue {
            family("tasks_api_listen_queue", "gauge", "Connections waiting in the pool socket's accept queue.")
            sample("tasks_api_listen_queue", [], "\(listenQueue.queued)")
            family("tasks_api_listen_queue_limit", "gauge", "The most connections the accept queue holds.")
            sample("tasks_api_listen_queue_limit", [], "\(listenQueue.limit)")
        }

        let counters: [(String, String, UInt64)] = [
            ("tasks_api_worker_restarts_total", "Workers started to replace one that ended.", restarts),
            ("tasks_api_request_timeouts_total", "Workers killed for a request over the timeout.", timeouts),
            ("tasks_api_worker_deaths_total", "Workers that were killed or crashed.", workerDeaths),
            ("tasks_api_rate_limited_total", "Requests refused by the rate limiter (429).", rateLimited),
            ("tasks_api_slow_requests_total", "Requests logged as slow.", slowRequests),
        ]
        for (name, help, value) in counters {
            family(name, "counter", help)
            sample(name, [], "\(value)")
        }

        family("tasks_api_worker_resident_bytes", "gauge", "Resident memory of each worker, as the master read it.")
        for worker in workers {
            sample("tasks_api_worker_resident_bytes", [("pid", "\(worker.pid)")], "\(worker.residentBytes)")
        }
        return out
    }

    /// A label value with backslash, double quote and line feed escaped, as the format requires.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// A float as Prometheus writes it: whole numbers without a fraction.
    static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
