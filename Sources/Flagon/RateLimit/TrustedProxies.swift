// The client address a rate limit counts: REMOTE_ADDR, or X-Forwarded-For behind trusted proxies.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 network such as `10.0.0.0/8` or `fd00::/8`; a bare address is a /32 or /128.
public struct IPNetwork: Sendable, Hashable {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    public let prefixLength: Int

    /// Parses CIDR notation; nil if malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPNetwork.address(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var length = bits
        if parts.count == 2 {
            guard let declared = Int(parts[1]), (0...bits).contains(declared) else { return nil }
            length = declared
        }
        bytes = address
        prefixLength = length
    }

    /// Whether an address (text) lies in this network. IPv4-mapped IPv6 addresses count as IPv4.
    public func contains(_ address: String) -> Bool {
        guard let other = IPNetwork.address(address) else { return false }
        return contains(bytes: other)
    }

    func contains(bytes other: [UInt8]) -> Bool {
        guard other.count == bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(bytes, other) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            guard a & mask == b & mask else { return false }
            remaining -= 8
        }
        return true
    }

    /// The bytes of an IPv4 or IPv6 address, IPv4-mapped IPv6 reduced to IPv4; nil if not an address.
    static func address(_ text: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 16)
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard inet_pton(AF_INET6, text, &buffer) == 1 else { return nil }
            if buffer[0..<10].allSatisfy({ $0 == 0 }) && buffer[10] == 0xFF && buffer[11] == 0xFF {
                return Array(buffer[12..<16])
            }
            return buffer
        }
        guard inet_pton(AF_INET, text, &buffer) == 1 else { return nil }
        return Array(buffer[0..<4])
    }

    /// The canonical text of 4 or 16 address bytes (RFC 5952 for IPv6, as inet_ntop writes it).
    static func format(_ bytes: [UInt8]) -> String? {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count))
        }
        guard written != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The proxies (`TRUSTED_PROXIES`) whose `X-Forwarded-For` entries are believed.
///
/// The client is `REMOTE_ADDR` unless that peer is a trusted proxy; then it is the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy. Entries left of it are whatever the
/// client wrote and are never used, so a client cannot choose its own key.
public struct TrustedProxies: Sendable {
    /// The IPv6 prefix length a client is counted by unless configured otherwise: one /64 is
    /// what a single subscriber or host is usually given, and can rotate addresses within.
    public static let defaultIPv6PrefixLength = 64

    public let networks: [IPNetwork]
    /// The leading bits of an IPv6 client address that make up its rate-limit key (1...128).
    public let ipv6PrefixLength: Int

    public init(networks: [IPNetwork] = [], ipv6PrefixLength: Int = defaultIPv6PrefixLength) {
        precondition((1...128).contains(ipv6PrefixLength), "the IPv6 prefix length must be 1...128")
        self.networks = networks
        self.ipv6PrefixLength = ipv6PrefixLength
    }

    /// Parses CIDRs (IPv4 and IPv6).
    /// - Throws: ``ConfigError`` naming `key` and the malformed entry.
    public init(
        _ cidrs: [String], key: String = "TRUSTED_PROXIES", ipv6PrefixLength: Int = defaultIPv6PrefixLength
    ) throws(ConfigError) {
        var networks: [IPNetwork] = []
        for cidr in cidrs {
            guard let network = IPNetwork(cidr) else {
                throw ConfigError("\(key): '\(cidr)' is not an IP address or CIDR network")
            }
            networks.append(network)
        }
        self.init(networks: networks, ipv6PrefixLength: ipv6PrefixLength)
    }

    /// The counter key of a request's client: ``clientAddress(of:)`` reduced by ``key(of:)``.
    public func clientKey(of request: Request) -> String {
        key(of: clientAddress(of: request))
    }

    /// The rate-limit key of a client address. IPv4 addresses (IPv4-mapped IPv6 included) are
    /// their canonical dotted form; IPv6 addresses are their network of ``ipv6PrefixLength``
    /// bits in canonical form with the length (`2001:db8::/64`), so a client cannot escape its
    /// limit by rotating addresses inside the prefix, nor by spelling one address another way.
    /// Anything that is not an address (a unix-socket peer) is kept as it is.
    public func key(of address: String) -> String {
        // Without a colon it is IPv4 or no address at all; either way its key is itself, since
        // inet_pton accepts only the canonical dotted quad (no leading zeros, four parts),
        // which formats back to the same text.
        guard Self.hasColon(address) else { return address }
        guard var bytes = IPNetwork.address(address) else { return address }
        if bytes.count == 4 { return IPNetwork.format(bytes) ?? address }
        var remaining = ipv6PrefixLength
        for index in bytes.indices {
            let mask: UInt8 = remaining >= 8 ? 0xFF : remaining <= 0 ? 0 : ~(0xFF >> UInt8(remaining))
            bytes[index] &= mask
            remaining -= 8
        }
        guard let text = IPNetwork.format(bytes) else { return address }
        return "\(text)/\(ipv6PrefixLength)"
    }

    /// Whether `address` has a `:`, scanned in place: a generic search over `utf8` costs
    /// hundreds of instructions for one IPv4 address, on every counted request.
    static func hasColon(_ address: String) -> Bool {
        let found = address.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.baseAddress.map { memchr($0, Int32(UInt8(ascii: ":")), bytes.count) != nil } ?? false
        }
        return found ?? address.utf8.contains(UInt8(ascii: ":"))
    }

    public func isTrusted(_ address: String) -> Bool {
        guard !networks.isEmpty, let bytes = IPNetwork.address(address) else { return false }
        return networks.contains { $0.contains(bytes: bytes) }
    }

    /// The address a request's rate limits count against.
    public func clientAddress(of request: Request) -> String {
        guard !networks.isEmpty else { return request.remoteAddress }
        return clientAddress(
            remoteAddress: request.remoteAddress, forwardedFor: request.headers.values(for: "X-Forwarded-For"))
    }

    /// The address to count: see the type's description.
    public func clientAddress(remoteAddress: String, forwardedFor: [String]) -> String {
        guard !networks.isEmpty, isTrusted(remoteAddress) else { return remoteAddress }
        let entries = forwardedFor.flatMap { $0.split(separator: ",") }.map { String($0).trimmed }
            .filter { !$0.isEmpty }
        for entry in entries.reversed() where !isTrusted(entry) { return entry }
        // Every hop is a trusted proxy: the request came from inside; the left-most is the origin.
        return entries.first ?? remoteAddress
    }
}
