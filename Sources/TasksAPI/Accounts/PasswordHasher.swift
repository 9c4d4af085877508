// Argon2id password hashing through libargon2: PHC strings, verification, rehash checks, unknown-user cost.

import CArgon2
import Flagon
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Hashes and verifies passwords with Argon2id (RFC 9106) through Debian's reference
/// `libargon2`, storing each as a standard PHC string:
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (unpadded base64 salt and hash).
///
/// The whole UTF-8 encoding of a password is hashed, whatever its length: nothing is
/// truncated as bcrypt truncates at 72 bytes. The API limits passwords to 128 characters.
///
/// Create one hasher per process and keep it: the initializer computes, once, the dummy
/// hash that ``verifyUnknownUser(_:)`` verifies against.
///
/// ```swift
/// let hasher = try PasswordHasher(config: config)
/// let stored = try hasher.hash("correct horse battery staple")
/// hasher.verify("correct horse battery staple", encoded: stored)  // true
/// if hasher.needsRehash(stored) { /* store hasher.hash(password) after a good login */ }
/// ```
public struct PasswordHasher: Sendable {
    /// OWASP's recommended Argon2id cost: 19 MiB of memory, 2 passes, 1 lane.
    public static let defaultMemoryKiB = 19_456
    public static let defaultIterations = 2
    public static let defaultParallelism = 1
    /// The ranges a cost must fall in, for the configuration and for stored hashes alike.
    /// Memory must also be at least 8 KiB per lane (Argon2's own minimum).
    public static let maximumMemoryKiB = 4 * 1024 * 1024
    public static let iterationRange = 1...1_000
    public static let parallelismRange = 1...16
    /// Bytes of random salt per hash, and bytes of hash output.
    public static let saltLength = 16
    public static let hashLength = 32
    /// Argon2 version 1.3, the `v=19` of every string this hasher writes.
    static let version = Int(ARGON2_VERSION_13.rawValue)

    /// Memory cost in KiB (Argon2's `m`).
    public let memoryKiB: Int
    /// Number of passes over the memory (Argon2's `t`).
    public let iterations: Int
    /// Number of lanes (Argon2's `p`), computed by as many threads.
    public let parallelism: Int
    /// The largest memory cost (KiB) and pass count a stored hash may have for this hasher to
    /// verify it. A hash beyond them is refused without being computed: one forged or corrupt
    /// row must not make every login of that user allocate gigabytes.
    public let maximumStoredMemoryKiB: Int
    public let maximumStoredIterations: Int
    /// The hash of a random password, made with the current cost, that
    /// ``verifyUnknownUser(_:)`` verifies against. It matches no password anyone knows.
    public let unknownUserHash: String

