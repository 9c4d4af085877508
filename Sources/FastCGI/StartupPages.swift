// A worker gives back the pages of its executable's code that only start-up ran.

#if canImport(Glibc)
    import Glibc
#endif

/// Drops the executable's code pages from the worker's resident set once it is ready to serve.
///
/// Start-up runs code that requests never do again: configuration, the checks of the
/// database, the router and the OpenAPI document. Its pages stay resident in every worker,
/// and the kernel maps file pages 64 KiB around each fault, so they bring their
/// neighbours. `madvise(MADV_DONTNEED)` on the code mapping unmaps them all; the first
/// requests fault back in, from the page cache, only the code that serving runs (laid out
/// together by `link/tasks-api.order`). The mapping is read-only and private and never
/// written, so nothing is lost: a dropped page reads the same bytes from the file again.
enum StartupPages {
    /// Drops the resident code pages of this process's executable; false when its mapping
    /// was not found (the resident set is then left as it is).
    @discardableResult
    static func dropExecutableCode() -> Bool {
        let executable = Master.currentExecutable()
        guard let maps = readProcFile("/proc/self/maps") else { return false }
        var dropped = false
        for line in maps.split(separator: "\n") {
            // start-end perms offset device inode path
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[1] == "r-xp",
                fields[5].trimmingPrefix(while: { $0 == " " }) == executable
            else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                end > start, let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            if madvise(address, Int(end - start), MADV_DONTNEED) == 0 { dropped = true }
        }
        return dropped
    }

    /// The text of a file of /proc, read to its end (its size says nothing: it is 0).
    static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
