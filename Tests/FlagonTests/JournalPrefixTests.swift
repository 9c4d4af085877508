// Syslog priority prefixes on log lines when standard error is the journal (JOURNAL_STREAM).

import Foundation
import Logging
import Testing

@testable import Flagon

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Journal priority prefixes")
struct JournalPrefixTests {
    @Test(
        "each level maps to its sd-daemon priority",
        arguments: [
            (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3),
            (.critical, 2),
        ] as [(Logger.Level, UInt8)])
    func priorities(level: Logger.Level, priority: UInt8) {
        #expect(LogfmtLogHandler.syslogPriority(level) == priority)
    }

    @Test("a journal line is the plain line with the priority in front, by both paths")
    func prefixedLine() {
        let handler = LogfmtLogHandler(label: "tasks-api")
        let event = LogEvent(
            level: .error, message: "worker died", metadata: ["worker_pid": "42"], source: nil, file: #fileID,
            function: #function, line: #line)
        let plain = handler.render(event: event, seconds: 1_795_590_000, milliseconds: 42, pid: 4242)
        let journal = handler.render(event: event, seconds: 1_795_590_000, milliseconds: 42, pid: 4242, journal: true)
        #expect(String(decoding: journal, as: UTF8.self) == "<3>" + String(decoding: plain, as: UTF8.self))

        let direct = handler.renderLine(
            level: .info, message: "request", seconds: 1_795_590_000, milliseconds: 42, pid: 4242, journal: true
        ) { $0.append("status", 200) }
        #expect(
            String(decoding: direct, as: UTF8.self)
                == "<6>ts=2026-11-25T07:00:00.042Z level=info logger=tasks-api pid=4242 msg=request status=200\n")
    }

    /// An open file and the `DEVICE:INODE` systemd would put in JOURNAL_STREAM for it.
    private func withOpenFile(_ body: (Int32, String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        var status = stat()
        try #require(fstat(fd, &status) == 0)
        try body(fd, "\(status.st_dev):\(status.st_ino)")
    }

    @Test("a descriptor is the journal's stream when JOURNAL_STREAM names its device and inode")
    func detection() throws {
        try withOpenFile { fd, stream in
            #expect(LogfmtLogHandler.isJournalStream(stream, descriptor: fd))
        }
    }

    @Test(
        "another stream, an unset or malformed JOURNAL_STREAM, or a closed descriptor is not the journal",
        arguments: [nil, "", "12", "a:b", "1:2:3", ":"] as [String?])
    func notJournal(value: String?) throws {
        try withOpenFile { fd, stream in
            #expect(!LogfmtLogHandler.isJournalStream(value, descriptor: fd))
            let parts = stream.split(separator: ":")
            let otherInode = "\(parts[0]):\(UInt64(parts[1])! + 1)"
            #expect(!LogfmtLogHandler.isJournalStream(otherInode, descriptor: fd))
        }
        #expect(!LogfmtLogHandler.isJournalStream("1:1", descriptor: -1))
    }
}
