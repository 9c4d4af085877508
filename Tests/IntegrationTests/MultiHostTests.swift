// Several hosts behind one nginx under write load: a host killed, limits and If-Match races across hosts
// (revocations across hosts: PostgresHostsTests).

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Several hosts behind one nginx", .serialized)
struct MultiHostTests {
    static let environment = ["ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1"]

    /// One POST of the load: its unique title and what nginx answered (0: no answer).
    struct Attempt: Sendable {
        let title: String
        let status: Int
    }

    /// Task creations with unique titles from `clients` threads until ``stop()``.
    final class Writes: @unchecked Sendable {
        let attempts = Collected<Attempt>()
        private let lock = NSLock()
        private var running = true
        private let group = DispatchGroup()

        init(_ client: HTTPClient, token: String, clients: Int, prefix: String) {
            for thread in 0..<clients {
                Processes.onOwnThread(group: group) { [self] in
                    var index = 0
                    while isRunning {
                        let title = "\(prefix) \(thread)-\(index)"
                        let response = try? AccountsTests.post(client, "/api/tasks", ["title": title], token: token)
                        attempts.append(Attempt(title: title, status: response?.status ?? 0))
                        index += 1
                    }
                }
            }
        }

        private var isRunning: Bool {
            lock.lock()
            defer { lock.unlock() }
            return running
        }

        var acknowledged: [String] { attempts.all.filter { $0.status == 201 }.map(\.title) }

        /// Waits until `count` creations were acknowledged.
        func waitForAcknowledged(_ count: Int, seconds: Double = 60) -> Bool {
            Processes.waitUntil(seconds: seconds) { self.acknowledged.count >= count }
        }

        func stop() {
            lock.lock()
            running = false
            lock.unlock()
            group.wait()
        }
    }

    @Test(
        "kill -9 of one host's whole pool under POSTs: no acknowledged write lost, none replayed, the other serves",
        arguments: Backend.allCases)
    func killOneHostUnderWriteLoad(backend: Backend) throws {
        let harness = try MultiHost.start(
            hosts: 2, workers: 2, environment: Self.environment, databaseURL: try backend.databaseURL())
        defer { harness.stop() }
        let (victim, survivor) = (harness.hosts[0], harness.hosts[1])
        let token = try TasksTests.token(harness.client, "writer")
        let clients = 4
        let writes = Writes(harness.client, token: token, clients: clients, prefix: "load")
        defer { writes.stop() }

        // Both hosts take POSTs before the kill.
        #expect(
            Processes.waitUntil(seconds: 60) {
                victim.answered("/api/tasks", status: 201) >= 20 && survivor.answered("/api/tasks", status: 201) >= 20
            }, "victim: \(victim.log().suffix(2000))")
        let killed = harness.killHost(victim)
        #expect(killed.count == 3 && killed.allSatisfy(Processes.isDead), "\(killed)")
        let beforeKill = writes.attempts.all.count

        // The other host takes every POST from then on.
        let afterKill = { writes.attempts.all.dropFirst(beforeKill).filter { $0.status == 201 }.count }
        #expect(Processes.waitUntil(seconds: 60) { afterKill() >= 100 }, "after the kill: \(afterKill())")
        writes.stop()

        let attempts = writes.attempts.all
        let acknowledged = Set(attempts.filter { $0.status == 201 }.map(\.title))
        let failed = attempts.filter { $0.status != 201 }
        let stored = try TasksTests.list(harness.client, token: token).compactMap { $0["title"] as? String }
        var copies: [String: Int] = [:]
        for title in stored { copies[title, default: 0] += 1 }
        let lost = acknowledged.filter { copies[$0] == nil }
        let replayed = copies.filter { $0.value > 1 }
        let unacknowledgedStored = Set(stored).subtracting(acknowledged)
        // POSTs nginx handed to the survivor after the victim refused the connection: never sent twice.
        let handedOver = harness.accessLog().filter {
            ($0["method"] as? String) == "POST" && ($0["upstream_addr"] as? String)?.contains(", ") == true
        }.count
        print(
            "multi-host kill -9: \(attempts.count) POSTs, \(acknowledged.count) acknowledged, \(lost.count) lost, "
                + "\(failed.count) failed (\(failed.map(\.status))), \(replayed.count) replayed, "
                + "\(unacknowledgedStored.count) stored without acknowledgement, "
                + "\(handedOver) handed to the other host after a refused connect, "
                + "\(afterKill()) acknowledged by the survivor after the kill")

