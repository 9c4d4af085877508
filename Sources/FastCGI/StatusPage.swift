// The status page, as PHP-FPM's: plain text or JSON, with one row per worker on request.

import Flagon
import HostRegion

extension StatusReport {
    /// The page's fields in order, with the names of the text page and the keys of the JSON.
    var summary: [(text: String, key: String, value: JSONValue)] {
        func number<T: BinaryInteger>(_ value: T) -> JSONValue { .integer(Int64(value)) }
        return [
            ("pool", "pool", .string(pool)),
            ("start time", "start_time", .string(RFC3339.format(seconds: Int64(startTime)))),
            ("start since", "start_since", number(uptime)),
            ("accepted requests", "accepted_requests", number(acceptedRequests)),
            ("listen queue", "listen_queue", listenQueue.map { number($0.queued) } ?? .null),
            ("max listen queue", "max_listen_queue", number(maxListenQueue)),
            ("listen queue len", "listen_queue_len", listenQueue.map { number($0.limit) } ?? .null),
            ("idle workers", "idle_workers", number(idle)),
            ("active workers", "active_workers", number(active)),
            ("total workers", "total_workers", number(total)),
            ("max active workers", "max_active_workers", number(maxActive)),
            ("restarts", "restarts", number(restarts)),
            ("timeouts", "timeouts", number(timeouts)),
            ("worker deaths", "worker_deaths", number(workerDeaths)),
            ("slow requests", "slow_requests", number(slowRequests)),
            ("rate limited", "rate_limited", number(rateLimited)),
        ]
    }

    /// One worker's row; the request fields are empty and elapsed 0 while it is idle.
    func row(_ worker: Scoreboard.Snapshot) -> [(text: String, key: String, value: JSONValue)] {
        let active = worker.state == .reading || worker.state == .busy
        return [
            ("pid", "pid", .integer(Int64(worker.pid))),
            ("state", "state", .string(worker.state.name)),
            ("requests", "requests", .integer(Int64(worker.served))),
            ("last duration", "last_duration", .number(Self.seconds(nanoseconds: worker.lastDuration))),
            ("last status", "last_status", .integer(Int64(worker.lastStatus))),
            ("rss", "rss", .integer(Int64(worker.residentBytes))),
            ("method", "method", .string(active ? worker.method : "")),
            ("path", "path", .string(active ? worker.path : "")),
            ("request id", "request_id", .string(active ? worker.requestID : "")),
            ("elapsed", "elapsed", .number(Self.rounded(worker.elapsed(now: now)))),
        ]
    }

    /// Seconds to the microsecond, the precision the page promises.
    static func seconds(nanoseconds: UInt64) -> Double { rounded(Double(nanoseconds) / 1e9) }

    static func rounded(_ seconds: Double) -> Double { (seconds * 1e6).rounded() / 1e6 }

    /// The text page: `name: value` lines aligned as PHP-FPM aligns them, and with `full`
    /// a block per worker after a line of stars.
    public func text(full: Bool) -> String {
        func lines(_ fields: [(text: String, key: String, value: JSONValue)]) -> String {
            fields.map { field in
                let label = field.text + ":"
                let padding = String(repeating: " ", count: max(1, 22 - label.count))
                return label + padding + Self.plain(field.value) + "\n"
            }.joined()
        }
        var page = lines(summary)
        if full {
            for worker in workers {
                page += "\n" + String(repeating: "*", count: 24) + "\n" + lines(row(worker))
            }
        }
        return page
    }

    /// The JSON page: the summary's keys, and with `full` a `workers` array.
    public func json(full: Bool) -> JSONValue {
        var object = JSONObject(summary.map { ($0.key, $0.value) })
        if full {
            object["workers"] = .array(workers.map { .object(JSONObject(row($0).map { ($0.key, $0.value) })) })
        }
        return .object(object)
    }

    static func plain(_ value: JSONValue) -> String {
        switch value {
        case .null: return "-"
        case .string(let text): return text.isEmpty ? "-" : text
        case .number(let number): return String(number)
        default: return value.jsonText
        }
    }
}
