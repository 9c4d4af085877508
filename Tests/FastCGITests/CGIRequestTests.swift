// Decoding FastCGI params into a Request: target, headers, body length, CGI fallbacks.

import Flagon
import Testing

@testable import FastCGI

@Suite("CGI request decoding")
struct CGIRequestTests {
    /// Decodes params, failing the test when decoding refuses them.
    private func decode(_ params: [(String, String)]) throws -> (request: Request, contentLength: Int?) {
        CGIRequest.decode(params.map { (name: $0.0, value: $0.1) })
    }

    @Test("REQUEST_URI is split into the still-encoded path and the query")
    func requestURI() throws {
        let (request, length) = try decode([
            ("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/api/tasks/a%2Fb?page=2&q=a%20b?c"),
            ("SCRIPT_NAME", "/ignored"), ("PATH_INFO", "/also-ignored"), ("QUERY_STRING", "ignored=1"),
            ("REMOTE_ADDR", "10.1.2.3"),
        ])
        #expect(request.method == .post)
        #expect(request.path == "/api/tasks/a%2Fb")
        #expect(request.query == "page=2&q=a%20b?c")
        #expect(request.remoteAddress == "10.1.2.3")
        #expect(request.body.isEmpty)
        #expect(length == nil)
    }

    @Test("a REQUEST_URI without a query has an empty query")
    func requestURIWithoutQuery() throws {
        let (request, _) = try decode([("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/healthz")])
        #expect(request.path == "/healthz")
        #expect(request.query == "")
    }

    // Found by the cgi-params fuzz target: a raw peer without REQUEST_URI made a relative path.
    @Test("without a usable REQUEST_URI the path is still absolute")
    func relativeFallbackPath() throws {
        #expect(try decode([("SCRIPT_NAME", "x"), ("PATH_INFO", "/api/tasks")]).request.path == "/x/api/tasks")
        #expect(try decode([("REQUEST_URI", "api"), ("PATH_INFO", "hello")]).request.path == "/hello")
        #expect(try decode([("SCRIPT_NAME", "/api"), ("PATH_INFO", "/hello")]).request.path == "/api/hello")
        #expect(try decode([]).request.path == "/")
    }

    @Test("the method is kept verbatim and defaults to GET")
    func method() throws {
        #expect(try decode([("REQUEST_METHOD", "PATCH"), ("REQUEST_URI", "/")]).request.method == .patch)
        #expect(try decode([("REQUEST_METHOD", "BREW"), ("REQUEST_URI", "/")]).request.method.rawValue == "BREW")
        #expect(try decode([("REQUEST_URI", "/")]).request.method == .get)
    }