        #expect(lost.isEmpty, "acknowledged but missing: \(lost.sorted())")
        #expect(replayed.isEmpty, "stored more than once: \(replayed)")
        #expect(Set(stored).isSubset(of: Set(attempts.map(\.title))))
        // Only the POSTs in flight on the victim when it died may fail: at most one per client.
        #expect(failed.count <= clients && failed.allSatisfy { $0.status == 502 }, "\(failed.map(\.status))")
        #expect(unacknowledgedStored.isSubset(of: Set(failed.map(\.title))))
        // The survivor is the same pool as before, still serving.
        #expect(survivor.workerPIDs().count == 2)
        #expect(try survivor.client.get("/healthz").status == 200)
        #expect(try harness.client.get("/healthz").status == 200)
    }

    /// Sends `/api/limited-endpoint` through each host in turn, `count` times.
    static func limitedRequests(_ harness: MultiHost, count: Int) throws -> [HTTPResult] {
        // A window boundary in the middle would reset the count: start early in a minute.
        let second = Int(Date().timeIntervalSince1970) % 60
        if second > 50 { Thread.sleep(forTimeInterval: Double(61 - second)) }
        return try (0..<count).map { index in
            try harness.hosts[index % harness.hosts.count].client.get("/api/limited-endpoint")
        }
    }

    @Test(
        "5 per minute holds across hosts with the database store: 5 answered by both hosts together, then 429",
        arguments: Backend.allCases)
    func rateLimitAcrossHosts(backend: Backend) throws {
        var environment = Self.environment
        environment["RATELIMIT_ENABLED"] = "true"
        environment["RATELIMIT_STORAGE_URL"] = "database://"
        let harness = try MultiHost.start(
            hosts: 2, workers: 2, environment: environment, databaseURL: try backend.databaseURL())
        defer { harness.stop() }
        let responses = try Self.limitedRequests(harness, count: 10)
        #expect(responses.map(\.status) == Array(repeating: 200, count: 5) + Array(repeating: 429, count: 5))
        #expect(responses.prefix(5).map { $0.header("X-RateLimit-Remaining") } == ["4", "3", "2", "1", "0"])
        #expect(responses.suffix(5).allSatisfy { $0.json?["message"] as? String == "5 per 1 minute" })
        // Both hosts answered: three and two of the five (a worker logs after it answers).
        #expect(
            Processes.waitUntil(seconds: 10) {
                harness.hosts[0].answered("/api/limited-endpoint", status: 200) == 3
                    && harness.hosts[1].answered("/api/limited-endpoint", status: 200) == 2
            })
    }

    @Test(
        "a process that opens and closes the shared SQLite file leaves the pools' WAL alone: every write stays visible")
    func otherProcessesKeepTheWAL() throws {
        var environment = Self.environment
        // Each worker opens a second connection to the file, for the counters.
        environment["RATELIMIT_ENABLED"] = "true"
        environment["RATELIMIT_STORAGE_URL"] = "database://"
        environment["RATELIMIT_DEFAULT"] = "1000 per minute"
        let harness = try MultiHost.start(hosts: 2, workers: 1, environment: environment)
        defer { harness.stop() }
        let path = String(harness.databaseURL.dropFirst("sqlite:///".count))
        let token = try TasksTests.token(harness.hosts[0].client, "sharer")
        for round in 0..<3 {
            for (index, host) in harness.hosts.enumerated() {
                let created = try AccountsTests.post(
                    host.client, "/api/tasks", ["title": "r\(round) h\(index)"], token: token)
                #expect(created.status == 201)
            }
            // Another process opens the file, reads and closes it, as sqlite3, a backup or a
            // reload's `tasks-api migrate` does.
            #expect(try BackupTests.sqlite(path, "SELECT count(*) FROM tasks") == ["\((round + 1) * 2)"])
            #expect(access(path + "-wal", F_OK) == 0, "the WAL was deleted under the pools")
        }
        for host in harness.hosts {
            #expect(try TasksTests.list(host.client, token: token).count == 6)
        }
    }

    @Test("the shared-memory store counts per host: each host allows its own 5 per minute")
    func sharedMemoryLimitIsPerHost() throws {
        var environment = Self.environment
        environment["RATELIMIT_ENABLED"] = "true"
        let harness = try MultiHost.start(hosts: 2, workers: 2, environment: environment)
        defer { harness.stop() }
        let responses = try Self.limitedRequests(harness, count: 12)
        #expect(responses.map(\.status) == Array(repeating: 200, count: 10) + Array(repeating: 429, count: 2))
    }

    @Test(
        "If-Match races across hosts: of 16 PATCHes with one ETag through both hosts, one 200 and 15 412",
        arguments: Backend.allCases)
    func ifMatchRaceAcrossHosts(backend: Backend) throws {
        let harness = try MultiHost.start(
            hosts: 2, workers: 2, environment: Self.environment, databaseURL: try backend.databaseURL())
        defer { harness.stop() }
        let token = try TasksTests.token(harness.client, "racer")
        let created = try AccountsTests.post(harness.client, "/api/tasks", ["title": "contended"], token: token)
        let id = try #require(created.json?["id"] as? Int)
        let bearer = ("Authorization", "Bearer \(token)")
        for round in 0..<3 {
            let current = try harness.hosts[round % 2].client.get("/api/tasks/\(id)", headers: [bearer])
            let etag = try #require(current.header("ETag"))
            let statuses = Collected<Attempt>()
            DispatchQueue.concurrentPerform(iterations: 16) { writer in
                let host = harness.hosts[writer % 2]
                let title = "round \(round) writer \(writer)"
                let response = try? host.client.send(
                    "PATCH", "/api/tasks/\(id)",
                    headers: [bearer, ("Content-Type", "application/json"), ("If-Match", etag)],
                    body: AccountsTests.json(["title": title]))
                statuses.append(Attempt(title: title, status: response?.status ?? 0))
            }
            let all = statuses.all
            let winners = all.filter { $0.status == 200 }
            #expect(winners.count == 1, "round \(round): \(all.map(\.status).sorted())")
            #expect(all.filter { $0.status == 412 }.count == 15, "round \(round): \(all.map(\.status).sorted())")
            // The ETag moved on, and the other host reads the one winner's write.
            let after = try harness.hosts[(round + 1) % 2].client.get("/api/tasks/\(id)", headers: [bearer])
            #expect(after.header("ETag") != etag)
            #expect(after.json?["title"] as? String == winners.first?.title)
        }
        #expect(
            Processes.waitUntil(seconds: 10) {
                harness.hosts.allSatisfy { $0.answered("/api/tasks/\(id)", status: 412) > 0 }
            })
    }
}
