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
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text =
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
            + "T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        if let milliseconds {
            text +=
                milliseconds < 10 ? ".00\(milliseconds)" : milliseconds < 100 ? ".0\(milliseconds)" : ".\(milliseconds)"
        }
        return text + "Z"
    }

    /// The current time, to the second.
    public static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return format(seconds: Int64(now.tv_sec))
    }
}