    @Test("HTTP_* params become header fields with their usual names")
    func httpHeaders() throws {
        let (request, _) = try decode([
            ("REQUEST_URI", "/"), ("HTTP_X_REQUEST_ID", "abc-123"), ("HTTP_ACCEPT", "application/json"),
            ("HTTP_USER_AGENT", "curl/8.5"), ("HTTP_X_REPLIT_USER_ID", "42"), ("HTTP_AUTHORIZATION", "Bearer t"),
            ("HTTP_IF_NONE_MATCH", "\"v1\""),
        ])
        #expect(
            request.headers.map(\.name) == [
                "X-Request-Id", "Accept", "User-Agent", "X-Replit-User-Id", "Authorization", "If-None-Match",
            ])
        #expect(request.headers["X-Request-Id"] == "abc-123")
        #expect(request.headers["authorization"] == "Bearer t")
        #expect(request.headers["If-None-Match"] == "\"v1\"")
    }

    @Test("header names are derived word by word")
    func headerNames() {
        #expect(CGIRequest.headerName(fromParam: "HTTP_X_REQUEST_ID") == "X-Request-Id")
        #expect(CGIRequest.headerName(fromParam: "HTTP_HOST") == "Host")
        #expect(CGIRequest.headerName(fromParam: "HTTP_X_FORWARDED_FOR") == "X-Forwarded-For")
        #expect(
            CGIRequest.headerName(fromParam: "HTTP_ACCESS_CONTROL_REQUEST_METHOD")
                == "Access-Control-Request-Method")
    }

    @Test("empty HTTP_* values are treated as absent")
    func emptyHeadersAbsent() throws {
        let (request, _) = try decode([
            ("REQUEST_URI", "/"), ("HTTP_X_REPLIT_USER_ID", ""), ("HTTP_X_REPLIT_USER_NAME", ""),
            ("HTTP_PROXY", ""), ("HTTP_ACCEPT", "*/*"),
        ])
        #expect(request.headers.map(\.name) == ["Accept"])
        #expect(!request.headers.contains("X-Replit-User-Id"))
        #expect(!request.headers.contains("Proxy"))
    }

    @Test("repeated header params keep every value in order")
    func repeatedHeaders() throws {
        let (request, _) = try decode([("REQUEST_URI", "/"), ("HTTP_X_A", "1"), ("HTTP_X_A", "2")])
        #expect(request.headers.values(for: "X-A") == ["1", "2"])
    }

    @Test("CONTENT_TYPE and CONTENT_LENGTH become headers and the declared length")
    func contentParams() throws {
        let (request, length) = try decode([
            ("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/api/tasks"), ("CONTENT_TYPE", "application/json"),
            ("CONTENT_LENGTH", "42"),
        ])
        #expect(length == 42)
        #expect(request.headers["Content-Type"] == "application/json")
        #expect(request.headers["Content-Length"] == "42")
    }

    @Test("nginx's HTTP_CONTENT_* copies do not duplicate the CGI fields")
    func httpContentCopies() throws {
        let (request, length) = try decode([
            ("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/api/tasks"), ("CONTENT_TYPE", "application/json"),
            ("CONTENT_LENGTH", "17"), ("HTTP_CONTENT_TYPE", "application/json"), ("HTTP_CONTENT_LENGTH", "17"),
        ])
        #expect(length == 17)
        #expect(request.headers.values(for: "Content-Type") == ["application/json"])
        #expect(request.headers.values(for: "Content-Length") == ["17"])
    }

    @Test("empty CONTENT_TYPE and CONTENT_LENGTH are absent")
    func emptyContentParams() throws {
        let (request, length) = try decode([("REQUEST_URI", "/"), ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", "")])
        #expect(length == nil)
        #expect(request.headers.count == 0)
    }

    @Test("CONTENT_LENGTH 0 is a declared empty body")
    func zeroLength() throws {
        let (request, length) = try decode([("REQUEST_URI", "/"), ("CONTENT_LENGTH", "0")])
        #expect(length == 0)
        #expect(request.headers["Content-Length"] == "0")
    }

    @Test(
        "a CONTENT_LENGTH that is not a non-negative number refuses the request",
        arguments: ["abc", "-1", "1.5", " 5", "5 ", "0x10", "99999999999999999999999"])
    func badContentLength(value: String) {
        let (request, length) = CGIRequest.decode([
            ("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/api/tasks"), ("CONTENT_LENGTH", value),
        ])
        #expect(length == nil)
        #expect(request.transportError?.status == .badRequest)
        #expect(request.transportError?.message == "The Content-Length is not a number.")
        // Answered and logged under the real method and path.
        #expect(request.method == .post)
        #expect(request.path == "/api/tasks")
    }

    @Test("without REQUEST_URI the target is SCRIPT_NAME + PATH_INFO + QUERY_STRING")
    func scriptNameFallback() throws {
        let (request, _) = try decode([
            ("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", "/api"), ("PATH_INFO", "/hello"), ("QUERY_STRING", "x=1&y=2"),
        ])
        #expect(request.path == "/api/hello")
        #expect(request.query == "x=1&y=2")
    }

    @Test("the fallback works with PATH_INFO or SCRIPT_NAME alone, and defaults to /")
    func fallbackParts() throws {
        #expect(try decode([("PATH_INFO", "/healthz")]).request.path == "/healthz")
        #expect(try decode([("SCRIPT_NAME", "/healthz")]).request.path == "/healthz")
        let empty = try decode([])
        #expect(empty.request.path == "/")
        #expect(empty.request.query == "")
        #expect(empty.request.remoteAddress == "")
    }

    @Test("a REQUEST_URI that is not a path falls back to the CGI parts")
    func nonPathRequestURI() throws {
        let (request, _) = try decode([
            ("REQUEST_URI", "http://example.com/x?y=1"), ("SCRIPT_NAME", "/x"), ("QUERY_STRING", "y=1"),
        ])
        #expect(request.path == "/x")
        #expect(request.query == "y=1")
        #expect(try decode([("REQUEST_URI", "*"), ("PATH_INFO", "/")]).request.path == "/")
    }
}

/// The decoder as it was over `String` params, kept to check that the byte decoder gives
/// the same requests.
private func referenceDecode(_ params: [(name: String, value: String)]) -> (request: Request, contentLength: Int?) {
    var method = HTTPMethod.get
    var requestURI: String?
    var scriptName = ""
    var pathInfo = ""
    var queryString = ""
    var remoteAddress = ""
    var proxyRequestID = ""
    var headers = HTTPHeaders()
    var contentLength: Int?
    var badLength = false
    for (name, value) in params {
        if name.utf8.count > 5 && name.hasPrefix("HTTP_") {
            guard !value.isEmpty else { continue }
            guard name != "HTTP_CONTENT_TYPE", name != "HTTP_CONTENT_LENGTH" else { continue }
            var bytes: [UInt8] = []
            var startOfWord = true
            for byte in name.utf8.dropFirst(5) {
                if byte == UInt8(ascii: "_") {
                    bytes.append(UInt8(ascii: "-"))
                    startOfWord = true
                    continue
                }
                let isUpper = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
                bytes.append(!startOfWord && isUpper ? byte | 0x20 : byte)
                startOfWord = false
            }
            headers.add(name: String(decoding: bytes, as: UTF8.self), value: value)
            continue
        }
        switch name {
        case "REQUEST_METHOD": method = HTTPMethod(value)
        case "REQUEST_URI": requestURI = value
        case "SCRIPT_NAME": scriptName = value
        case "PATH_INFO": pathInfo = value
        case "QUERY_STRING": queryString = value
        case "REMOTE_ADDR": remoteAddress = value
        case "REQUEST_ID":
            if (1...128).contains(value.utf8.count)
                && value.utf8.allSatisfy({ byte in
                    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                        || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "._-".utf8.contains(byte)
                })
            {
                proxyRequestID = value
            }
        case "CONTENT_TYPE": if !value.isEmpty { headers.add(name: "Content-Type", value: value) }
        case "CONTENT_LENGTH":
            if value.isEmpty { break }
            if let length = Int(value), length >= 0 {
                contentLength = length
                headers.add(name: "Content-Length", value: value)
            } else {
                badLength = true
            }
        default: break
        }
    }
    var request: Request
    if let requestURI, requestURI.hasPrefix("/") {
        request = Request(method: method, target: requestURI, headers: headers, remoteAddress: remoteAddress)
    } else {
        let path = scriptName + pathInfo
        request = Request(
            method: method, path: path.hasPrefix("/") ? path : "/" + path, query: queryString, headers: headers,
            remoteAddress: remoteAddress)
    }
    request.id = proxyRequestID
    if badLength { request.transportError = HTTPError(.badRequest, message: "The Content-Length is not a number.") }
    return (request, contentLength)
}

@Suite("CGI byte decoder")
struct CGIByteDecoderTests {
    /// What a decoded request shows the application, as one comparable text.
    private func shown(_ decoded: (request: Request, contentLength: Int?)) -> String {
        let request = decoded.request
        let headers = request.headers.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
        return [
            request.method.rawValue, request.path, request.query, headers, request.remoteAddress, request.id,
            request.transportError?.message ?? "-", decoded.contentLength.map(String.init) ?? "nil",
        ].joined(separator: "\n")
    }

    /// Params as nginx/fastcgi.conf sends them, with `extra` after.
    private func nginx(
        _ extra: [(String, String)] = [], method: String = "GET", uri: String = "/api/hello"
    )
        -> [(name: String, value: String)]
    {
        let base: [(String, String)] = [
            ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "nginx"), ("REQUEST_METHOD", method),
            ("REQUEST_URI", uri), ("QUERY_STRING", ""), ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""),
            ("SCRIPT_NAME", ""), ("PATH_INFO", uri), ("DOCUMENT_URI", uri), ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("REQUEST_SCHEME", "http"), ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "51234"),
            ("SERVER_ADDR", "127.0.0.1"), ("SERVER_PORT", "8080"), ("SERVER_NAME", "localhost"),
            ("REQUEST_ID", "4f0c8d2e9b7a61c35e0f9a8b7c6d5e4f"), ("HTTP_HOST", "127.0.0.1:8080"),
        ]
        return (base + extra).map { (name: $0.0, value: $0.1) }
    }

    @Test("the byte decoder gives the same request as the String decoder it replaced")
    func sameAsStringDecoder() {
        let cases: [[(name: String, value: String)]] = [
            nginx(),
            nginx([("HTTP_AUTHORIZATION", "Bearer a.b.c"), ("HTTP_X_REQUEST_ID", "client-1")], uri: "/api/protected"),
            nginx(
                [
                    ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "75"), ("HTTP_CONTENT_TYPE", "text/x"),
                    ("HTTP_CONTENT_LENGTH", "9"),
                ], method: "POST", uri: "/api/tasks?x=1&y=%20"),
            nginx([("CONTENT_LENGTH", "-1")], method: "POST"),
            nginx([("CONTENT_LENGTH", "+5")], method: "POST"),
            nginx([("REQUEST_ID", "")]), nginx([("REQUEST_ID", "bad id")]), nginx([("REQUEST_ID", "caf\u{E9}")]),
            nginx([("REQUEST_ID", String(repeating: "a", count: 129))]),
            nginx([
                ("HTTP_PROXY", ""), ("HTTP_", "x"), ("HTTP", "y"), ("HTTP_X__DOUBLE_", "z"),
                ("HTTP_\u{E9}T\u{C9}", "w"),
            ]),
            nginx([("HTTP_ACCEPT_LANGUAGE", "de-CH, fr;q=0.9"), ("HTTP_ACCEPT_LANGUAGE", "en")]),
            [("SCRIPT_NAME", "/api"), ("PATH_INFO", "/hello"), ("QUERY_STRING", "a=1")],
            [("REQUEST_URI", "*"), ("PATH_INFO", "x")], [], [("", ""), ("=", "=")],
        ]
        for params in cases {
            #expect(shown(CGIRequest.decode(params)) == shown(referenceDecode(params)))
        }
    }

    @Test("header names from param bytes: every letter after the first of a word in lower case")
    func headerNamesFromBytes() {
        for name in [
            "HTTP_X_REQUEST_ID", "HTTP_HOST", "HTTP_", "HTTP", "HTTP_A", "HTTP__X_", "HTTP_X_\u{C9}T\u{C9}",
            "HTTP_LONG_NAME_OF_A_HEADER_PAST_SMALL",
        ] {
            var reference: [UInt8] = []
            var startOfWord = true
            for byte in name.utf8.dropFirst(5) {
                if byte == UInt8(ascii: "_") {
                    reference.append(UInt8(ascii: "-"))
                    startOfWord = true
                    continue
                }
                let isUpper = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
                reference.append(!startOfWord && isUpper ? byte | 0x20 : byte)
                startOfWord = false
            }
            #expect(CGIRequest.headerName(fromParam: name) == String(decoding: reference, as: UTF8.self), "\(name)")
        }
    }
}

@Suite("CGI param selection")
struct CGIParamSelectionTests {
    private func needed(_ name: String) -> Bool {
        Array(name.utf8).withUnsafeBufferPointer { CGIRequest.isNeeded($0) }
    }

    @Test("headers and the CGI variables the decoder reads are copied; the rest is skipped")
    func selection() {
        for name in [
            "HTTP_HOST", "HTTP_X_REQUEST_ID", "REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO",
            "QUERY_STRING", "REMOTE_ADDR", "CONTENT_TYPE", "CONTENT_LENGTH",
        ] {
            #expect(needed(name), "\(name)")
        }
        for name in ["SERVER_SOFTWARE", "DOCUMENT_URI", "REMOTE_PORT", "HTTP_", "HTTP", "REQUEST_URIX", "CONTENT"] {
            #expect(!needed(name), "\(name)")
        }
    }
}
