// Response records and kept connections at the libfcgi level, over a socket pair.

import Foundation
import Testing

@testable import FastCGI

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Kept connection records")
struct KeptConnectionRecordTests {
    /// A FastCGI record as a peer writes it.
    static func record(_ type: UInt8, id: UInt16 = 1, _ content: [UInt8] = []) -> [UInt8] {
        Records.header(type, requestID: id, length: content.count, padding: 0) + content
    }

    /// One request as nginx sends it: begin (with or without FCGI_KEEP_CONN), params, stdin.
    static func request(keep: Bool, uri: String = "/api/hello", body: [UInt8] = [], id: UInt16 = 1) -> [UInt8] {
        var params: [UInt8] = []
        for (name, value) in [("REQUEST_METHOD", body.isEmpty ? "GET" : "POST"), ("REQUEST_URI", uri)]
            + (body.isEmpty ? [] : [("CONTENT_LENGTH", String(body.count))])
        {
            params += [UInt8(name.utf8.count), UInt8(value.utf8.count)] + Array(name.utf8) + Array(value.utf8)
        }
        var bytes = record(1, id: id, [0, 1, keep ? 1 : 0, 0, 0, 0, 0, 0])
        bytes += record(4, id: id, params) + record(4, id: id)
        if !body.isEmpty { bytes += record(5, id: id, body) }
        return bytes + record(5, id: id)
    }

    /// Reads the records of one response as (type, content) pairs: up to its END_REQUEST and
    /// `extra` more records, or to end of stream.
    static func readRecords(_ fd: Int32, extra: Int = 0) -> [(type: UInt8, content: [UInt8])] {
        var records: [(type: UInt8, content: [UInt8])] = []
        var remaining = -1
        while remaining != 0 {
            guard let header = readExactly(fd, 8) else { break }
            let length = Int(header[4]) << 8 | Int(header[5])
            let padding = Int(header[6])
            let content = readExactly(fd, length + padding) ?? []
            records.append((header[1], Array(content.prefix(length))))
            if remaining > 0 { remaining -= 1 }
            if header[1] == Records.endRequest { remaining = extra }
        }
        return records
    }

    static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes[offset...].withUnsafeMutableBytes { read(fd, $0.baseAddress, count - offset) }
            if got <= 0 { return nil }
            offset += got
        }
        return bytes
    }

    static func socketPair() throws -> (worker: Int32, peer: Int32) {
        var ends: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        for end in ends {
            setsockopt(end, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        return (ends[0], ends[1])
    }

    @Test("a response is STDOUT records padded to 8 bytes, an empty STDOUT, END_REQUEST; release adds an empty STDERR")
    func responseFraming() {
        let body = Array("Status: 200 OK\r\n\r\nhi".utf8)
        let plain = Records.response(body, requestID: 1, release: false)
        // 20 bytes of content, 4 of padding.
        #expect(Array(plain[0..<8]) == [1, 6, 0, 1, 0, 20, 4, 0])
        #expect(Array(plain[8..<28]) == body)
        #expect(plain.count == 8 + 20 + 4 + 8 + 16)
        #expect(
            Array(plain.suffix(24)) == [1, 6, 0, 1, 0, 0, 0, 0] + [1, 3, 0, 1, 0, 8, 0, 0]
                + [UInt8](repeating: 0, count: 8))
        let released = Records.response(body, requestID: 0x0102, release: true)
        #expect(Array(released.suffix(8)) == [1, 7, 1, 2, 0, 0, 0, 0])
        #expect(Array(released.dropLast(8).suffix(16).prefix(4)) == [1, 3, 1, 2])
    }

    @Test("a body longer than one record is split at 65535 bytes")
    func longBody() {
        let body = [UInt8](repeating: 0x61, count: 70000)
        let bytes = Records.response(body, requestID: 1, release: false)
        #expect(Array(bytes[0..<8]) == [1, 6, 0, 1, 0xff, 0xff, 1, 0])
        let second = 8 + 65535 + 1
        #expect(
            Array(bytes[second..<(second + 8)]) == [
                1, 6, 0, 1, UInt8((70000 - 65535) >> 8), UInt8((70000 - 65535) & 0xff), 7, 0,
            ])
    }

    @Test("requests follow one another on a kept connection; its end is reported as closed")
    func requestsOnOneConnection() throws {
        let (worker, peer) = try Self.socketPair()
        defer { close(peer) }
        let fcgx = FCGXRequest(connection: worker)
        var scratch = [CChar](repeating: 0, count: 4096)
        for round in 0..<3 {
            let body: [UInt8] = round == 1 ? Array("{\"a\": 1}".utf8) : []
            #expect(Connection.writeAll(peer, Self.request(keep: true, body: body, id: UInt16(round + 1))))
            #expect(fcgx.begin() == .request(peerKeepsConnection: true))
            #expect(fcgx.requestID == UInt16(round + 1))
            var uri: String?
            fcgx.forEachParam { name, value in
                if String(decoding: name, as: UTF8.self) == "REQUEST_URI" {
                    uri = String(decoding: value, as: UTF8.self)
                }
            }
            #expect(uri == "/api/hello")
            #expect(fcgx.readBody(limit: 100, scratch: &scratch) == body)
            #expect(fcgx.discardInput(limit: 100, scratch: &scratch))
            #expect(fcgx.respond(Array("Status: 200 OK\r\n\r\n".utf8), release: false))
            let records = Self.readRecords(peer)
            #expect(records.map(\.type) == [6, 6, 3])
        }
        shutdown(peer, Int32(SHUT_WR))
        #expect(Connection.pending(worker) == .closed)
        #expect(fcgx.begin() == .closed)
        #expect(fcgx.connection == -1)
    }

    @Test("a body left unread is discarded up to the limit; beyond it the connection cannot be reused")
    func unreadBody() throws {
        let (worker, peer) = try Self.socketPair()
        defer {
            close(worker)
            close(peer)
        }
        let fcgx = FCGXRequest(connection: worker)
        var scratch = [CChar](repeating: 0, count: 4096)
        #expect(Connection.writeAll(peer, Self.request(keep: true, body: [UInt8](repeating: 0x61, count: 3000))))
        #expect(fcgx.begin() == .request(peerKeepsConnection: true))
        #expect(fcgx.discardInput(limit: 4000, scratch: &scratch))
        #expect(fcgx.respond([], release: false))
        _ = Self.readRecords(peer)

        #expect(Connection.writeAll(peer, Self.request(keep: true, body: [UInt8](repeating: 0x61, count: 3000))))
        #expect(fcgx.begin() == .request(peerKeepsConnection: true))
        #expect(!fcgx.discardInput(limit: 1000, scratch: &scratch))
        #expect(fcgx.respond([], release: true))
        #expect(Self.readRecords(peer, extra: 1).map(\.type) == [6, 3, 7])
    }

    @Test("a peer without FCGI_KEEP_CONN is told apart")
    func peerFlag() throws {
        let (worker, peer) = try Self.socketPair()
        defer {
            close(worker)
            close(peer)
        }
        let fcgx = FCGXRequest(connection: worker)
        #expect(Connection.writeAll(peer, Self.request(keep: false)))
        #expect(fcgx.begin() == .request(peerKeepsConnection: false))
    }
}
