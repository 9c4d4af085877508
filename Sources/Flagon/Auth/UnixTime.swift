// The wall clock in whole seconds since the Unix epoch, as JWT time claims count it.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Seconds since 1970-01-01T00:00:00Z, without Foundation.
///
/// ```swift
/// let claims = try signer.verify(token, now: UnixTime.now())
/// ```
public enum UnixTime {
    /// The current time, rounded down to a whole second.
    public static func now() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }
}
