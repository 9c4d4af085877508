// The master and its workers under failure: kill -9, graceful stop, recycling (by count and by RSS), reload.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Worker pool", .serialized)
struct PoolTests {
    /// Sends `count` requests from `clients` threads; returns the statuses (0: transport error).
    static func load(_ client: HTTPClient, path: String = "/api/hello", clients: Int, count: Int) -> [Int] {
        let statuses = Statuses()
        DispatchQueue.concurrentPerform(iterations: clients) { _ in
            for _ in 0..<count {
                statuses.append((try? client.get(path))?.status ?? 0)
            }
        }
        return statuses.all
    }

    @Test("kill -9 of a worker while requests flow: later requests succeed, a replacement starts")
    func killedWorkerIsReplaced() throws {
        let service = try LiveService.start(.master(workers: 4, arguments: []), environment: ["TESTING": "true"])
        defer { service.stop() }
        let before = service.workerPIDs()
        #expect(before.count == 4)

        // Traffic before, during and after the kill; the victim holds a request at that moment.
        let traffic = Traffic(service.client)
        defer { _ = traffic.stop() }
        #expect(traffic.waitForResponses(20))
        let slow = try service.startSlowRequest(seconds: 10)
        let victim = slow.workerPID
        #expect(before.contains(victim))
        kill(victim, SIGKILL)
        #expect(Processes.waitUntil(seconds: 5) { Processes.isDead(victim) })

        // Every request that starts after the worker is dead succeeds.
        let after = Self.load(service.client, clients: 4, count: 50)
        #expect(after.count == 200)
        #expect(after.allSatisfy { $0 == 200 }, "statuses after the kill: \(Set(after))")

        let replaced = Processes.waitUntil(seconds: 10) {
            let now = service.workerPIDs()
            return now.count == 4 && !now.contains(victim)
        }
        #expect(replaced, "workers now: \(service.workerPIDs()), before: \(before)")
        #expect(traffic.waitForResponses(traffic.count + 20))
        let during = traffic.stop()
        // The victim was busy with the slow request only: that one is lost (nginx's JSON 502),
        // every other request went to the live workers. nginx retries a GET once when it
        // had sent it on a kept connection: then another worker answers it.
        #expect(during.allSatisfy { $0 == 200 }, "statuses meanwhile: \(Set(during))")
        let lost = try slow.response()
        let starts = service.log().split(separator: "\n").filter {
            $0.contains(#"msg="sleep started""#) && $0.contains("request_id=\(slow.requestID)")
        }
        if lost.status == 200 {
            #expect(starts.count == 2 && !starts[1].contains("pid=\(victim) "), "\(starts)")
        } else {
            #expect(lost.status == 502)
            #expect(lost.json?["error"] as? String == "Bad Gateway")
        }
        #expect(service.log().contains("worker died, starting a replacement"))
        #expect(service.log().contains("worker_pid=\(victim)"))
    }

    @Test("SIGTERM with a slow request in flight: it completes, then everything stops")
    func gracefulStop() throws {
        let service = try LiveService.start(
            .master(workers: 2, arguments: []), environment: ["TESTING": "true"])
        defer { service.stop() }
        let workers = service.workerPIDs()
        // Once its worker has logged the start, the request is in flight: then ask the master to stop.
        let slow = try service.startSlowRequest(seconds: 1.5)
        #expect(workers.contains(slow.workerPID))
        service.signalMaster(SIGTERM)
        let response = try slow.response()
        #expect(response.status == 200)
        #expect(response.text == #"{"slept": 1.5}"#)
        let status = service.waitForMaster(seconds: 10)
        #expect(status == 0)
        #expect(workers.allSatisfy { Processes.isDead($0) })
        #expect(!FileManager.default.fileExists(atPath: service.socketPath), "the master removes its socket")
        let log = service.log()
        #expect(log.contains("stopping: workers finish their requests"))
        #expect(log.contains("master stopped"))
    }

    @Test("--max-requests recycles workers without failing a request")
    func recycling() throws {
        let service = try LiveService.start(.master(workers: 2, arguments: ["--max-requests", "5"]))
        defer { service.stop() }
        let first = Set(service.workerPIDs())
        let statuses = Self.load(service.client, clients: 2, count: 15)
        #expect(statuses.allSatisfy { $0 == 200 }, "statuses: \(statuses)")
        #expect(Processes.waitUntil(seconds: 5) { service.workerPIDs().count == 2 })
        #expect(Set(service.workerPIDs()).isDisjoint(with: first))
        #expect(service.log().contains("worker recycled, starting a replacement"))
    }

    @Test("MAX_WORKER_RSS: a worker pushed over the limit answers, is replaced, and the pool keeps serving")
    func rssRecycling() throws {
        let service = try LiveService.start(
            .master(workers: 2, arguments: []), environment: ["TESTING": "true", "MAX_WORKER_RSS": "160"])
        defer { service.stop() }
        let before = service.workerPIDs()
        #expect(before.count == 2)
        // The limit reached the master from the configuration key.
        #expect(service.log().contains("max_worker_rss_mib=160"))
        let pushed = try service.client.send("POST", "/_testing/allocate?mib=200")
        #expect(pushed.status == 200, "\(pushed.text)")
        #expect(pushed.json?["allocated_mib"] as? Int == 200)

        let line = try #require(
            service.waitForLogLine(containing: [#"msg="worker over the RSS limit, recycling""#]),
            "log:\n\(service.log())")
        let field = line.split(separator: " ").first { $0.hasPrefix("worker_pid=") }
        let victim = try #require(field.flatMap { pid_t($0.dropFirst("worker_pid=".count)) })
        #expect(before.contains(victim))
        let rss = line.split(separator: " ").first { $0.hasPrefix("rss_mib=") }.flatMap { Int($0.dropFirst(8)) }
        // Over 160 MiB, logged in whole MiB rounded down: 160 or more.
        #expect((rss ?? 0) >= 160, "\(line)")
        #expect(Processes.waitUntil(seconds: 10) { Processes.isDead(victim) })
        let replaced = Processes.waitUntil(seconds: 10) {
            let now = service.workerPIDs()
            return now.count == 2 && !now.contains(victim)
        }
        #expect(replaced, "workers now: \(service.workerPIDs()), before: \(before)")
        // Only the worker over the limit went; the other one still serves.
        #expect(service.workerPIDs().contains { before.contains($0) })
        // It left by the graceful path (exit 0 after SIGTERM), not as a crash.
        #expect(service.waitForLogLine(containing: ["worker stopped", "worker_pid=\(victim)", "exit_status=0"]) != nil)
        #expect(!service.log().contains("worker died"))

        let after = Self.load(service.client, clients: 2, count: 20)
        #expect(after.allSatisfy { $0 == 200 }, "statuses after the recycling: \(Set(after))")
    }

    @Test("SIGHUP replaces every worker while requests keep succeeding")
    func reload() throws {
        let service = try LiveService.start(.master(workers: 3, arguments: []), environment: ["TESTING": "true"])
        defer { service.stop() }
        let before = Set(service.workerPIDs())
        let traffic = Traffic(service.client)
        defer { _ = traffic.stop() }
        #expect(traffic.waitForResponses(20))
        // An old worker is busy across the reload: it must finish before it retires.
        let slow = try service.startSlowRequest(seconds: 2)
        service.signalMaster(SIGHUP)
        let replaced = Processes.waitUntil(seconds: 10) {
            let now = Set(service.workerPIDs())
            return now.count == 3 && now.isDisjoint(with: before)
        }
        #expect(replaced)
        #expect(traffic.waitForResponses(traffic.count + 20))
        let during = traffic.stop()
        #expect(during.allSatisfy { $0 == 200 }, "statuses: \(Set(during))")
        let response = try slow.response()
        #expect(response.status == 200)
        #expect(service.log().contains("reloading"))
    }

    @Test("production with default secrets: the master refuses to start with a one-line reason")
    func productionRefusal() throws {
        let service = try LiveService(environment: ["APP_ENV": "production"])
        defer { service.stop() }
        #expect(throws: (any Error).self) { try service.startPool(.master(workers: 2, arguments: [])) }
        let status = service.waitForMaster(seconds: 10)
        #expect(status == 1)
        let lines = service.log().split(separator: "\n").filter { $0.contains("level=critical") }
        #expect(lines.count == 1)
        #expect(lines.first?.contains("refusing to start in production: SECRET_KEY is not set") == true)
        #expect(service.workerPIDs().isEmpty)
    }
}

/// Values appended from several threads at once, read when they are done.
final class Collected<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Value] = []
    func append(_ value: Value) {
        lock.lock()
        values.append(value)
        lock.unlock()
    }
    var all: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}

/// Statuses (or ids) of concurrent requests.
typealias Statuses = Collected<Int>
/// Seconds that concurrent requests took.
typealias Durations = Collected<Double>

/// Requests sent one after another from a background thread until ``stop()``.
final class Traffic: @unchecked Sendable {
    private let statuses = Statuses()
    private let lock = NSLock()
    private var running = true
    private let group = DispatchGroup()

    init(_ client: HTTPClient, path: String = "/api/hello") {
        Processes.onOwnThread(group: group) { [self] in
            while isRunning { statuses.append((try? client.get(path))?.status ?? 0) }
        }
    }

    private var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    /// How many answers (or failures) so far.
    var count: Int { statuses.all.count }

    /// Waits until `total` requests have been answered.
    func waitForResponses(_ total: Int) -> Bool {
        Processes.waitUntil(seconds: 20) { self.count >= total }
    }

    /// Stops sending and returns every status (0: transport error).
    func stop() -> [Int] {
        lock.lock()
        running = false
        lock.unlock()
        group.wait()
        return statuses.all
    }
}

/// A value set by one thread and read after a join.
final class Box<T>: @unchecked Sendable {
    var value: T?
}
