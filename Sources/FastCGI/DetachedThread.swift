// A worker's helper threads: plain detached pthreads, outside Swift's concurrency pool.

#if canImport(Glibc)
    import Glibc
#endif

/// Starts a detached thread that runs `body`; false when no thread can start.
///
/// The worker's helpers (``IdleRelease``, ``SyncThread``) block in `nanosleep`, `read` and
/// `fdatasync`, which must not hold a thread of the concurrency pool.
func startDetachedThread(_ body: @escaping () -> Void) -> Bool {
    final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    let box = Unmanaged.passRetained(Body(body)).toOpaque()
    var handle = pthread_t()
    let result = pthread_create(
        &handle, nil,
        { argument in
            Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box)
    guard result == 0 else {
        Unmanaged<Body>.fromOpaque(box).release()
        return false
    }
    pthread_detach(handle)
    return true
}
