// A swift-log handler writing one logfmt line per event to stderr in a single write(2).

import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes `ts=… level=info msg=request method=GET …` lines to standard error.
///
/// Each line goes out in one `write(2)`, so lines from several worker processes sharing
/// the master's stderr (or the journal) never interleave.
public struct LogfmtLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "ts=\(Self.timestamp()) level=\(event.level) logger=\(label) pid=\(getpid()) msg="
        Self.appendValue(event.message.description, to: &line)
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        for key in merged.keys.sorted() {
            line += " \(key)="
            Self.appendValue(merged[key]!.description, to: &line)
        }
        line += "\n"
        line.withUTF8 { buffer in
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

    /// Quotes values with spaces, quotes, `=` or control characters.
    static func appendValue(_ value: String, to line: inout String) {
        let needsQuotes =
            value.isEmpty
            || value.utf8.contains {
                $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\\")
            }
        guard needsQuotes else {
            line += value
            return
        }
        line += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            default:
                if scalar.value < 0x20 {
                    line += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    line.unicodeScalars.append(scalar)
                }
            }
        }
        line += "\""
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return RFC3339.format(seconds: Int64(now.tv_sec), milliseconds: Int(now.tv_nsec) / 1_000_000)
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
