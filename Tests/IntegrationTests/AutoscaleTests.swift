// A dynamic pool through real nginx: growth under a burst, idle retirement, SIGTTIN/SIGTTOU, option checks.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Autoscaling", .serialized)
struct AutoscaleTests {
    /// The value of `key=` in a log line.
    static func field(_ key: String, in line: Substring) -> String? {
        line.split(separator: " ").first { $0.hasPrefix("\(key)=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    static func lines(_ service: LiveService, _ message: String) -> [Substring] {
        service.log().split(separator: "\n").filter { $0.contains(#"msg="\#(message)""#) }
    }

    @Test("a burst of slow requests grows the pool from 1 to 4; idle, it shrinks back to 1; every request answers 200")
    func growsUnderBurstAndShrinksWhenIdle() throws {
        let service = try LiveService.start(
            .master(workers: 1, arguments: ["--min-workers", "1", "--max-workers", "4", "--idle-timeout", "2"]),
            environment: ["TESTING": "true"])
        defer { service.stop() }
        #expect(service.workerPIDs().count == 1)
        #expect(service.waitForLogLine(containing: [#"msg="dynamic pool""#, "min_workers=1", "max_workers=4"]) != nil)

        // Hello requests throughout: none of them may fail while workers come and go.
        let traffic = Traffic(service.client)
        defer { _ = traffic.stop() }
        #expect(traffic.waitForResponses(10))

        // Eight requests of 2 s each, twice as many as the largest pool: the one worker stays
        // busy with connections waiting, and each new worker finds one waiting for it.
        var patient = service.client
        patient.timeoutSeconds = 60
        let client = patient
        let burst = Statuses()
        var largest = 1
        let sent = DispatchGroup()
        sent.enter()
        Thread {
            KeptConnectionTests.onThreads(8) { _ in
                burst.append((try? client.get("/_testing/sleep?seconds=2"))?.status ?? 0)
            }
            sent.leave()
        }.start()
        let grown = Processes.waitUntil(seconds: 30) {
            largest = max(largest, service.workerPIDs().count)
            return largest == 4
        }
        sent.wait()
        #expect(grown, "largest pool seen: \(largest); log:\n\(service.log())")
        #expect(burst.all.count == 8)
        #expect(burst.all.allSatisfy { $0 == 200 }, "burst statuses: \(burst.all)")

        let growth = Self.lines(service, "every worker busy, adding workers")
        #expect(growth.first.flatMap { Self.field("added", in: $0) } == "1", "\(growth)")
        #expect(growth.last.flatMap { Self.field("workers", in: $0) } == "4", "\(growth)")
        #expect(growth.allSatisfy { Int(Self.field("workers", in: $0) ?? "") ?? 0 <= 4 }, "\(growth)")

        // Idle past 2 s, the extra workers leave one a check. The hello traffic lasts until
        // the first has gone: nginx's worker processes each keep their own connection busy,
        // so with it the pool stays above the minimum.
        let first = try #require(
            service.waitForLogLine(containing: [#"msg="retiring an idle worker""#]), "log:\n\(service.log())")
        let firstPID = try #require(Self.field("worker_pid", in: Substring(first)).flatMap { pid_t($0) })
        #expect(Processes.waitUntil(seconds: 20) { Processes.isDead(firstPID) })
        #expect(traffic.waitForResponses(traffic.count + 10))
        let during = traffic.stop()
        #expect(during.allSatisfy { $0 == 200 }, "statuses meanwhile: \(Set(during))")
        let shrunk = Processes.waitUntil(seconds: 30) { service.workerPIDs().count == 1 }
        #expect(shrunk, "workers: \(service.workerPIDs()); log:\n\(service.log())")

        let retired = Self.lines(service, "retiring an idle worker")
        #expect(retired.count == 3, "\(retired)")
        #expect(retired.last.flatMap { Self.field("workers", in: $0) } == "1", "\(retired)")
        for line in retired {
            let pid = try #require(Self.field("worker_pid", in: line))
            let idle = Double(Self.field("idle_s", in: line) ?? "") ?? 0
            // Past the 2 s idle timeout, logged to a tenth of a second.
            #expect(idle >= 2, "\(line)")
            // Gone by the graceful path: SIGTERM, then exit 0.
            #expect(
                service.waitForLogLine(containing: [#"msg="worker stopped""#, "worker_pid=\(pid)", "exit_status=0"])
                    != nil)
        }
        #expect(!service.log().contains("worker died"))
    }

    @Test("SIGTTIN adds a worker and SIGTTOU retires one in a static pool, never below 1")
    func signalsResizeStaticPool() throws {
        let service = try LiveService.start(.master(workers: 2, arguments: []), environment: ["TESTING": "true"])
        defer { service.stop() }
        service.signalMaster(SIGTTIN)
        #expect(Processes.waitUntil(seconds: 20) { service.workerPIDs().count == 3 })
        #expect(service.waitForLogLine(containing: [#"msg="SIGTTIN: adding a worker""#, "workers=3"]) != nil)

        let before = Set(service.workerPIDs())
        service.signalMaster(SIGTTOU)
        #expect(Processes.waitUntil(seconds: 20) { service.workerPIDs().count == 2 })
        #expect(service.waitForLogLine(containing: [#"msg="SIGTTOU: retiring a worker""#, "workers=2"]) != nil)
        #expect(Set(service.workerPIDs()).isSubset(of: before), "a retired worker is not replaced")

        service.signalMaster(SIGTTOU)
        #expect(Processes.waitUntil(seconds: 20) { service.workerPIDs().count == 1 })
        service.signalMaster(SIGTTOU)
        #expect(service.waitForLogLine(containing: [#"msg="SIGTTOU ignored"#, "workers=1"]) != nil)
        #expect(service.workerPIDs().count == 1)
        #expect((try service.client.get("/api/hello")).status == 200)
        #expect(!service.log().contains("worker died"))
    }

    @Test("in a dynamic pool SIGTTIN and SIGTTOU move the size within --min-workers and --max-workers")
    func signalsResizeDynamicPoolWithinBounds() throws {
        let service = try LiveService.start(
            .master(workers: 1, arguments: ["--min-workers", "1", "--max-workers", "2", "--idle-timeout", "600"]),
            environment: ["TESTING": "true"])
        defer { service.stop() }
        service.signalMaster(SIGTTIN)
        #expect(Processes.waitUntil(seconds: 20) { service.workerPIDs().count == 2 })
        service.signalMaster(SIGTTIN)
        #expect(service.waitForLogLine(containing: [#"msg="SIGTTIN ignored"#, "workers=2"]) != nil)
        #expect(service.workerPIDs().count == 2)
        service.signalMaster(SIGTTOU)
        #expect(Processes.waitUntil(seconds: 20) { service.workerPIDs().count == 1 })
        service.signalMaster(SIGTTOU)
        #expect(service.waitForLogLine(containing: [#"msg="SIGTTOU ignored"#, "workers=1"]) != nil)
        #expect(service.workerPIDs().count == 1)
        #expect((try service.client.get("/api/hello")).status == 200)
    }

    @Test(
        "serve refuses inconsistent pool sizes with one line naming the problem",
        arguments: [
            (["--workers", "2", "--min-workers", "1", "--max-workers", "2"], "not both"),
            (["--min-workers", "2"], "needs both --min-workers and --max-workers"),
            (["--min-workers", "0", "--max-workers", "2"], "--min-workers must be at least 1"),
            (["--min-workers", "3", "--max-workers", "2"], "--max-workers must be at least --min-workers"),
            (["--min-workers", "1", "--max-workers", "129"], "--max-workers must be at most 128"),
            (["--min-workers", "1", "--max-workers", "2", "--idle-timeout", "0"], "--idle-timeout must be"),
        ])
    func refusesBadPoolSizes(arguments: [String], message: String) throws {
        let socket = FileManager.default.temporaryDirectory.appendingPathComponent("autoscale-\(getpid()).sock").path
        let (status, output) = try Processes.run(Paths.binary, ["serve", "--socket", socket] + arguments)
        #expect(status != 0)
        #expect(output.contains(message), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: socket))
    }
}
