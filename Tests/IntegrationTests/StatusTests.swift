// Status and metrics through nginx's internal listener and the master: exact across workers, live while all are busy.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Status and metrics", .serialized)
struct StatusTests {
    /// The value of the sample `name` (with its labels, as written) in Prometheus text.
    static func sample(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    static func statusJSON(_ service: LiveService, full: Bool = false) throws -> [String: Any] {
        var client = HTTPClient(port: service.statusPort)
        client.timeoutSeconds = 10
        let response = try client.get(full ? "/status?json&full" : "/status?json")
        guard response.status == 200, let json = response.json else {
            throw HTTPClientError(description: "status \(response.status): \(response.text)")
        }
        return json
    }

    @Test("counters add up to the requests made across 4 workers and survive --max-requests 3 recycling")
    func countersAddUp() throws {
        let service = try LiveService.start(.master(workers: 4, arguments: ["--max-requests", "3"]))
        defer { service.stop() }
        let made = 30
        let statuses = Statuses()
        DispatchQueue.concurrentPerform(iterations: made) { _ in
            statuses.append((try? service.client.get("/api/hello"))?.status ?? 0)
        }
        #expect(statuses.all == Array(repeating: 200, count: made))
        let route = #"tasks_api_requests_total{route="GET /api/hello",status="200"}"#
        let statusClient = HTTPClient(port: service.statusPort)
        var metrics = ""
        // A worker counts a request just after answering it: wait for the last ones.
        Processes.waitUntil(seconds: 10) {
            metrics = (try? statusClient.get("/metrics").text) ?? ""
            return Self.sample(metrics, route) == Double(made)
        }
        #expect(Self.sample(metrics, route) == Double(made), "metrics:\n\(metrics)")
        let count = #"tasks_api_request_duration_seconds_count{route="GET /api/hello"}"#
        #expect(Self.sample(metrics, count) == Double(made))
        #expect(
            Self.sample(metrics, #"tasks_api_request_duration_seconds_bucket{route="GET /api/hello",le="+Inf"}"#)
                == Double(made))
        // 30 requests and the readiness probes over 4 workers of 3 requests each: many replaced.
        #expect((Self.sample(metrics, "tasks_api_worker_restarts_total") ?? 0) >= 5)
        #expect(service.log().contains("worker recycled, starting a replacement"))
        // A worker that has just served its third request may be leaving, its replacement not
        // yet started: wait for the pool to be whole again.
        var status: [String: Any] = [:]
        Processes.waitUntil(seconds: 10) {
            status = (try? Self.statusJSON(service)) ?? [:]
            return status["total_workers"] as? Int == 4
        }
        let accepted = status["accepted_requests"] as? Int ?? -1
        let total = metrics.split(separator: "\n").filter { $0.hasPrefix("tasks_api_requests_total{") }
            .compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
        #expect(accepted >= made && accepted == total)
        #expect(status["total_workers"] as? Int == 4)
        print("/metrics sample:\n\(metrics)")
    }

    @Test("/status answers while every worker is busy; busy/idle counts and the listen queue are right")
    func answersWhileBusy() throws {
        let service = try LiveService.start(.master(workers: 4, arguments: []), environment: ["TESTING": "true"])
        defer { service.stop() }
        // Workers other than the one that answered /healthz may still be building their app.
        var idle: [String: Any] = [:]
        Processes.waitUntil(seconds: 20) {
            idle = (try? Self.statusJSON(service)) ?? [:]
            return idle["idle_workers"] as? Int == 4
        }
        #expect(idle["idle_workers"] as? Int == 4)
        #expect(idle["active_workers"] as? Int == 0)
        let slow = try (0..<4).map { _ in try service.startSlowRequest(seconds: 8) }
        let busy = try Self.statusJSON(service, full: true)
        #expect(busy["active_workers"] as? Int == 4)
        #expect(busy["idle_workers"] as? Int == 0)
        #expect(busy["max_active_workers"] as? Int == 4)
        let rows = busy["workers"] as? [[String: Any]] ?? []
        #expect(rows.count == 4)
        #expect(Set(rows.compactMap { $0["request_id"] as? String }) == Set(slow.map(\.requestID)))
        #expect(rows.allSatisfy { $0["state"] as? String == "busy" && $0["path"] as? String == "/_testing/sleep" })
        #expect(Set(rows.compactMap { $0["pid"] as? Int }) == Set(service.workerPIDs().map(Int.init)))

        // More requests wait in the pool socket's accept queue: no worker is free to take them.
        let waiting = DispatchGroup()
        for _ in 0..<6 {
            Processes.onOwnThread(group: waiting) { _ = try? service.client.get("/api/hello") }
        }
        var queued = 0
        Processes.waitUntil(seconds: 10) {
            queued = (try? Self.statusJSON(service))?["listen_queue"] as? Int ?? 0
            return queued >= 1
        }
        #expect(queued >= 1)
        let metrics = try HTTPClient(port: service.statusPort).get("/metrics").text
        #expect((Self.sample(metrics, "tasks_api_listen_queue") ?? 0) >= 1)
        #expect(Self.sample(metrics, #"tasks_api_workers{state="busy"}"#) == 4)

        // The operator's command, on the host, while the workers are still busy.
        let (exit, output) = try Processes.run(
            Paths.binary, ["status", "--json", "--full", "--socket", service.statusSocketPath],
            environment: service.environment)
        #expect(exit == 0, "\(output)")
        let parsed = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        #expect(parsed?["active_workers"] as? Int == 4)
        #expect((parsed?["workers"] as? [Any])?.count == 4)
        print("tasks-api status --json --full sample:\n\(output)")

        for request in slow { #expect(try request.response().status == 200) }
        waiting.wait()
        let after = try Self.statusJSON(service)
        #expect((after["max_listen_queue"] as? Int ?? 0) >= 1)
    }

    @Test("public /status, /metrics and /ping are 404; the internal listener serves them and nothing else")
    func publicIsNotFound() throws {
        let service = try LiveService.start(.master(workers: 2, arguments: []))
        defer { service.stop() }
        for path in ["/status", "/status?json", "/metrics", "/ping", "/status/"] {
            let response = try service.client.get(path)
            #expect(response.status == 404, "\(path)")
            #expect(response.header("Content-Type")?.hasPrefix("application/json") == true, "\(path)")
            #expect(response.json?["status"] as? Int == 404, "\(path)")
        }
        let internalListener = HTTPClient(port: service.statusPort)
        let ping = try internalListener.get("/ping")
        #expect(ping.status == 200 && ping.text == "pong\n")
        let text = try internalListener.get("/status?full")
        #expect(text.status == 200 && text.text.hasPrefix("pool:"))
        #expect(text.text.contains("state:"))
        #expect(
            try internalListener.get("/metrics").header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(try internalListener.get("/api/hello").status == 404)
        var info = stat()
        #expect(lstat(service.statusSocketPath, &info) == 0 && info.st_mode & 0o777 == 0o660)
    }

    @Test("`tasks-api status` without a running pool exits 1 with one line")
    func statusWithoutPool() throws {
        let (exit, output) = try Processes.run(
            Paths.binary, ["status", "--socket", "/tmp/tasks-api-no-such-pool-\(getpid()).sock"])
        #expect(exit == 1)
        #expect(output.split(separator: "\n").count == 1)
        #expect(output.hasPrefix("tasks-api status: the pool is not running"))
    }
}
