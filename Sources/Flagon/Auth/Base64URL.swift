// Base64url without padding (RFC 4648 section 5), as the compact JWS form uses it.

/// Encodes and strictly decodes base64url text without padding.
///
/// Decoding accepts only the canonical form: the 64 URL-safe characters, no `=`, no
/// whitespace, and zero bits in the unused low bits of the last character. So every token
/// has exactly one spelling and a byte flipped anywhere changes what is verified.
///
/// ```swift
/// Base64URL.encode(Array("hi".utf8))  // "aGk"
/// Base64URL.decode("aGk")             // [0x68, 0x69]
/// ```
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The base64url text of `bytes`, without padding.
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(alphabet[Int(group >> 18 & 0x3F)])
            out.append(alphabet[Int(group >> 12 & 0x3F)])
            if second != nil { out.append(alphabet[Int(group >> 6 & 0x3F)]) }
            if third != nil { out.append(alphabet[Int(group & 0x3F)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of canonical unpadded base64url text, or nil for anything else.
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        // Every token is decoded on every authenticated request: over its bytes in place.
        if let decoded = text.withContiguousStorageIfAvailable(decode(contiguous:)) { return decoded }
        return Array(text).withUnsafeBufferPointer(decode(contiguous:))
    }

    /// ``decode(_:)`` of contiguous text, four characters to three bytes at a time.
    private static func decode(contiguous text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let remainder = text.count % 4
        guard remainder != 1 else { return nil }
        let whole = text.count - remainder
        let count = whole / 4 * 3 + max(0, remainder - 1)
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            sextets.withUnsafeBufferPointer { table in
                var index = 0
                var written = 0
                while index < whole {
                    let a = table[Int(text[index])]
                    let b = table[Int(text[index + 1])]
                    let c = table[Int(text[index + 2])]
                    let d = table[Int(text[index + 3])]
                    guard (a | b | c | d) & 0x80 == 0 else {
                        valid = false
                        return
                    }
                    let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[written] = UInt8(truncatingIfNeeded: group >> 16)
                    out[written + 1] = UInt8(truncatingIfNeeded: group >> 8)
                    out[written + 2] = UInt8(truncatingIfNeeded: group)
                    index += 4
                    written += 3
                }
                guard remainder > 0 else { return }
                let a = table[Int(text[whole])]
                let b = table[Int(text[whole + 1])]
                let c = remainder == 3 ? table[Int(text[whole + 2])] : 0
                // The unused low bits of the last character must be zero: one spelling per value.
                let unused: UInt8 = remainder == 2 ? b & 0xF : c & 0x3
                guard (a | b | c) & 0x80 == 0, unused == 0 else {
                    valid = false
                    return
                }
                let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                out[written] = UInt8(truncatingIfNeeded: group >> 16)
                if remainder == 3 { out[written + 1] = UInt8(truncatingIfNeeded: group >> 8) }
            }
            initialized = valid ? count : 0
        }
        return valid ? out : nil
    }

    /// The value of each base64url character; 0xFF for every other byte.
    private static let sextets: [UInt8] = (0...255).map { sextet(UInt8($0)) ?? 0xFF }

    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        default: return nil
        }
    }
}
