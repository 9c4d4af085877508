// RFC 3339 UTC timestamps, as the API and the logs write them.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Formats instants as RFC 3339 in UTC with a `Z`: `2026-11-25T07:00:00Z`.
public enum RFC3339 {
    /// Whole seconds since the epoch, optionally with milliseconds (`…:00.123Z`).
    public static func format(seconds: Int64, milliseconds: Int? = nil) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(seconds: seconds, milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the text of ``format(seconds:milliseconds:)`` to `out`, for log lines built as bytes.
    static func append(seconds: Int64, milliseconds: Int?, to out: inout [UInt8]) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let year = Int(parts.tm_year) + 1900
        if (1000...9999).contains(year) {
            out.append(UInt8(ascii: "0") + UInt8(year / 1000))
            out.append(UInt8(ascii: "0") + UInt8(year / 100 % 10))
            out.append(UInt8(ascii: "0") + UInt8(year / 10 % 10))
            out.append(UInt8(ascii: "0") + UInt8(year % 10))
        } else {
            out.append(contentsOf: String(year).utf8)
        }
        appendTwo(parts.tm_mon + 1, after: UInt8(ascii: "-"), to: &out)
        appendTwo(parts.tm_mday, after: UInt8(ascii: "-"), to: &out)
        appendTwo(parts.tm_hour, after: UInt8(ascii: "T"), to: &out)
        appendTwo(parts.tm_min, after: UInt8(ascii: ":"), to: &out)
        appendTwo(parts.tm_sec, after: UInt8(ascii: ":"), to: &out)
        if let milliseconds {
            out.append(UInt8(ascii: "."))
            if (0...999).contains(milliseconds) {
                out.append(UInt8(ascii: "0") + UInt8(milliseconds / 100))
                out.append(UInt8(ascii: "0") + UInt8(milliseconds / 10 % 10))
                out.append(UInt8(ascii: "0") + UInt8(milliseconds % 10))
            } else {
                out.append(contentsOf: (milliseconds < 10 ? "00" : milliseconds < 100 ? "0" : "").utf8)
                out.append(contentsOf: String(milliseconds).utf8)
            }
        }
        out.append(UInt8(ascii: "Z"))
    }

    /// `separator` and `value` in two digits (0 to 99, as `tm` fields are).
    private static func appendTwo(_ value: Int32, after separator: UInt8, to out: inout [UInt8]) {
        out.append(separator)
        out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / 10))
        out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10))
    }

    /// The current time, to the second.
    public static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return format(seconds: Int64(now.tv_sec))
    }
}