    /// A hasher with the given cost; the defaults are OWASP's recommendation.
    /// - Parameters:
    ///   - memoryKiB: memory per hash in KiB, from 8 × `parallelism` to 4 GiB.
    ///   - iterations: passes over the memory, 1...1000.
    ///   - parallelism: lanes, 1...16.
    /// - Throws: ``ConfigError`` naming the `ARGON2_*` key whose value is out of range, or
    ///   when libargon2 cannot hash with this cost (for instance, memory it cannot allocate).
    ///   - maximumStoredMemoryKiB: the largest `m` of a stored hash that is verified; by
    ///     default 4 × `memoryKiB` (at least 64 MiB), never below `memoryKiB`.
    ///   - maximumStoredIterations: the largest `t` of a stored hash that is verified; by
    ///     default 4 × `iterations` (at least 10), never below `iterations`.
    public init(
        memoryKiB: Int = defaultMemoryKiB, iterations: Int = defaultIterations,
        parallelism: Int = defaultParallelism, maximumStoredMemoryKiB: Int? = nil,
        maximumStoredIterations: Int? = nil
    ) throws(ConfigError) {
        try Self.validate(memoryKiB: memoryKiB, iterations: iterations, parallelism: parallelism)
        _ = Self.largeBuffersAreReturned
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
        let maximumMemory = maximumStoredMemoryKiB ?? min(Self.maximumMemoryKiB, max(4 * memoryKiB, 65_536))
        let maximumIterations = maximumStoredIterations ?? min(Self.iterationRange.upperBound, max(4 * iterations, 10))
        guard maximumMemory >= memoryKiB, maximumMemory <= Self.maximumMemoryKiB else {
            throw ConfigError(
                "PASSWORD_HASH_MAX_MEMORY_KIB must be between ARGON2_MEMORY_KIB (\(memoryKiB)) and "
                    + "\(Self.maximumMemoryKiB), got \(maximumMemory)")
        }
        guard maximumIterations >= iterations, maximumIterations <= Self.iterationRange.upperBound else {
            throw ConfigError(
                "PASSWORD_HASH_MAX_ITERATIONS must be between ARGON2_ITERATIONS (\(iterations)) and "
                    + "\(Self.iterationRange.upperBound), got \(maximumIterations)")
        }
        self.maximumStoredMemoryKiB = maximumMemory
        self.maximumStoredIterations = maximumIterations
        // Hashing once here also proves at start-up that this cost can be computed.
        let dummyPassword = String((0..<32).map { _ in "0123456789abcdef".randomElement()! })
        do {
            unknownUserHash = try Self.hash(
                dummyPassword, memoryKiB: memoryKiB, iterations: iterations, parallelism: parallelism)
        } catch {
            throw ConfigError(
                "Argon2id cannot hash with m=\(memoryKiB),t=\(iterations),p=\(parallelism): \(error.message)")
        }
    }

    /// A hasher with the cost read from `ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS` and
    /// `ARGON2_PARALLELISM`, each defaulting to OWASP's recommendation, and the limits on stored
    /// hashes from `PASSWORD_HASH_MAX_MEMORY_KIB` and `PASSWORD_HASH_MAX_ITERATIONS`.
    /// - Throws: ``ConfigError`` for a value that is not an integer or is out of range.
    public init(config: Config) throws(ConfigError) {
        try self.init(
            memoryKiB: try config.int("ARGON2_MEMORY_KIB") ?? Self.defaultMemoryKiB,
            iterations: try config.int("ARGON2_ITERATIONS") ?? Self.defaultIterations,
            parallelism: try config.int("ARGON2_PARALLELISM") ?? Self.defaultParallelism,
            maximumStoredMemoryKiB: try config.int("PASSWORD_HASH_MAX_MEMORY_KIB"),
            maximumStoredIterations: try config.int("PASSWORD_HASH_MAX_ITERATIONS"))
    }

    /// How many times this hasher (and its copies) has run libargon2 after start-up, hashes and
    /// verifications alike, so tests can show that a refused hash was never computed.
    public var computations: Int { computationCount.value.load(ordering: .relaxed) }
    private let computationCount = ComputationCount()

    private final class ComputationCount: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Counts one libargon2 computation.
    private static func computing<T>(_ count: ComputationCount?, _ body: () -> T) -> T {
        count?.value.add(1, ordering: .relaxed)
        return body()
    }

    /// Allocations from this size up are their own `mmap`, returned to the system by `free`.
    static let largeAllocationThreshold: Int32 = 4 << 20

    /// Makes glibc give Argon2id's 19 MiB buffer back to the system after every hash. By
    /// default its mmap threshold is dynamic: after the first such buffer is freed it rises
    /// above 19 MiB, so later buffers come from the heap and stay in the worker for good, on
    /// whatever thread's arena computed them (`malloc_trim` does not reach those). A fixed
    /// threshold of 4 MiB, set once per process, keeps ordinary request buffers (bodies up to
    /// 1 MiB) on the heap and maps each Argon2id buffer on its own.
    private static let largeBuffersAreReturned: Bool = {
        #if canImport(Glibc)
            return mallopt(M_MMAP_THRESHOLD, largeAllocationThreshold) == 1
        #else
            return false
        #endif
    }()

