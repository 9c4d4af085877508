// The logfmt line: its exact bytes, through swift-log and through the access log's direct path.

import Logging
import Testing

@testable import Flagon

@Suite("Logfmt lines")
struct LogfmtTests {
    static let handler = LogfmtLogHandler(label: "tasks-api")

    /// The access log's fields, as swift-log metadata.
    static func event(path: String, id: String = "5f0c8e0d3b6a4e67a1c2d9f0b8e7a6c5") -> LogEvent {
        LogEvent(
            level: .info, message: "request",
            metadata: [
                "method": "GET", "path": .string(path), "status": "200", "duration_ms": "1.042",
                "request_id": .string(id), "remote_addr": "127.0.0.1",
            ],
            source: nil, file: #fileID, function: #function, line: #line)
    }

    /// The same fields through the direct path, in key order.
    static func direct(path: String, id: String = "5f0c8e0d3b6a4e67a1c2d9f0b8e7a6c5", micros: UInt64 = 1042) -> String {
        let bytes = handler.renderLine(
            level: .info, message: "request", seconds: 1_795_590_000, milliseconds: 42, pid: 4242
        ) { fields in
            fields.append("duration_ms", milliseconds: micros)
            fields.append("method", "GET")
            fields.append("path", path)
            fields.append("remote_addr", "127.0.0.1")
            fields.append("request_id", id)
            fields.append("status", 200)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func throughSwiftLog(_ event: LogEvent) -> String {
        String(
            decoding: handler.render(event: event, seconds: 1_795_590_000, milliseconds: 42, pid: 4242), as: UTF8.self)
    }

    @Test("a line has the timestamp, level, logger, pid, message and the fields in key order")
    func exactLine() {
        #expect(
            Self.throughSwiftLog(Self.event(path: "/api/hello"))
                == "ts=2026-11-25T07:00:00.042Z level=info logger=tasks-api pid=4242 msg=request duration_ms=1.042 "
                + "method=GET path=/api/hello remote_addr=127.0.0.1 request_id=5f0c8e0d3b6a4e67a1c2d9f0b8e7a6c5 "
                + "status=200\n")
    }

    @Test(
        "the direct path writes the bytes swift-log's path writes",
        arguments: [
            "/api/hello", "/a b", "/quote\"d", "/back\\slash", "/x=y", "/tab\there", "/nl\nand\rcr", "/nul\u{0}",
            "/bell\u{7}", "/\u{1F}", "/del\u{7F}", "/caf\u{E9}", "/\u{1F600}", "", " ",
        ])
    func directMatchesSwiftLog(path: String) {
        #expect(Self.direct(path: path) == Self.throughSwiftLog(Self.event(path: path)))
    }

    @Test("values are quoted and escaped only when they must be")
    func escaping() {
        let line = Self.direct(path: "/a \"b\"\\\n\u{1}é", id: "")
        #expect(line.contains(#" path="/a \"b\"\\\n\u{1}é" "#))
        #expect(line.contains(#" request_id="" "#))
        #expect(Self.direct(path: "/é").contains(" path=/é "))
    }

    @Test(
        "durations are milliseconds with three decimals",
        arguments: [(0, "0.000"), (7, "0.007"), (42, "0.042"), (999, "0.999"), (1000, "1.000"), (123_456, "123.456")]
            as [(UInt64, String)])
    func durations(micros: UInt64, text: String) {
        #expect(Self.direct(path: "/", micros: micros).contains(" duration_ms=\(text) "))
    }

    @Test("the access log writes directly only through a logfmt handler without metadata of its own")
    func directOnlyWhenPlain() {
        #expect(AccessLogMiddleware(logger: Logger(label: "t") { LogfmtLogHandler(label: $0) }).logfmt != nil)
        var tagged = LogfmtLogHandler(label: "t")
        tagged.metadata["worker"] = "1"
        #expect(AccessLogMiddleware(logger: Logger(label: "t") { _ in tagged }).logfmt == nil)
        #expect(AccessLogMiddleware(logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }).logfmt == nil)
    }
}
