// Who may connect to a TCP listener: FCGI_WEB_SERVER_ADDRS over IPv4 and IPv6, loopback, refusals.

import Testing

@testable import FastCGI

#if canImport(Glibc)
    import Glibc
#endif

@Suite("FastCGI peer policy")
struct PeerPolicyTests {
    private func address(_ text: String) -> IPAddress { IPAddress(text)! }

    @Test("IPv4, IPv6 and IPv4-mapped IPv6 addresses; mapped ones are IPv4")
    func addresses() {
        #expect(address("127.0.0.2").isIPv4)
        #expect(address("::ffff:10.1.2.3") == address("10.1.2.3"))
        #expect(address("::ffff:10.1.2.3").description == "10.1.2.3")
        #expect(address("2001:db8::1").description == "2001:db8::1")
        #expect(address("127.9.9.9").isLoopback)
        #expect(address("::1").isLoopback)
        #expect(address("::ffff:127.0.0.1").isLoopback)
        #expect(!address("10.0.0.1").isLoopback)
        #expect(!address("::").isLoopback)
        #expect(!address("::2").isLoopback)
        #expect(IPAddress("localhost") == nil)
        #expect(IPAddress("[::1]") == nil)
    }

    @Test("a listed address, IPv4 or IPv6, with or without CIDR, matches only itself or its block")
    func listed() throws {
        let policy = try PeerPolicy.tcp(
            listeningOn: address("0.0.0.0"), webServers: " 10.0.0.5, 192.168.1.0/24,fd00::/8 , 2001:db8::7")
        #expect(policy.allows(address("10.0.0.5")))
        #expect(policy.allows(address("::ffff:10.0.0.5")))
        #expect(!policy.allows(address("10.0.0.6")))
        #expect(policy.allows(address("192.168.1.77")))
        #expect(!policy.allows(address("192.168.2.1")))
        #expect(policy.allows(address("fd12:3456::1")))
        #expect(!policy.allows(address("fe80::1")))
        #expect(policy.allows(address("2001:db8::7")))
        #expect(!policy.allows(address("2001:db8::8")))
        #expect(!policy.allows(address("127.0.0.1")), "a list replaces the loopback default")
        #expect(!policy.allows(nil))
    }

    @Test("a /0 block allows every address of its family only")
    func wholeFamily() throws {
        let policy = try PeerPolicy.tcp(listeningOn: address("::"), webServers: "0.0.0.0/0")
        #expect(policy.allows(address("203.0.113.9")))
        #expect(!policy.allows(address("2001:db8::1")))
    }

    @Test("loopback without a list (unset or empty) accepts loopback peers only")
    func loopbackDefault() throws {
        for webServers in [nil, "", " , "] as [String?] {
            for local in ["127.0.0.1", "::1"] {
                let policy = try PeerPolicy.tcp(listeningOn: address(local), webServers: webServers)
                #expect(policy.allows(address("127.0.0.1")))
                #expect(policy.allows(address("127.0.0.2")))
                #expect(policy.allows(address("::1")))
                #expect(policy.allows(address("::ffff:127.0.0.1")))
                #expect(!policy.allows(address("10.0.0.1")))
                #expect(!policy.allows(address("2001:db8::1")))
                #expect(!policy.allows(address("::ffff:10.0.0.1")))
            }
        }
    }

    @Test("off loopback, no list, an empty list or a malformed entry refuses to start")
    func refusals() {
        for local in ["0.0.0.0", "10.0.0.1", "::", "2001:db8::1", "::ffff:10.0.0.1"] {
            for webServers in [nil, "", ",", "  "] as [String?] {
                #expect(throws: PeerPolicy.Refusal.self) {
                    try PeerPolicy.tcp(listeningOn: address(local), webServers: webServers)
                }
            }
        }
        for bad in ["10.0.0.1/33", "10.0.0.300", "web.internal", "::1/129", "10.0.0.1/x"] {
            #expect(throws: PeerPolicy.Refusal.self) {
                try PeerPolicy.tcp(listeningOn: address("127.0.0.1"), webServers: bad)
            }
        }
    }

    @Test("the policy of an open socket comes from its own address: unix, loopback, wildcard")
    func fromSocket() throws {
        let unixSocket = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(unixSocket) }
        #expect(try PeerPolicy.forSocket(unixSocket, webServers: nil) == .unixSocket)

        let loopback = try boundSocket("127.0.0.1")
        defer { close(loopback) }
        let policy = try PeerPolicy.forSocket(loopback, webServers: nil)
        #expect(policy.allows(address("127.0.0.1")) && !policy.allows(address("10.0.0.1")))

        // Bound, never listening: nothing can connect to it.
        let wildcard = try boundSocket("0.0.0.0")
        defer { close(wildcard) }
        #expect(throws: PeerPolicy.Refusal.self) { try PeerPolicy.forSocket(wildcard, webServers: "") }
        #expect(try PeerPolicy.forSocket(wildcard, webServers: "10.0.0.5").allows(address("10.0.0.5")))

        let pipeEnds = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        defer { pipeEnds.deallocate() }
        #expect(pipe(pipeEnds) == 0)
        defer {
            close(pipeEnds[0])
            close(pipeEnds[1])
        }
        #expect(throws: PeerPolicy.Refusal.self) { try PeerPolicy.forSocket(pipeEnds[0], webServers: nil) }
    }

    @Test("--bind parses IPv4 and bracketed IPv6, and nothing else")
    func bindSyntax() {
        #expect(ListenAddress.parseBind("127.0.0.1:9000") == .tcp(host: "127.0.0.1", port: 9000))
        #expect(ListenAddress.parseBind("[::1]:9000") == .tcp(host: "::1", port: 9000))
        #expect(ListenAddress.parseBind("[::1]:9000")?.description == "[::1]:9000")
        #expect(ListenAddress.parseBind("::1:9000") == nil)
        #expect(ListenAddress.parseBind("[127.0.0.1]:9000") == nil)
        #expect(ListenAddress.parseBind("localhost:9000") == nil)
        #expect(ListenAddress.parseBind("127.0.0.1:70000") == nil)
        #expect(ListenAddress.parseBind("127.0.0.1") == nil)
    }

    private func boundSocket(_ host: String) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(bound == 0)
        return fd
    }
}
