// Other real FastCGI peers: spawn-fcgi's workers behind nginx, and cgi-fcgi on the socket.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("FastCGI peers", .serialized)
struct FastCGIClientsTests {
    @Test("spawn-fcgi -F 2 workers serve /api/hello through nginx")
    func spawnFCGI() throws {
        let service = try LiveService.start(.spawnFCGI(workers: 2))
        defer { service.stop() }
        #expect(service.workerPIDs().count == 2)
        for _ in 0..<10 {
            let response = try service.client.get("/api/hello")
            #expect(response.status == 200)
            #expect(response.text == #"{"message": "Hello, World!"}"#)
        }
    }

    @Test("cgi-fcgi talks to the pool's socket directly")
    func cgiFCGI() throws {
        let service = try LiveService.start(.master(workers: 2, arguments: []))
        defer { service.stop() }
        let tool = try #require(Processes.which("cgi-fcgi"), "cgi-fcgi (libfcgi-bin) is not installed")
        var env = [
            "REQUEST_METHOD": "GET", "REQUEST_URI": "/api/hello?x=1", "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_X_REQUEST_ID": "cgi-fcgi-1",
        ]
        let hello = try Processes.run(tool, ["-bind", "-connect", service.socketPath], environment: env)
        #expect(hello.status == 0)
        #expect(hello.output.hasPrefix("Status: 200 OK\r\n"))
        #expect(hello.output.contains("Content-Type: application/json\r\n"))
        #expect(hello.output.contains("X-Request-Id: cgi-fcgi-1\r\n"))
        #expect(hello.output.hasSuffix("\r\n\r\n{\"message\": \"Hello, World!\"}"))

        env["REQUEST_URI"] = "/missing"
        let missing = try Processes.run(tool, ["-bind", "-connect", service.socketPath], environment: env)
        #expect(missing.output.hasPrefix("Status: 404 Not Found\r\n"))
        #expect(missing.output.contains(#""status": 404"#))
    }
}
