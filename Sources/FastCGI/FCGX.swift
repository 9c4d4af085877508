// The only file that touches libfcgi: one request object per connection the worker accepted.

import CFastCGI

#if canImport(Glibc)
    import Glibc
#endif

/// A libfcgi request (`FCGX_Request`) bound to one connection for the connection's lifetime,
/// so a kept connection's requests never share libfcgi state with another connection's.
/// libfcgi's streams point back at the request, so it lives at a fixed heap address.
///
/// libfcgi never accepts here. `FCGX_Accept_r` skips its own accept when the request
/// already holds a connection (`ipcFd`) marked `keepConnection`, so ``begin()`` reads the
/// next request from the worker's connection. Its listening socket is -1: when a peer sends
/// no valid request (end of stream, read error, timeout), libfcgi closes the connection and
/// its own accept on -1 fails, so `FCGX_Accept_r` returns an error instead of accepting a
/// connection that no peer check has seen.
///
/// libfcgi decodes requests only. Responses are framed by ``Records`` and written in one
/// `write`, because the record that asks nginx to close a connection must follow
/// `FCGI_END_REQUEST` in the same write (see ``Records/release(requestID:)``).
final class FCGXRequest {
    private let raw: UnsafeMutablePointer<FCGX_Request>
    /// The id of the request read last: every record of its response carries it.
    private(set) var requestID: UInt16 = 1

    /// Initialises libfcgi (once per process) and a request reading from `connection`,
    /// which libfcgi closes only when the peer sends no valid request.
    init(connection: Int32) {
        FCGXRequest.initialiseLibrary
        raw = .allocate(capacity: 1)
        raw.initialize(to: FCGX_Request())
        FCGX_InitRequest(raw, -1, Int32(FCGI_FAIL_ACCEPT_ON_INTR))
        raw.pointee.ipcFd = connection
    }

    deinit {
        // Frees streams and params only: the worker closes the connection itself.
        FCGX_Free(raw, 0)
        raw.deallocate()
    }

    private static let initialiseLibrary: Void = { _ = FCGX_Init() }()

    /// The connection, or -1 once libfcgi has closed it.
    var connection: Int32 { raw.pointee.ipcFd }

    enum Begin: Equatable {
        /// A request's params are read; `peerKeepsConnection` is the peer's
        /// `FCGI_KEEP_CONN` flag: it will send more requests on this connection.
        case request(peerKeepsConnection: Bool)
        /// No valid request before end of stream or the socket's timeout: libfcgi has
        /// closed the connection.
        case closed
    }

    /// Reads the begin-request record and the params of the next request.
    func begin() -> Begin {
        raw.pointee.keepConnection = 1
        // A connection libfcgi drops for a bad request is closed at once, not drained for
        // up to 2 s per read as a finished one would be.
        raw.pointee.detached = 1
        let status = FCGX_Accept_r(raw)
        // The begin-request record set keepConnection from the peer's flag; the worker
        // decides when to close, so libfcgi never does after a request.
        let peerKeeps = raw.pointee.keepConnection != 0
        raw.pointee.keepConnection = 1
        if status == 0 {
            requestID = UInt16(truncatingIfNeeded: raw.pointee.requestId)
            return .request(peerKeepsConnection: peerKeeps)
        }
        if raw.pointee.ipcFd >= 0 {
            close(raw.pointee.ipcFd)
            raw.pointee.ipcFd = -1
        }
        return .closed
    }

    /// Calls `body` with the name and value of each of the request's params, as bytes in
    /// libfcgi's own `NAME=value` entries: valid only during the call (libfcgi frees them at
    /// the end of the request), and no param becomes a string unless `body` makes it one.
    func forEachParam(_ body: (_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> Void) {
        guard var cursor = raw.pointee.envp else { return }
        while let entry = cursor.pointee {
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                let buffer = UnsafeBufferPointer(start: bytes, count: length)
                if let equals = buffer.firstIndex(of: UInt8(ascii: "=")) {
                    body(
                        UnsafeBufferPointer(rebasing: buffer[..<equals]),
                        UnsafeBufferPointer(rebasing: buffer[(equals + 1)...]))
                }
            }
            cursor += 1
        }
    }

    /// Reads the request body: at most `limit` bytes (fewer at end of stream).
    ///
    /// Reads through `scratch`, one buffer kept for the worker's lifetime, so a bodiless GET
    /// costs one small read and no allocation of the whole limit.
    func readBody(limit: Int, scratch: inout [CChar]) -> [UInt8] {
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

    /// Reads and discards what is left of the request body, up to `limit` bytes. True when
    /// the body's end-of-stream record has been read: the next bytes on the connection are
    /// the peer's next request, never the rest of this one.
    func discardInput(limit: Int, scratch: inout [CChar]) -> Bool {
        guard let input = raw.pointee.in else { return false }
        var left = limit
        while FCGX_HasSeenEOF(input) == 0 {
            guard left > 0 else { return false }
            let wanted = Int32(min(left, scratch.count))
            let count = scratch.withUnsafeMutableBufferPointer { FCGX_GetStr($0.baseAddress, wanted, input) }
            if count <= 0 { break }
            left -= Int(count)
        }
        // libfcgi marks a stream that failed as ended too.
        return FCGX_HasSeenEOF(input) != 0 && FCGX_GetError(input) == 0
    }

    /// Writes `response` as the request's STDOUT and its FCGI_END_REQUEST, with the
    /// release record after it when `release` is set, in one write; then frees the request's
    /// streams (the connection stays open). False when the peer has gone away.
    func respond(_ response: [UInt8], release: Bool) -> Bool {
        let records = Records.response(response, requestID: requestID, release: release)
        let written = Connection.writeAll(raw.pointee.ipcFd, records)
        FCGX_Free(raw, 0)
        return written
    }
}
