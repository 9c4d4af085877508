// The decimal text of integers, written straight into memory: header values and keys.

/// Writes integers' decimal digits into memory the caller has made room in, with no string in
/// between: a counted response writes three such numbers and its rate-limit key two more.
public enum DecimalText {
    /// The most bytes ``write(_:to:)`` writes: a sign and 19 digits.
    public static let maxCount = 20

    /// Writes the decimal text of `value` (`-` first if negative) at `destination`, which has
    /// room for ``maxCount`` bytes; returns how many it wrote. The digits are counted by
    /// comparisons, then written backwards two at a time.
    public static func write(_ value: Int64, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        var start = destination
        if value < 0 {
            start.pointee = UInt8(ascii: "-")
            start += 1
        }
        var rest = value.magnitude
        var digits = 1
        var power: UInt64 = 10
        while digits < 19 && rest >= power {
            digits += 1
            power &*= 10
        }
        var index = digits
        let pairs = digitPairs.utf8Start
        while rest >= 100 {
            let pair = Int(rest % 100) &* 2
            rest /= 100
            index -= 2
            start[index] = pairs[pair]
            start[index + 1] = pairs[pair + 1]
        }
        if rest >= 10 {
            let pair = Int(rest) &* 2
            start[index - 2] = pairs[pair]
            start[index - 1] = pairs[pair + 1]
        } else {
            start[index - 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest)
        }
        return (start - destination) + digits
    }

    /// "00", "01" … "99".
    static let digitPairs: StaticString = """
        00010203040506070809101112131415161718192021222324\
        25262728293031323334353637383940414243444546474849\
        50515253545556575859606162636465666768697071727374\
        75767778798081828384858687888990919293949596979899
        """
}
