// The only file that touches libfcgi: a request object on the listening socket.

import CFastCGI

#if canImport(Glibc)
    import Glibc
#endif

/// A libfcgi request bound to a listening socket (`FCGX_Request`), reused for every
/// request a worker accepts. libfcgi's streams point back at the request, so it lives at
/// a fixed heap address for the worker's lifetime.
final class FCGXRequest {
    private let raw: UnsafeMutablePointer<FCGX_Request>
    private var scratch = [CChar](repeating: 0, count: 65536)

    /// Initialises libfcgi (once per process) and a request on `listenSocket`.
    init(listenSocket: Int32) {
        FCGXRequest.initialiseLibrary
        raw = .allocate(capacity: 1)
        raw.initialize(to: FCGX_Request())
        // Fail the accept on a signal, so SIGTERM ends an idle worker at once.
        FCGX_InitRequest(raw, listenSocket, Int32(FCGI_FAIL_ACCEPT_ON_INTR))
    }

    deinit {
        FCGX_Free(raw, 1)
        raw.deallocate()
    }

    private static let initialiseLibrary: Void = { _ = FCGX_Init() }()

    /// Finishes the previous request and waits for the next one: 0, or a negative errno.
    func accept() -> Int32 {
        FCGX_Accept_r(raw)
    }

    /// The request's params that `keep` selects by name, copied out: libfcgi frees them at
    /// the next accept. Names are tested as raw bytes, so the params a request does not need
    /// (SERVER_SOFTWARE, DOCUMENT_URI, ...) never become strings.
    func params(keeping keep: (UnsafeBufferPointer<UInt8>) -> Bool) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        guard var cursor = raw.pointee.envp else { return result }
        result.reserveCapacity(16)
        while let entry = cursor.pointee {
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                let buffer = UnsafeBufferPointer(start: bytes, count: length)
                if let equals = buffer.firstIndex(of: UInt8(ascii: "=")),
                    keep(UnsafeBufferPointer(rebasing: buffer[..<equals]))
                {
                    let name = String(decoding: buffer[..<equals], as: UTF8.self)
                    let value = String(decoding: buffer[(equals + 1)...], as: UTF8.self)
                    result.append((name, value))
                }
            }
            cursor += 1
        }
        return result
    }

    /// Reads the request body: at most `limit` bytes (fewer at end of stream).
    ///
    /// Reads through one scratch buffer kept for the worker's lifetime, so a bodiless GET
    /// costs one small read and no allocation of the whole limit.
    func readBody(limit: Int) -> [UInt8] {
        guard limit > 0, let input = raw.pointee.in else { return [] }
        var body: [UInt8] = []
        while body.count < limit {
            let wanted = Int32(min(limit - body.count, scratch.count))
            let count = scratch.withUnsafeMutableBufferPointer { FCGX_GetStr($0.baseAddress, wanted, input) }
            if count <= 0 { break }
            scratch.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: Int(count)) {
                    body.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(count)))
                }
            }
        }
        return body
    }

    /// Writes response bytes; false when the client (nginx) has gone away.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        guard let output = raw.pointee.out else { return false }
        var offset = 0
        return bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return true }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { chars in
                while offset < buffer.count {
                    let chunk = Int32(min(buffer.count - offset, 1 << 20))
                    let written = FCGX_PutStr(chars + offset, chunk, output)
                    if written < 0 { return false }
                    offset += Int(written)
                }
                return true
            }
        }
    }

    /// Flushes and completes the request, closing the connection.
    func finish() {
        FCGX_Finish_r(raw)
    }
}
