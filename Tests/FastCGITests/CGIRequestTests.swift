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
