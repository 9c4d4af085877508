// The pieces of a reload and an upgrade that need no pool: readiness reports and the inherited socket.

import Foundation
import Testing

@testable import FastCGI

#if canImport(Glibc)
    import Glibc
#endif

// Serialized: the tests set process-wide environment variables.
@Suite("Master reload and upgrade", .serialized)
struct MasterReloadTests {
    @Test("a worker named a readiness pipe writes its PID there once, in one write")
    func readinessReport() throws {
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
        defer { close(ends[0]) }
        setenv(Master.readyDescriptorVariable, String(ends[1]), 1)
        defer { unsetenv(Master.readyDescriptorVariable) }
        Worker.reportReady()
        var pid: pid_t = 0
        #expect(read(ends[0], &pid, MemoryLayout<pid_t>.size) == MemoryLayout<pid_t>.size)
        #expect(pid == getpid())
        // It closed its end: the pipe reads end-of-file, not "try again".
        #expect(read(ends[0], &pid, MemoryLayout<pid_t>.size) == 0)
    }

    @Test("the readiness pipe collects every worker's report for the master")
    func collectsReports() throws {
        var master = Master(
            listener: Listener(fd: -1, address: .systemd, peers: .unixSocket, ownedFile: nil),
            options: .init(workers: 2, maxRequests: 0, gracefulTimeout: 1, workerExecutable: "", workerArguments: []),
            logger: .init(label: "test"))
        master.readiness = Master.makeReadinessPipe()
        defer {
            close(master.readiness.read)
            close(master.readiness.write)
        }
        for pid: pid_t in [101, 102] { master.workers[pid] = .init(pid: pid, startedAt: 0) }
        var reported: pid_t = 102
        #expect(write(master.readiness.write, &reported, MemoryLayout<pid_t>.size) == MemoryLayout<pid_t>.size)
        master.collectReadiness()
        #expect(master.workers[101]?.ready == false)
        #expect(master.workers[102]?.ready == true)
    }

    @Test("a check's failure is logged by its message, not its whole log line")
    func checkFailureMessage() {
        let line = #"ts=2026-01-01T00:00:00Z level=critical pid=7 msg="cannot start: a \"quoted\" value" extra=1"#
        #expect(Master.message(ofLogLine: line) == #"cannot start: a "quoted" value"#)
        #expect(Master.message(ofLogLine: #"level=error msg="two\nlines""#) == "two\nlines")
        #expect(Master.message(ofLogLine: "exec failed: no such file") == "exec failed: no such file")
        #expect(Master.message(ofLogLine: #"level=error msg="unterminated"#) == #"level=error msg="unterminated"#)
    }

    @Test("an upgraded image adopts the listening socket it inherited, and only a listening one")
    func inheritedListener() throws {
        #expect(try Master.inheritedListener(.systemd) == nil, "not an upgrade: nothing inherited")

        var template = Array("/tmp/tasks-api-upgrade-XXXXXX".utf8CString)
        let folder = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/pool.sock"
        let original = try Listener.open(.unix(path: path))
        defer { original.close() }
        setenv(Master.upgradeListenerVariable, String(original.fd), 1)
        defer { unsetenv(Master.upgradeListenerVariable) }
        #expect(Master.isUpgrade)
        let adopted = try #require(try Master.inheritedListener(.unix(path: path)))
        #expect(adopted.fd == original.fd)
        #expect(adopted.peers == .unixSocket)
        // It owns the socket file, so the upgraded master removes it on stop.
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(adopted.ownedFile?.inode == UInt64(info.st_ino))
        #expect(fcntl(adopted.fd, F_GETFD) & FD_CLOEXEC != 0, "not leaked to workers other than as their fd 0")

        let unconnected = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(unconnected) }
        setenv(Master.upgradeListenerVariable, String(unconnected), 1)
        #expect(throws: Listener.Failure.self) { try Master.inheritedListener(.unix(path: path)) }
    }
}
