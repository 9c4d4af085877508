// Whether standard error is the systemd journal, and the syslog priority each level is logged at there.

import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension LogfmtLogHandler {
    /// Whether lines get a priority prefix. Read once per line: checked at the first line,
    /// and again whenever standard error is redirected (``LogFile``).
    private static let journal = Atomic<Bool>(standardErrorIsJournal())

    static var writesToJournal: Bool { journal.load(ordering: .relaxed) }

    /// Checks again whether standard error is the journal: after it was pointed elsewhere.
    public static func detectJournal() {
        journal.store(standardErrorIsJournal(), ordering: .relaxed)
    }

    static func standardErrorIsJournal() -> Bool {
        isJournalStream(getenv("JOURNAL_STREAM").map { String(cString: $0) }, descriptor: 2)
    }

    /// Whether `descriptor` is the stream systemd connected to the journal: `JOURNAL_STREAM`
    /// holds that stream's `DEVICE:INODE`. A process whose standard error was redirected
    /// (a log file, a pipe, a terminal) inherits the variable but not the stream, and gets
    /// no prefixes. The test is the one sd_journal_stream_fd(3) documents.
    static func isJournalStream(_ value: String?, descriptor: Int32) -> Bool {
        guard let value else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// The syslog priority of `level`, as sd-daemon(3)'s `SD_ERR` and its peers number
    /// them: journald reads it from the `<N>` prefix and strips the prefix.
    static func syslogPriority(_ level: Logger.Level) -> UInt8 {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }
}
