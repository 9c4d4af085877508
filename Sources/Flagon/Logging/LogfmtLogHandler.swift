// A swift-log handler writing one logfmt line per event to stderr in a single write(2).

import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes `ts=… level=info msg=request method=GET …` lines to standard error.
///
/// When standard error is the journal's stream, each line starts with its syslog priority
/// (`<3>` for an error, sd-daemon(3)), so `journalctl -p err` selects by level.
///
/// Each line goes out in one `write(2)`, so lines from several worker processes sharing
/// the master's stderr (or the journal) never interleave.
///
/// Lines are built as bytes in one buffer. ``AccessLogMiddleware`` writes its line through
/// ``writeLine(level:message:fields:)`` with fields already in key order, skipping the
/// metadata dictionary and the sort that swift-log's path costs on every request; the
/// bytes are the same as through ``log(event:)``.
public struct LogfmtLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String

    /// This process's id, read once: `getpid` is a system call, and every line carries it.
    /// The service starts its processes with exec, never with a bare fork, so it never
    /// changes under a process.
    static let processID = getpid()

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let (seconds, milliseconds) = Self.now()
        Self.writeAll(
            render(
                event: event, seconds: seconds, milliseconds: milliseconds, pid: Self.processID,
                journal: Self.writesToJournal))
    }

    /// The line of `event`, newline included; with `journal`, its priority prefix first.
    func render(event: LogEvent, seconds: Int64, milliseconds: Int, pid: Int32, journal: Bool = false) -> [UInt8] {
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        var line = head(
            level: event.level, message: event.message.description, seconds: seconds, milliseconds: milliseconds,
            pid: pid, journal: journal)
        for key in merged.keys.sorted() {
            Self.appendField(key, merged[key]!.description, to: &line)
        }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// Writes a line whose fields `fields` appends in ascending key order: the bytes
    /// ``log(event:)`` writes for the same message and metadata when the handler has no
    /// metadata of its own (callers check ``metadata`` first).
    public func writeLine(level: Logger.Level, message: String, fields: (inout LogfmtFields) -> Void) {
        let (seconds, milliseconds) = Self.now()
        Self.writeAll(
            renderLine(
                level: level, message: message, seconds: seconds, milliseconds: milliseconds, pid: Self.processID,
                journal: Self.writesToJournal, fields))
    }

    /// The bytes of ``writeLine(level:message:fields:)``, newline included.
    func renderLine(
        level: Logger.Level, message: String, seconds: Int64, milliseconds: Int, pid: Int32, journal: Bool = false,
        _ fields: (inout LogfmtFields) -> Void
    ) -> [UInt8] {
        var collected = LogfmtFields(
            line: head(
                level: level, message: message, seconds: seconds, milliseconds: milliseconds, pid: pid,
                journal: journal))
        fields(&collected)
        collected.line.append(UInt8(ascii: "\n"))
        return collected.line
    }

    private func head(
        level: Logger.Level, message: String, seconds: Int64, milliseconds: Int, pid: Int32, journal: Bool
    ) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        if journal {
            line.append(UInt8(ascii: "<"))
            line.append(UInt8(ascii: "0") + Self.syslogPriority(level))
            line.append(UInt8(ascii: ">"))
        }
        line.append(contentsOf: "ts=".utf8)
        RFC3339.append(seconds: seconds, milliseconds: milliseconds, to: &line)
        line.append(contentsOf: " level=".utf8)
        line.append(contentsOf: level.rawValue.utf8)
        line.append(contentsOf: " logger=".utf8)
        line.append(contentsOf: label.utf8)
        line.append(contentsOf: " pid=".utf8)
        Self.appendDecimal(Int(pid), to: &line)
        line.append(contentsOf: " msg=".utf8)
        Self.appendValue(message, to: &line)
        return line
    }

    /// ` key=value`, the value quoted when it must be.
    static func appendField(_ key: String, _ value: String, to line: inout [UInt8]) {
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: key.utf8)
        line.append(UInt8(ascii: "="))
        appendValue(value, to: &line)
    }

    /// Quotes values with spaces, quotes, `=` or control characters.
    static func appendValue(_ value: String, to line: inout [UInt8]) {
        let utf8 = value.utf8
        // Native and small strings are scanned and copied in place.
        let plain = utf8.withContiguousStorageIfAvailable { bytes in
            guard !bytes.isEmpty, !bytes.contains(where: needsQuotes) else { return false }
            line.append(contentsOf: bytes)
            return true
        }
        if plain == true { return }
        guard plain == false || utf8.isEmpty || utf8.contains(where: needsQuotes) else {
            line.append(contentsOf: utf8)
            return
        }
        line.append(UInt8(ascii: "\""))
        // Bytes of multi-byte scalars are all 0x80 or more, so they pass through unchanged.
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): line.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): line.append(contentsOf: #"\\"#.utf8)
            case 0x0A: line.append(contentsOf: #"\n"#.utf8)
            case 0x0D: line.append(contentsOf: #"\r"#.utf8)
            case 0x09: line.append(contentsOf: #"\t"#.utf8)
            case ..<0x20:
                line.append(contentsOf: #"\u{"#.utf8)
                line.append(contentsOf: String(byte, radix: 16).utf8)
                line.append(UInt8(ascii: "}"))
            default: line.append(byte)
            }
        }
        line.append(UInt8(ascii: "\""))
    }

    private static func needsQuotes(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\\")
    }

    static func appendDecimal(_ value: Int, to line: inout [UInt8]) {
        if value < 0 {
            line.append(UInt8(ascii: "-"))
            appendDecimal(UInt(value.magnitude), to: &line)
        } else {
            appendDecimal(UInt(value), to: &line)
        }
    }

    static func appendDecimal(_ value: UInt, to line: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            line.append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// Writes all of `line` to standard error, retrying on EINTR.
    static func writeAll(_ line: [UInt8]) {
        line.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    /// The wall-clock time of a line: seconds since the epoch and milliseconds.
    static func now() -> (seconds: Int64, milliseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Int64(now.tv_sec), Int(now.tv_nsec) / 1_000_000)
    }
}

/// The fields of a line written by ``LogfmtLogHandler/writeLine(level:message:fields:)``.
public struct LogfmtFields {
    var line: [UInt8]

    /// Appends ` key=value`, the value quoted when it must be; keys come in ascending order.
    public mutating func append(_ key: String, _ value: String) {
        LogfmtLogHandler.appendField(key, value, to: &line)
    }

    /// Appends ` key=<decimal>`.
    public mutating func append(_ key: String, _ value: Int) {
        appendKey(key)
        LogfmtLogHandler.appendDecimal(value, to: &line)
    }

    /// Appends ` key=<micros / 1000>.<micros % 1000 in three digits>`: a duration in milliseconds.
    public mutating func append(_ key: String, milliseconds micros: UInt64) {
        appendKey(key)
        LogfmtLogHandler.appendDecimal(UInt(micros / 1000), to: &line)
        let fraction = Int(micros % 1000)
        line.append(UInt8(ascii: "."))
        line.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        line.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        line.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    private mutating func appendKey(_ key: String) {
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: key.utf8)
        line.append(UInt8(ascii: "="))
    }
}

extension Logger.Level {
    /// Parses `LOG_LEVEL` values, accepting Python's names (`warning`, `critical`) too.
    public init?(configValue: String) {
        switch configValue.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning", "warn": self = .warning
        case "error": self = .error
        case "critical", "fatal": self = .critical
        default: return nil
        }
    }
}
