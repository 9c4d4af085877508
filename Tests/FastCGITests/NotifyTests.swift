// The sd_notify client: datagrams to a path or an abstract socket, and when the watchdog is this process's.

import Foundation
import Testing

@testable import FastCGI

#if canImport(Glibc)
    import Glibc
#endif

@Suite("sd_notify client")
struct NotifyTests {
    /// A bound datagram socket standing in for systemd's; `name` as NOTIFY_SOCKET spells it.
    final class Receiver {
        let fd: Int32
        let name: String
        private let path: String?

        init(abstract: Bool) throws {
            let unique = "tasks-api-notify-test-\(getpid())-\(UUID().uuidString.prefix(8))"
            path = abstract ? nil : FileManager.default.temporaryDirectory.appendingPathComponent(unique).path
            name = path ?? "@" + unique
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            try #require(fd >= 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(name.utf8)
            if abstract { bytes[0] = 0 }
            withUnsafeMutableBytes(of: &address.sun_path) {
                for (index, byte) in bytes.enumerated() { $0[index] = byte }
            }
            let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            try #require(bound == 0, "bind: \(String(cString: strerror(errno)))")
        }

        /// The next datagram, or nil if none is queued.
        func next() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            return count >= 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
        }

        deinit {
            close(fd)
            if let path { unlink(path) }
        }
    }

    @Test("a state reaches a socket named by its path, and one with an abstract name", arguments: [false, true])
    func delivers(abstract: Bool) throws {
        let receiver = try Receiver(abstract: abstract)
        let notifier = try #require(Notifier(socket: receiver.name))
        #expect(notifier.send("READY=1\nSTATUS=2 of 2 workers serving"))
        #expect(notifier.send("STOPPING=1"))
        #expect(receiver.next() == "READY=1\nSTATUS=2 of 2 workers serving")
        #expect(receiver.next() == "STOPPING=1")
        #expect(receiver.next() == nil)
    }

    @Test("a socket nobody listens on fails the send without blocking or trapping")
    func nobodyListening() throws {
        let notifier = try #require(Notifier(socket: "/nonexistent/tasks-api-notify.sock"))
        #expect(!notifier.send("READY=1"))
    }

    @Test(
        "no notifier without a unix socket name",
        arguments: [nil, "", "@", "relative/notify.sock", "vsock:2:1234", "/" + String(repeating: "x", count: 200)]
            as [String?])
    func noNotifier(socket: String?) {
        #expect(Notifier(socket: socket) == nil)
    }

    @Test("the watchdog interval is half of WATCHDOG_USEC, for this process or any when WATCHDOG_PID is unset")
    func watchdogInterval() {
        #expect(Notifier.watchdogInterval(usec: "3000000", pid: nil, ownPID: 42) == 1.5)
        #expect(Notifier.watchdogInterval(usec: "3000000", pid: "", ownPID: 42) == 1.5)
        #expect(Notifier.watchdogInterval(usec: "400000", pid: "42", ownPID: 42) == 0.2)
    }

    @Test(
        "no watchdog when it is off, malformed, or meant for another process",
        arguments: [(nil, nil), ("0", nil), ("abc", nil), ("-5", nil), ("3000000", "43"), ("3000000", "x")]
            as [(String?, String?)])
    func noWatchdog(usec: String?, pid: String?) {
        #expect(Notifier.watchdogInterval(usec: usec, pid: pid, ownPID: 42) == nil)
    }

    @Test("MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds")
    func monotonic() {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        let before = UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
        let value = Notifier.monotonicMicroseconds()
        clock_gettime(CLOCK_MONOTONIC, &time)
        let after = UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
        #expect(value >= before && value <= after)
    }
}
