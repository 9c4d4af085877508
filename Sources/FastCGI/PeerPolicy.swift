// Which peers may speak FastCGI to a TCP listener: FCGI_WEB_SERVER_ADDRS, or loopback only.

#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 address. IPv4 is held as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so a
/// peer that reaches an IPv6 socket over IPv4 is matched exactly like an IPv4 peer.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes of the (mapped) IPv6 address, in network order.
    public let bytes: [UInt8]

    private static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

    init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.bytes = bytes
    }

    /// Parses dotted IPv4 or textual IPv6 (no brackets, no zone).
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(v4)
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        self.init(v6)
    }

    init(_ address: in_addr) {
        self.init(bytes: Self.mappedPrefix + withUnsafeBytes(of: address) { Array($0) })
    }

    init(_ address: in6_addr) {
        self.init(bytes: withUnsafeBytes(of: address) { Array($0) })
    }

    /// The address of an `AF_INET` or `AF_INET6` socket address; nil for any other family.
    init?(_ address: UnsafeRawPointer) {
        switch Int32(address.load(as: sockaddr.self).sa_family) {
        case AF_INET: self.init(address.load(as: sockaddr_in.self).sin_addr)
        case AF_INET6: self.init(address.load(as: sockaddr_in6.self).sin6_addr)
        default: return nil
        }
    }

    public var isIPv4: Bool { bytes.starts(with: Self.mappedPrefix) }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        isIPv4 ? bytes[12] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if isIPv4 {
            var v4 = in_addr()
            withUnsafeMutableBytes(of: &v4) { $0.copyBytes(from: bytes[12...]) }
            inet_ntop(AF_INET, &v4, &buffer, socklen_t(buffer.count))
        } else {
            var v6 = in6_addr()
            withUnsafeMutableBytes(of: &v6) { $0.copyBytes(from: bytes) }
            inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count))
        }
        return String(cString: buffer)
    }
}

/// An address with an optional CIDR prefix (`10.0.0.5`, `10.0.0.0/24`, `fd00::/8`).
struct AddressRange: Equatable, Sendable {
    let base: IPAddress
    /// Prefix length over the 128 bits of the (mapped) address.
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let base = IPAddress(String(parts[0])) else { return nil }
        let width = base.isIPv4 ? 32 : 128
        var length = width
        if parts.count == 2 {
            guard let given = Int(parts[1]), given >= 0, given <= width else { return nil }
            length = given
        }
        self.base = base
        prefix = length + (128 - width)
    }

    func contains(_ address: IPAddress) -> Bool {
        var bits = prefix
        for index in 0..<16 where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xff : ~(0xff >> UInt8(bits))
            if (address.bytes[index] ^ base.bytes[index]) & mask != 0 { return false }
            bits -= 8
        }
        return true
    }
}

/// The peers a worker accepts FastCGI from.
///
/// libfcgi's own check reads `FCGI_WEB_SERVER_ADDRS` but applies it to IPv4 peers only,
/// and treats an empty list as "allow all". Here an IPv6 listener is checked too, an
/// empty list means none, and a listener off loopback without a list does not start.
public struct PeerPolicy: Equatable, Sendable, CustomStringConvertible {
    enum Rule: Equatable, Sendable {
        /// A unix socket: its file's mode and group decide who connects.
        case anyone
        /// A loopback TCP listener without a list: this host only.
        case loopback
        /// `FCGI_WEB_SERVER_ADDRS`.
        case listed([AddressRange])
    }

    let rule: Rule

    public static let unixSocket = PeerPolicy(rule: .anyone)

    /// The name of the environment variable that lists the allowed web servers.
    public static let environmentKey = "FCGI_WEB_SERVER_ADDRS"

    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// The policy for a TCP listener on `local`.
    /// - Parameters:
    ///   - webServers: the value of `FCGI_WEB_SERVER_ADDRS` (comma separated addresses,
    ///     CIDR allowed), or nil when unset.
    /// - Throws: ``Refusal`` off loopback without a listed address, or on a malformed entry.
    public static func tcp(listeningOn local: IPAddress, webServers: String?) throws -> PeerPolicy {
        var ranges: [AddressRange] = []
        for entry in (webServers ?? "").split(separator: ",") {
            let text = entry.trimmingSpaces
            if text.isEmpty { continue }
            guard let range = AddressRange(text) else {
                throw Refusal(description: "\(environmentKey): '\(text)' is not an IP address or CIDR block")
            }
            ranges.append(range)
        }
        if !ranges.isEmpty { return PeerPolicy(rule: .listed(ranges)) }
        guard local.isLoopback else {
            throw Refusal(
                description:
                    "refusing to listen for FastCGI on \(local) without \(environmentKey) naming the web servers allowed to connect"
            )
        }
        return PeerPolicy(rule: .loopback)
    }

    /// The policy for an open listening socket (systemd's, or fd 0 from spawn-fcgi or the master).
    public static func forSocket(_ fd: Int32, webServers: String?) throws -> PeerPolicy {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            throw Refusal(description: "fd \(fd) is not a listening socket: \(String(cString: strerror(errno)))")
        }
        if Int32(storage.ss_family) == AF_UNIX { return .unixSocket }
        guard let local = withUnsafePointer(to: &storage, { IPAddress(UnsafeRawPointer($0)) }) else {
            throw Refusal(description: "fd \(fd) is neither a unix nor an IP socket")
        }
        return try tcp(listeningOn: local, webServers: webServers)
    }

    /// Whether a peer may send requests; `peer` is nil for a unix socket's peer.
    public func allows(_ peer: IPAddress?) -> Bool {
        switch rule {
        case .anyone: return true
        case .loopback: return peer?.isLoopback ?? false
        case .listed(let ranges):
            guard let peer else { return false }
            return ranges.contains { $0.contains(peer) }
        }
    }

    public var description: String {
        switch rule {
        case .anyone: return "unix socket"
        case .loopback: return "loopback only"
        case .listed(let ranges):
            return ranges.map { "\($0.base)/\($0.base.isIPv4 ? $0.prefix - 96 : $0.prefix)" }
                .joined(separator: ",")
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
