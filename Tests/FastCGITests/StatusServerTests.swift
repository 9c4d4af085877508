// The status server's HTTP: heads parsed, bad ones refused with 400, routes; and the listen queue.

import Foundation
import Testing

@testable import FastCGI

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Status server")
struct StatusServerTests {
    static func parse(_ text: String) -> StatusRequest.Parse { StatusRequest.parse(Array(text.utf8)) }

    @Test("a GET head is parsed with its query's keys; CRLF or bare LF")
    func parsesHeads() {
        #expect(
            Self.parse("GET /status?json&full HTTP/1.1\r\nHost: x\r\n\r\n")
                == .request(StatusRequest(method: "GET", path: "/status", flags: ["json", "full"])))
        #expect(
            Self.parse("GET /status?full=1 HTTP/1.0\n\n")
                == .request(StatusRequest(method: "GET", path: "/status", flags: ["full"])))
        #expect(Self.parse("GET /ping HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(Self.parse("GET /pi") == .incomplete)
    }

    @Test(
        "malformed heads are refused",
        arguments: [
            "get /status HTTP/1.1\r\n\r\n", "GET /status\r\n\r\n", "GET /status HTTP/2\r\n\r\n",
            "GET status HTTP/1.1\r\n\r\n", "GET  /status HTTP/1.1\r\n\r\n", "GET /st\u{1}atus HTTP/1.1\r\n\r\n",
            "\r\n\r\n",
        ])
    func refusesMalformed(_ head: String) {
        #expect(Self.parse(head) == .malformed)
    }

    @Test("a head longer than the limit is refused without waiting for its end")
    func refusesLongHead() {
        let long = "GET /status HTTP/1.1\r\nX: " + String(repeating: "a", count: StatusRequest.maximumHead)
        #expect(Self.parse(long) == .malformed)
    }

    @Test("routes: ping, status as text and JSON, metrics; 404 elsewhere, 405 for other methods")
    func routes() {
        var reads = 0
        let report = {
            reads += 1
            return StatusReportTests.report()
        }
        func request(_ method: String, _ path: String, _ flags: Set<String> = []) -> StatusResponse {
            StatusRequest(method: method, path: path, flags: flags).response(report)
        }
        #expect(request("GET", "/ping").body == "pong\n")
        #expect(reads == 0)
        #expect(request("GET", "/status").body.hasPrefix("pool:"))
        #expect(request("GET", "/status", ["json"]).contentType == "application/json")
        #expect(request("GET", "/metrics").contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(request("GET", "/nope").status == 404)
        #expect(request("GET", "/status/").status == 404)
        let post = request("POST", "/status")
        #expect(post.status == 405)
        #expect(post.extraHeaders.first?.1 == "GET, HEAD")
        let head = String(decoding: request("HEAD", "/ping").encoded(head: true), as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(head.contains("Content-Length: 5\r\n"))
        #expect(head.hasSuffix("Connection: close\r\n\r\n"))
    }

    /// A fresh directory for one test, removed afterwards.
    final class Scratch {
        let path: String
        init() throws {
            var template = Array("/tmp/tasks-api-status-XXXXXX".utf8CString)
            path = String(cString: try #require(mkdtemp(&template)))
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Connects to the unix socket at `path`; the connected fd.
    static func connectUnix(_ path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw Listener.Failure("connect", errno: errno)
        }
        return fd
    }

    /// Sends `bytes` and reads until the server closes.
    static func exchange(_ path: String, _ bytes: String) throws -> String {
        let fd = try connectUnix(path)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = Array(bytes.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            out += buffer[..<count]
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test("the server answers over its socket: 400 for garbage, then the next client; a silent one is dropped")
    func serves() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/status.sock"
        let listener = try Listener.open(.unix(path: path), backlog: 4)
        let server = StatusServer(listener: listener) { StatusReportTests.report() }
        try server.start()
        defer { server.stop() }
        #expect(try Self.exchange(path, "hello\r\n\r\n").hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        // A client that connects and says nothing holds the server for the I/O timeout at most.
        let silent = try Self.connectUnix(path)
        defer { close(silent) }
        let answer = try Self.exchange(path, "GET /status?json HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.contains("\"accepted_requests\": 4"))
        // The maxima are the server's own, sampled from the readings: one busy worker, a queue of 2.
        #expect(answer.contains("\"max_active_workers\": 1"))
        #expect(answer.contains("\"max_listen_queue\": 2"))
        let status = try StatusClient.get("/ping", socket: path)
        #expect(status.status == 200)
        #expect(String(decoding: status.body, as: UTF8.self) == "pong\n")
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & 0o777 == 0o660)
    }

    @Test("stopping the server removes its socket; the client then fails")
    func stops() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/status.sock"
        let server = StatusServer(listener: try Listener.open(.unix(path: path))) { StatusReportTests.report() }
        try server.start()
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(throws: (any Error).self) { try StatusClient.get("/ping", socket: path) }
    }

    @Test("the listen queue counts connections no one accepted, on a unix socket and on TCP")
    func listenQueue() throws {
        let scratch = try Scratch()
        let unix = try Listener.open(.unix(path: scratch.path + "/pool.sock"), backlog: 32)
        defer { unix.close() }
        #expect(ListenQueue.of(unix.fd) == ListenQueue(queued: 0, limit: 32))
        let clients = try (0..<3).map { _ in try Self.connectUnix(scratch.path + "/pool.sock") }
        defer { clients.forEach { close($0) } }
        #expect(ListenQueue.of(unix.fd) == ListenQueue(queued: 3, limit: 32))

        let tcp = try Listener.open(.tcp(host: "127.0.0.1", port: 0), backlog: 16, webServers: nil)
        defer { tcp.close() }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(tcp.fd, $0, &length) }
        }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        // The handshake's last ACK may reach the listener just after connect returns.
        var queue = ListenQueue.of(tcp.fd)
        for _ in 0..<1000 where queue?.queued != 1 {
            sched_yield()
            queue = ListenQueue.of(tcp.fd)
        }
        #expect(queue == ListenQueue(queued: 1, limit: 16))
    }
}
