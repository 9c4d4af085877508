// The only file that touches libfcgi: a request object fed with connections the worker accepted.

import CFastCGI

#if canImport(Glibc)
    import Glibc
#endif

/// A libfcgi request (`FCGX_Request`), reused for every connection the worker accepts.
/// libfcgi's streams point back at the request, so it lives at a fixed heap address for
/// the worker's lifetime.
///
/// libfcgi never accepts here. `FCGX_Accept_r` skips its own accept when the request
/// already holds a connection (`ipcFd`) marked `keepConnection`, so ``begin(connection:)``
/// hands it the worker's connection. Its listening socket is -1: when a peer sends no
/// valid request (read error, timeout), libfcgi closes the connection and its own accept
/// on -1 fails, so `FCGX_Accept_r` returns an error instead of accepting a connection
/// that no peer check has seen.
final class FCGXRequest {
    private let raw: UnsafeMutablePointer<FCGX_Request>
    private var scratch = [CChar](repeating: 0, count: 65536)

    /// Initialises libfcgi (once per process) and a request without a listening socket.
    init() {
        FCGXRequest.initialiseLibrary
        raw = .allocate(capacity: 1)
        raw.initialize(to: FCGX_Request())
        FCGX_InitRequest(raw, -1, Int32(FCGI_FAIL_ACCEPT_ON_INTR))
    }

    deinit {
        FCGX_Free(raw, 1)
        raw.deallocate()
    }

    private static let initialiseLibrary: Void = { _ = FCGX_Init() }()

    /// Reads the begin-request record and the params from `connection`, which libfcgi
    /// owns from now on. False when the peer sent no valid request before its socket's
    /// timeout: libfcgi has closed the connection then.
    func begin(connection: Int32) -> Bool {
        raw.pointee.ipcFd = connection
        raw.pointee.keepConnection = 1
        // A connection libfcgi drops for a bad request is closed at once, not drained for
        // up to 2 s per read as a finished one would be.
        raw.pointee.detached = 1
        let status = FCGX_Accept_r(raw)
        // The begin-request record set keepConnection from the peer's flag; the worker
        // closes the connection itself, in ``finish()``'s caller.
        raw.pointee.keepConnection = 1
        if status == 0 { return true }
        if raw.pointee.ipcFd >= 0 {
            close(raw.pointee.ipcFd)
            raw.pointee.ipcFd = -1
        }
        return false
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

    /// Flushes and completes the request. Returns the connection, still open, for the
    /// caller to close; nil when libfcgi closed it after a write error.
    func finish() -> Int32? {
        FCGX_Finish_r(raw)
        let connection = raw.pointee.ipcFd
        raw.pointee.ipcFd = -1
        return connection >= 0 ? connection : nil
    }
}