    /// Hashes a password with a fresh random salt from the system's CSPRNG.
    /// - Returns: the PHC string to store, such as `$argon2id$v=19$m=19456,t=2,p=1$…$…`.
    /// - Throws: ``PasswordHashError`` if libargon2 fails (in practice, only when it
    ///   cannot allocate the memory).
    public func hash(_ password: String) throws(PasswordHashError) -> String {
        try Self.hash(
            password, memoryKiB: memoryKiB, iterations: iterations, parallelism: parallelism,
            count: computationCount)
    }

    private static func hash(
        _ password: String, memoryKiB: Int, iterations: Int, parallelism: Int, count: ComputationCount? = nil
    ) throws(PasswordHashError) -> String {
        // SystemRandomNumberGenerator is the platform's CSPRNG (getrandom(2) on Linux).
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<Self.saltLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let passwordBytes = Array(password.utf8)
        let length = argon2_encodedlen(
            UInt32(iterations), UInt32(memoryKiB), UInt32(parallelism), UInt32(Self.saltLength),
            UInt32(Self.hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        let code = computing(count) {
            passwordBytes.withUnsafeBytes { passwordBuffer in
                salt.withUnsafeBytes { saltBuffer in
                    encoded.withUnsafeMutableBufferPointer { output in
                        argon2id_hash_encoded(
                            UInt32(iterations), UInt32(memoryKiB), UInt32(parallelism),
                            passwordBuffer.baseAddress, passwordBuffer.count, saltBuffer.baseAddress, saltBuffer.count,
                            Self.hashLength, output.baseAddress, output.count)
                    }
                }
            }
        }
        guard code == ARGON2_OK.rawValue else { throw PasswordHashError(code: code) }
        let bytes = encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// What ``check(_:encoded:)`` found.
    public enum Verification: Sendable, Equatable {
        case match
        case mismatch
        /// The stored hash is not a well-formed Argon2id string; nothing was computed.
        case malformed
        /// The stored hash's memory or pass count exceeds this hasher's maximum; nothing was
        /// computed.
        case costTooHigh
    }

    /// Whether `password` is the one `encoded` was made from, in constant time.
    ///
    /// The cost comes from `encoded` itself, so hashes made with an older cost keep
    /// verifying. A malformed string, another Argon2 variant, or a cost outside the ranges
    /// the configuration accepts gives false, without calling libargon2.
    public func verify(_ password: String, encoded: String) -> Bool {
        check(password, encoded: encoded) == .match
    }

    /// ``verify(_:encoded:)`` telling why a hash did not match: a stored hash too costly to
    /// compute (``maximumStoredMemoryKiB``, ``maximumStoredIterations``) is refused before
    /// libargon2 is called.
    public func check(_ password: String, encoded: String) -> Verification {
        guard let parsed = EncodedArgon2id(encoded) else { return .malformed }
        guard parsed.memoryKiB <= maximumStoredMemoryKiB, parsed.iterations <= maximumStoredIterations else {
            return .costTooHigh
        }
        let passwordBytes = Array(password.utf8)
        let code = Self.computing(computationCount) {
            passwordBytes.withUnsafeBytes { passwordBuffer in
                encoded.withCString { argon2id_verify($0, passwordBuffer.baseAddress, passwordBuffer.count) }
            }
        }
        return code == ARGON2_OK.rawValue ? .match : .mismatch
    }

    /// Whether `encoded` should be replaced by a fresh hash after the next good login: its
    /// cost, version, salt or hash length differs from this hasher's, or it is not a
    /// well-formed Argon2id string.
    public func needsRehash(_ encoded: String) -> Bool {
        guard let parsed = EncodedArgon2id(encoded) else { return true }
        return parsed.version != Self.version || parsed.memoryKiB != memoryKiB
            || parsed.iterations != iterations || parsed.parallelism != parallelism
            || parsed.saltLength != Self.saltLength || parsed.hashLength != Self.hashLength
    }

    /// Spends the time of a real verification, against ``unknownUserHash``, and ignores
    /// the result: a login for a username that does not exist then costs as much as a
    /// wrong password, so its timing does not reveal which usernames exist.
    public func verifyUnknownUser(_ password: String) {
        _ = verify(password, encoded: unknownUserHash)
    }

    /// Checks a cost against the accepted ranges; the messages name the configuration keys.
    static func validate(memoryKiB: Int, iterations: Int, parallelism: Int) throws(ConfigError) {
        guard parallelismRange.contains(parallelism) else {
            throw ConfigError("ARGON2_PARALLELISM must be between 1 and 16, got \(parallelism)")
        }
        guard iterationRange.contains(iterations) else {
            throw ConfigError("ARGON2_ITERATIONS must be between 1 and 1000, got \(iterations)")
        }
        guard memoryKiB >= 8 * parallelism, memoryKiB <= maximumMemoryKiB else {
            throw ConfigError(
                "ARGON2_MEMORY_KIB must be between 8 * ARGON2_PARALLELISM (\(8 * parallelism)) "
                    + "and \(maximumMemoryKiB) (4 GiB), got \(memoryKiB)")
        }
    }
}

/// libargon2 could not compute a hash; its description is argon2's one-line message.
public struct PasswordHashError: Error, Sendable, CustomStringConvertible {
    /// The `Argon2_ErrorCodes` value libargon2 returned.
    public let code: Int32
    public var message: String { String(cString: argon2_error_message(code)) }
    public var description: String { "Argon2id hashing failed: \(message)" }
}

/// The fields of a PHC string `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`, as libargon2
/// writes them (the version field may be absent, meaning version 1.0). The salt and hash
/// are only checked for base64 shape and counted; libargon2 decodes them.
struct EncodedArgon2id: Equatable {
    var version: Int
    var memoryKiB: Int
    var iterations: Int
    var parallelism: Int
    var saltLength: Int
    var hashLength: Int

    init?(_ encoded: String) {
        var fields = encoded.split(separator: "$", omittingEmptySubsequences: false)[...]
        guard fields.popFirst() == "", fields.popFirst() == "argon2id" else { return nil }
        if let field = fields.first, field.hasPrefix("v=") {
            guard let version = Self.decimal(field.dropFirst(2)) else { return nil }
            self.version = version
            fields.removeFirst()
        } else {
            self.version = 0x10
        }
        guard fields.count == 3 else { return nil }
        let cost = fields.removeFirst().split(separator: ",", omittingEmptySubsequences: false)
        guard cost.count == 3, cost[0].hasPrefix("m="), cost[1].hasPrefix("t="), cost[2].hasPrefix("p="),
            let memoryKiB = Self.decimal(cost[0].dropFirst(2)),
            let iterations = Self.decimal(cost[1].dropFirst(2)),
            let parallelism = Self.decimal(cost[2].dropFirst(2)),
            (try? PasswordHasher.validate(memoryKiB: memoryKiB, iterations: iterations, parallelism: parallelism))
                != nil,
            let saltLength = Self.base64ByteCount(fields.removeFirst()), saltLength >= 8,
            let hashLength = Self.base64ByteCount(fields.removeFirst()), hashLength >= 4
        else { return nil }
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
        self.saltLength = saltLength
        self.hashLength = hashLength
    }

    /// A decimal of at most 10 digits without sign or leading zero, as libargon2 accepts.
    private static func decimal(_ text: Substring) -> Int? {
        guard (1...10).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            text == "0" || text.first != "0"
        else { return nil }
        return Int(text)
    }

    /// The byte count of unpadded standard base64 text, or nil if it is not such text.
    private static func base64ByteCount(_ text: Substring) -> Int? {
        let isBase64Digit: (UInt8) -> Bool = { byte in
            switch byte {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2B, 0x2F: return true
            default: return false
            }
        }
        let count = text.utf8.count
        guard count % 4 != 1, text.utf8.allSatisfy(isBase64Digit) else { return nil }
        return count * 3 / 4
    }
}
