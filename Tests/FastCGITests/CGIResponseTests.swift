// Encoding a Response as CGI output: Status line, header block, Content-Length, no header splitting.

import Flagon
import Testing

@testable import FastCGI

@Suite("CGI response encoding")
struct CGIResponseTests {
    private func encoded(_ response: Response) -> String {
        String(decoding: CGIResponse.encode(response), as: UTF8.self)
    }

    @Test("status line, headers, a Content-Length and the body")
    func fullResponse() {
        let response = Response.json(["message": "Hello, World!"], headers: ["X-Request-Id": "abc"])
        #expect(
            encoded(response)
                == "Status: 200 OK\r\nX-Request-Id: abc\r\nContent-Type: application/json\r\n"
                + "Content-Length: 28\r\n\r\n{\"message\": \"Hello, World!\"}")
    }

    @Test("the status line carries the reason phrase")
    func statusLines() {
        #expect(encoded(Response(status: .contentTooLarge)).hasPrefix("Status: 413 Content Too Large\r\n"))
        #expect(encoded(Response(status: .serviceUnavailable)).hasPrefix("Status: 503 Service Unavailable\r\n"))
        #expect(encoded(Response(status: HTTPStatus(code: 299))).hasPrefix("Status: 299 Unknown\r\n"))
    }

    @Test("an empty response still declares its length")
    func emptyBody() {
        #expect(encoded(.empty()) == "Status: 204 No Content\r\nContent-Length: 0\r\n\r\n")
    }

    @Test("an existing Content-Length is kept, not repeated, whatever its case")
    func existingLength() {
        // HEAD responses carry the GET body's length with no body.
        let head = Response(status: .ok, headers: ["content-length": "120"], body: [])
        #expect(encoded(head) == "Status: 200 OK\r\ncontent-length: 120\r\n\r\n")
    }

    @Test("repeated header fields are all written, in order")
    func repeatedFields() {
        let response = Response(headers: HTTPHeaders([("Vary", "Origin"), ("Vary", "Accept")]), body: Array("x".utf8))
        #expect(encoded(response) == "Status: 200 OK\r\nVary: Origin\r\nVary: Accept\r\nContent-Length: 1\r\n\r\nx")
    }

    @Test("CR, LF and NUL are stripped from names and values, so nothing can split the header block")
    func headerInjection() {
        let response = Response(
            headers: HTTPHeaders([
                ("X-Evil", "a\r\nSet-Cookie: session=stolen\r\n\r\n<html>"), ("X-Nul", "b\u{0}c"),
                ("X-Split\r\nInjected", "v"), ("X-Bare", "d\ne\rf"),
            ]),
            body: Array("ok".utf8))
        let bytes = CGIResponse.encode(response)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(
            text
                == "Status: 200 OK\r\nX-Evil: aSet-Cookie: session=stolen<html>\r\nX-Nul: bc\r\n"
                + "X-SplitInjected: v\r\nX-Bare: def\r\nContent-Length: 2\r\n\r\nok")
        // Exactly one blank line, right before the body, and one line per field.
        let head = text.split(separator: "\r\n\r\n", maxSplits: 1, omittingEmptySubsequences: false)[0]
        #expect(head.split(separator: "\r\n").count == 6)
        #expect(!bytes.contains(0))
    }

    @Test("the body is written byte for byte, even when it is not UTF-8")
    func binaryBody() {
        let body: [UInt8] = [0x00, 0xFF, 0x0D, 0x0A, 0x80]
        let bytes = CGIResponse.encode(Response(body: body))
        #expect(Array(bytes.suffix(5)) == body)
        #expect(String(decoding: bytes.dropLast(5), as: UTF8.self) == "Status: 200 OK\r\nContent-Length: 5\r\n\r\n")
    }
}

