// The pool under write load through nginx while workers are killed, hung, reloaded and upgraded.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Chaos under write load", .serialized)
struct ChaosTests {
    @Test("kill -9 two workers, hang one, reload, upgrade: no acknowledged write lost, the counters add up")
    func chaos() throws {
        var environment = AccountsTests.environment
        environment["TESTING"] = "true"
        let service = try LiveService.start(
            .master(workers: 4, arguments: ["--timeout", "2"]), environment: environment)
        defer { service.stop() }
        let token = try TasksTests.token(service, "mallory")
        let accepted = { try (StatusTests.statusJSON(service)["accepted_requests"] as? Int) ?? -1 }
        // Requests the workers answered before the load, once every worker is idle (a worker
        // counts a request before it shows idle); every later one is the load's.
        #expect(
            Processes.waitUntil(seconds: 10) {
                ((try? StatusTests.statusJSON(service))?["idle_workers"] as? Int) == 4
            })
        let baseline = try accepted()
        let clients = 3
        let posts = KeptConnectionTests.Load(service, token: token, clients: clients)
        defer { posts.stop() }
        #expect(posts.waitFor(30))

        // kill -9 of two workers.
        let first = service.workerPIDs()
        for victim in first.prefix(2) { kill(victim, SIGKILL) }
        #expect(
            Processes.waitUntil(seconds: 10) {
                let now = service.workerPIDs()
                return now.count == 4 && Set(now).isDisjoint(with: first.prefix(2))
            })
        #expect(posts.waitFor(posts.statuses.all.count + 30))

        // A worker that hangs in a request: stopped, so only the timeout can end it.
        let slow = try service.startSlowRequest(seconds: 20)
        kill(slow.workerPID, SIGSTOP)
        #expect(
            service.waitForLogLine(containing: ["request timed out", "worker_pid=\(slow.workerPID)"]) != nil,
            "\(service.log())")
        let hung = try slow.response()
        #expect([502, 504].contains(hung.status))
        #expect(posts.waitFor(posts.statuses.all.count + 30))

        // A reload, then a binary upgrade in place.
        service.signalMaster(SIGHUP)
        #expect(service.waitForLogLine(containing: ["reload complete"]) != nil, "\(service.log())")
        #expect(posts.waitFor(posts.statuses.all.count + 30))
        service.signalMaster(SIGUSR2)
        #expect(service.waitForLogLine(containing: ["upgrade complete"], seconds: 40) != nil, "\(service.log())")
        #expect(posts.waitFor(posts.statuses.all.count + 30))
        posts.stop()

        let statuses = posts.statuses.all
        let failed = statuses.filter { $0 != 201 }
        print("chaos: \(statuses.count) POSTs, \(failed.count) failed (\(failed)); hung request: \(hung.status)")
        // Only the requests the faulted workers had in hand may fail, and those nginx had
        // written on their idle kept connections in the moment before a long request made
        // them release those (README, "Kept FastCGI connections"): at most the POSTs in
        // flight at each of the two faults (the kill of two workers, the hang), one per
        // client. nginx retries none of them.
        #expect(failed.count <= 2 * clients && failed.allSatisfy { $0 == 502 }, "failed: \(failed)")
        // Every acknowledged write is there. Besides them, only the request a killed worker
        // had in hand may have committed before the kill (its client got the 502): at most
        // one row per failed request.
        let listed = try TasksTests.list(service, token: token)
        let listedIDs = Set(listed.compactMap { $0["id"] as? Int })
        let acknowledged = Set(posts.ids.all)
        #expect(acknowledged.isSubset(of: listedIDs), "lost: \(acknowledged.subtracting(listedIDs).sorted())")
        let unacknowledged = listedIDs.subtracting(acknowledged)
        #expect(unacknowledged.count <= failed.count, "committed without a 201: \(unacknowledged.sorted())")
        #expect(listed.count == listedIDs.count)
        // The counters: every answer a worker gave is counted once, across the killed,
        // replaced, reloaded and upgraded workers (nginx's own 502s reached no worker; the
        // list requests above are counted too; the status server's answers are not).
        let listRequests = max(1, (listed.count + 99) / 100)
        let answeredByWorkers =
            statuses.filter { $0 != 502 && $0 != 0 }.count + (hung.status == 504 ? 1 : 0) + listRequests
        var counted = -1
        Processes.waitUntil(seconds: 10) {
            counted = ((try? accepted()) ?? -1) - baseline
            return counted == answeredByWorkers
        }
        #expect(counted == answeredByWorkers, "counted \(counted), answered \(answeredByWorkers)")
        let metrics = try HTTPClient(port: service.statusPort).get("/metrics").text
        #expect((StatusTests.sample(metrics, "tasks_api_request_timeouts_total") ?? 0) == 1)
        #expect((StatusTests.sample(metrics, "tasks_api_worker_restarts_total") ?? 0) >= 11)
        print(
            "chaos: /metrics afterwards:\n\(metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n"))"
        )
    }
}
