// Request timeouts and the slow log, through nginx and the master: hung workers are replaced.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Request timeouts and the slow log", .serialized)
struct TimeoutTests {
    static var environment: [String: String] {
        var environment = AccountsTests.environment
        environment["TESTING"] = "true"
        return environment
    }

    @Test("a request over --timeout: its worker is killed and replaced, the client gets a JSON 502 or 504, once")
    func busyWorkerKilled() throws {
        let service = try LiveService.start(
            .master(workers: 2, arguments: ["--timeout", "1"]), environment: Self.environment)
        defer { service.stop() }
        let started = Date()
        let slow = try service.startSlowRequest(seconds: 8)
        let response = try slow.response()
        let waited = Date().timeIntervalSince(started)
        // nginx answers 502 when the worker dies under the request; when it had sent the
        // request on a reused connection it retries it once, and the worker that gets the
        // retry answers 504 at once instead of running it into the timeout again.
        #expect([502, 504].contains(response.status), "\(response.status)")
        print("request over the timeout: answered \(response.status) after \(waited) s")
        #expect(response.json?["message"] is String)
        #expect(waited < 7, "answered after \(waited) s")
        let line = service.waitForLogLine(containing: [#"msg="request timed out, killing the worker""#])
        #expect(line?.contains("request_id=\(slow.requestID)") == true, "\(line ?? service.log())")
        #expect(line?.contains("method=GET") == true && line?.contains("path=/_testing/sleep") == true)
        #expect(line?.contains("worker_pid=\(slow.workerPID)") == true)
        #expect(line?.contains("elapsed_s=") == true)
        // One worker killed for it, not one per retry.
        let kills = service.log().split(separator: "\n").filter { $0.contains("request timed out") }
        #expect(kills.count == 1, "\(kills)")
        #expect(
            Processes.waitUntil(seconds: 10) {
                let now = service.workerPIDs()
                return now.count == 2 && !now.contains(slow.workerPID)
            })
        #expect(service.waitForLogLine(containing: ["worker killed after a request timeout"]) != nil)
        for _ in 0..<6 { #expect(try service.client.get("/api/hello").status == 200) }
    }

    @Test("a peer that never completes its request is cut off by the timeout, the worker replaced")
    func incompleteRequestKilled() throws {
        // The worker's own read timeout is longer, so the master's timeout acts first.
        let service = try LiveService.start(
            .master(workers: 1, arguments: ["--timeout", "1", "--read-timeout", "30"]),
            environment: Self.environment)
        defer { service.stop() }
        let before = service.workerPIDs()
        #expect(before.count == 1)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in service.socketPath.utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(connected == 0)
        // FCGI_BEGIN_REQUEST (responder, keep the connection), then a PARAMS record that
        // announces 64 bytes and sends 8.
        let begin: [UInt8] = [1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
        let params: [UInt8] = [1, 4, 0, 1, 0, 64, 0, 0] + Array("REQUEST_".utf8)
        #expect(write(fd, begin + params, begin.count + params.count) == begin.count + params.count)
        let line = service.waitForLogLine(containing: [#"msg="request timed out, killing the worker""#])
        #expect(line?.contains("state=reading") == true, "\(line ?? service.log())")
        #expect(line?.contains("worker_pid=\(before[0])") == true)
        #expect(
            Processes.waitUntil(seconds: 10) {
                let now = service.workerPIDs()
                return now.count == 1 && now != before
            })
        #expect(try service.client.get("/api/hello").status == 200)
    }

    @Test("an idle worker stopped with SIGSTOP longer than the timeout is killed and replaced; requests succeed")
    func stoppedIdleWorkerKilled() throws {
        let service = try LiveService.start(
            .master(workers: 2, arguments: ["--timeout", "1"]), environment: Self.environment)
        defer { service.stop() }
        let before = service.workerPIDs()
        let stopped = try #require(before.first)
        kill(stopped, SIGSTOP)
        let line = service.waitForLogLine(containing: [#"msg="worker stopped longer than the timeout, killing it""#])
        #expect(line?.contains("worker_pid=\(stopped)") == true, "\(line ?? service.log())")
        #expect(
            Processes.waitUntil(seconds: 10) {
                let now = service.workerPIDs()
                return now.count == 2 && !now.contains(stopped)
            })
        for _ in 0..<6 { #expect(try service.client.get("/api/hello").status == 200) }
    }

    @Test("--slow-log logs a slow request once, with its id, method, path and time; it still succeeds")
    func slowRequestLogged() throws {
        let service = try LiveService.start(
            .master(workers: 2, arguments: ["--slow-log", "0.3"]), environment: Self.environment)
        defer { service.stop() }
        #expect(try service.client.get("/api/hello").status == 200)
        let slow = try service.startSlowRequest(seconds: 1.2)
        #expect(try slow.response().status == 200)
        let lines = service.log().split(separator: "\n").filter { $0.contains(#"msg="slow request""#) }
        #expect(lines.count == 1, "\(lines)")
        let line = lines.first.map(String.init) ?? ""
        #expect(line.contains("level=warning"))
        #expect(line.contains("request_id=\(slow.requestID)") && line.contains("path=/_testing/sleep"), "\(line)")
        #expect(line.contains("method=GET") && line.contains("elapsed_s="))
        #expect(!service.log().contains("request timed out"))
    }

    @Test("REQUEST_TIMEOUT sets the timeout")
    func timeoutFromEnvironment() throws {
        var environment = Self.environment
        environment["REQUEST_TIMEOUT"] = "1"
        let service = try LiveService.start(.master(workers: 1, arguments: []), environment: environment)
        defer { service.stop() }
        #expect(service.log().contains("timeout=1.0"), "\(service.log())")
        let slow = try service.startSlowRequest(seconds: 6)
        #expect([502, 504].contains(try slow.response().status))
        #expect(service.waitForLogLine(containing: ["request timed out", "request_id=\(slow.requestID)"]) != nil)

    }

    @Test("a timeout or slow-log threshold that is not 0 to 86400 seconds refuses to start")
    func timeoutRefusal() throws {
        let cases: [([String], [String: String], String)] = [
            (["--timeout=-1"], [:], "--timeout must be 0 to 86400 seconds"),
            (["--slow-log", "100000"], [:], "--slow-log must be 0 to 86400 seconds"),
            ([], ["REQUEST_TIMEOUT": "soon"], "REQUEST_TIMEOUT must be a number of seconds"),
            ([], ["SLOW_LOG": "-2"], "SLOW_LOG must be 0 (off) to 86400 seconds"),
        ]
        try TransportSecurityTests.expectRefusals(cases)
    }
}