/// The encoder as it was, appending piece by piece, kept to check the pointer writer against.
private func referenceEncode(_ response: Response) -> [UInt8] {
    func sanitised(_ text: String) -> [UInt8] { text.utf8.filter { $0 != 0x0D && $0 != 0x0A && $0 != 0 } }
    var out = Array("Status: \(response.status.code) ".utf8) + sanitised(response.status.reasonPhrase) + [0x0D, 0x0A]
    var hasLength = false
    for field in response.headers {
        if HTTPHeaders.namesMatch(field.name, "Content-Length") { hasLength = true }
        out += sanitised(field.name) + Array(": ".utf8) + sanitised(field.value) + [0x0D, 0x0A]
    }
    if !hasLength { out += Array("Content-Length: \(response.body.count)\r\n".utf8) }
    return out + [0x0D, 0x0A] + response.body
}

@Suite("CGI response writer")
struct CGIResponseWriterTests {
    @Test("the pointer writer gives the bytes of the piece-by-piece encoder")
    func sameAsReference() {
        let bodies: [[UInt8]] = [
            [], Array("{\"message\": \"Hello, World!\"}".utf8), [UInt8](repeating: 0x61, count: 70000),
        ]
        let headerSets: [HTTPHeaders] = [
            [:],
            ["Content-Type": "application/json", "X-Request-Id": "4f0c8d2e9b7a61c35e0f9a8b7c6d5e4f"],
            ["X-RateLimit-Limit": "100000000", "X-RateLimit-Remaining": "99999999", "X-RateLimit-Reset": "1800000000"],
            ["CONTENT-LENGTH": "7", "X-Evil": "a\r\nSet-Cookie: x=1\u{0}", "Caf\u{E9}\n": "\u{1F600} \r"],
            ["": "", "X-Long": String(repeating: "v", count: 5000)],
        ]
        let numbers: [(Int64, Int64, Int64)] = [(0, 0, 0), (100_000_000, 99_999_999, 1_800_000_000), (.max, -1, .min)]
        let numericSets: [HTTPHeaders] =
            numbers
            .flatMap { limit, remaining, reset in
                var atEnd: HTTPHeaders = ["Content-Type": "application/json"]
                atEnd.setRateLimit(limit: limit, remaining: remaining, reset: reset)
                var between = atEnd
                between.add(name: "X-Request-Id", value: "abc")
                var first = HTTPHeaders()
                first.setRateLimit(limit: limit, remaining: remaining, reset: reset)
                first.add(name: "Content-Length", value: "3")
                var alone = HTTPHeaders()
                alone.setRateLimit(limit: limit, remaining: remaining, reset: reset)
                return [atEnd, between, first, alone]
            }
        let statuses = [
            HTTPStatus.ok, .created, .noContent, .tooManyRequests, HTTPStatus(code: 299), HTTPStatus(code: 7),
        ]
        for body in bodies {
            for headers in headerSets + numericSets {
                for status in statuses {
                    let response = Response(status: status, headers: headers, body: body)
                    #expect(CGIResponse.encode(response) == referenceEncode(response))
                }
            }
        }
    }
}

@Suite("CGI response sanitising")
struct CGIResponseSanitisingTests {
    @Test("a CR, LF or NUL is found at any place of any length, eight bytes at a time or not")
    func breakingBytes() {
        for length in 0...33 {
            let clean = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            #expect(!clean.withUnsafeBufferPointer(CGIResponse.Writer.hasBreaking), "\(length)")
            for place in 0..<length {
                for byte: UInt8 in [0x0D, 0x0A, 0] {
                    var bytes = clean
                    bytes[place] = byte
                    #expect(bytes.withUnsafeBufferPointer(CGIResponse.Writer.hasBreaking), "\(length) \(place) \(byte)")
                    let value = String(decoding: bytes, as: UTF8.self)
                    let encoded = CGIResponse.encode(Response(status: .ok, headers: ["X-Value": value]))
                    #expect(
                        String(decoding: encoded, as: UTF8.self).hasPrefix(
                            "Status: 200 OK\r\nX-Value: \(String(repeating: "a", count: length - 1))\r\n"))
                }
            }
        }
        // Bytes next to the three, and high bytes, are not taken for them.
        for byte: UInt8 in [0x01, 0x0B, 0x0C, 0x0E, 0x09, 0x80, 0x8D, 0x8A, 0xFF] {
            let bytes = [UInt8](repeating: byte, count: 17)
            #expect(!bytes.withUnsafeBufferPointer(CGIResponse.Writer.hasBreaking), "\(byte)")
        }
    }
}
