// PasswordHasher: Argon2id PHC strings, whole-password hashing, malformed input, rehash checks, configuration.

import Flagon
import TasksAPI
import Testing

/// A cost cheap enough (1 MiB, one pass) that a hash takes about a millisecond.
private func cheapHasher(memoryKiB: Int = 1024, iterations: Int = 1, parallelism: Int = 1) throws -> PasswordHasher {
    try PasswordHasher(memoryKiB: memoryKiB, iterations: iterations, parallelism: parallelism)
}

/// The ConfigError that building a hasher from `overrides` throws, or nil.
private func hasherError(_ overrides: [String: String]) async throws -> ConfigError? {
    let config = try await Config.load(overrides: overrides, environment: [:], instancePath: "/nonexistent/instance")
    do {
        _ = try PasswordHasher(config: config)
        return nil
    } catch {
        return error
    }
}

/// `text` with its character at `offset` replaced by `replacement`.
private func replacing(_ text: String, at offset: Int, with replacement: Character) -> String {
    var characters = Array(text)
    characters[offset] = replacement
    return String(characters)
}

@Suite("PasswordHasher")
struct PasswordHasherTests {
    @Test("a hash verifies its own password and no other")
    func roundTrip() throws {
        let hasher = try cheapHasher()
        let encoded = try hasher.hash("correct horse battery staple")
        #expect(hasher.verify("correct horse battery staple", encoded: encoded))
        #expect(!hasher.verify("correct horse battery stapler", encoded: encoded))
        #expect(!hasher.verify("Correct horse battery staple", encoded: encoded))
        #expect(!hasher.verify("", encoded: encoded))
    }

    @Test("the hash is a PHC string with the hasher's cost, a 16-byte salt and a 32-byte hash")
    func phcFormat() throws {
        let encoded = try cheapHasher(memoryKiB: 2048, iterations: 3, parallelism: 2).hash("password123")
        // Unpadded base64: 16 bytes are 22 characters, 32 bytes are 43.
        let pattern = try Regex(#"\$argon2id\$v=19\$m=2048,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}"#)
        #expect(try pattern.wholeMatch(in: encoded) != nil, "\(encoded)")
    }

    @Test("the defaults are OWASP's m=19456 KiB, t=2, p=1")
    func defaults() throws {
        let hasher = try PasswordHasher()
        #expect(hasher.memoryKiB == 19_456)
        #expect(hasher.iterations == 2)
        #expect(hasher.parallelism == 1)
        #expect(hasher.unknownUserHash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
    }

    @Test("each hash has its own salt")
    func freshSalt() throws {
        let hasher = try cheapHasher()
        let first = try hasher.hash("same password")
        let second = try hasher.hash("same password")
        #expect(first != second)
        let salt = { (encoded: String) in encoded.split(separator: "$")[3] }
        #expect(salt(first) != salt(second))
        #expect(hasher.verify("same password", encoded: first))
        #expect(hasher.verify("same password", encoded: second))
    }

    @Test("a 128-character password is hashed whole: a change at its 100th character fails")
    func longPasswordIsNotTruncated() throws {
        let hasher = try cheapHasher()
        let password = String((0..<128).map { Character(Unicode.Scalar(UInt8(0x21 + $0 % 90))) })
        #expect(password.count == 128)
        let encoded = try hasher.hash(password)
        #expect(hasher.verify(password, encoded: encoded))
        // bcrypt would ignore everything after byte 72 and accept this one.
        #expect(!hasher.verify(replacing(password, at: 99, with: " "), encoded: encoded))
        #expect(!hasher.verify(String(password.prefix(72)), encoded: encoded))
    }

    @Test("non-ASCII passwords are hashed as their whole UTF-8 encoding")
    func nonASCIIPassword() throws {
        let hasher = try cheapHasher()
        let accented = "pässwörd-Ünïcødé-€"
        let accentedHash = try hasher.hash(accented)
        #expect(hasher.verify(accented, encoded: accentedHash))
        #expect(!hasher.verify("passwaord-Unicode-E", encoded: accentedHash))

        // 128 characters of 3 or 4 bytes each (about 420 bytes); the 100th differs.
        let wide = String(repeating: "密码🔐", count: 43).prefix(128)
        let password = String(wide)
        #expect(password.count == 128)
        let encoded = try hasher.hash(password)
        #expect(hasher.verify(password, encoded: encoded))
        #expect(!hasher.verify(replacing(password, at: 99, with: "钥"), encoded: encoded))
    }

    @Test("malformed or foreign encoded strings are false, never a crash")
    func malformedEncoded() throws {
        let hasher = try cheapHasher()
        let good = try hasher.hash("password123")
        let fields = good.split(separator: "$", omittingEmptySubsequences: false)
        let salt = fields[4]
        let digest = fields[5]
        let malformed = [
            "",
            "garbage",
            "$",
            "$$$$$",
            "$argon2id",
            "$argon2id$v=19$m=1024,t=1,p=1",
            "$argon2id$v=19$m=1024,t=1,p=1$\(salt)",
            "$argon2id$v=19$m=1024,t=1,p=1$\(salt)$",
            "$argon2id$v=19$m=1024,t=1,p=1$$\(digest)",
            "$argon2i$v=19$m=1024,t=1,p=1$\(salt)$\(digest)",
            "$argon2d$v=19$m=1024,t=1,p=1$\(salt)$\(digest)",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$argon2id$v=19$t=1,m=1024,p=1$\(salt)$\(digest)",
            "$argon2id$v=19$m=1024,t=1$\(salt)$\(digest)",
            "$argon2id$v=19$m=-1024,t=1,p=1$\(salt)$\(digest)",
            "$argon2id$v=19$m=99999999999999999999,t=1,p=1$\(salt)$\(digest)",
            "$argon2id$v=19$m=4294967295,t=1,p=1$\(salt)$\(digest)",
            "$argon2id$v=19$m=1024,t=0,p=1$\(salt)$\(digest)",
            "$argon2id$v=19$m=1024,t=1,p=0$\(salt)$\(digest)",
            "$argon2id$v=19$m=1024,t=1,p=1$\(salt)$\(digest)$extra",
            "$argon2id$v=19$m=1024,t=1,p=1$\(salt)!$\(digest)",
            "$argon2id$v=19$m=1024,t=1,p=1$\(salt)$\(digest)\u{0}",
            "$argon2id$v=99$m=1024,t=1,p=1$\(salt)$\(digest)",
            "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$\(digest)",
            String(good.dropLast()),
            String(good.dropLast(10)),
            String(good.prefix(good.count / 2)),
            " " + good,
            good + " ",
        ]
        for encoded in malformed {
            #expect(!hasher.verify("password123", encoded: encoded), "\(encoded)")
            #expect(hasher.needsRehash(encoded), "\(encoded)")
        }
        #expect(hasher.verify("password123", encoded: good))
    }

    @Test("a hash made with an older cost still verifies, and needs a rehash")
    func olderCost() throws {
        let old = try cheapHasher(memoryKiB: 1024, iterations: 1)
        let current = try cheapHasher(memoryKiB: 2048, iterations: 2)
        let encoded = try old.hash("password123")
        #expect(current.verify("password123", encoded: encoded))
        #expect(!current.verify("password124", encoded: encoded))
        #expect(current.needsRehash(encoded))
        #expect(!old.needsRehash(encoded))
        #expect(!current.needsRehash(try current.hash("password123")))
    }

    @Test("any change of memory, iterations or parallelism needs a rehash")
    func needsRehash() throws {
        let hasher = try cheapHasher(memoryKiB: 1024, iterations: 1, parallelism: 1)
        let encoded = try hasher.hash("password123")
        #expect(!hasher.needsRehash(encoded))
        #expect(try cheapHasher(memoryKiB: 2048).needsRehash(encoded))
        #expect(try cheapHasher(iterations: 2).needsRehash(encoded))
        #expect(try cheapHasher(parallelism: 2).needsRehash(encoded))
        // A hash with a shorter salt than this hasher writes is also replaced.
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        #expect(hasher.needsRehash("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$\(fields[5])"))
    }

    @Test("unknown users are checked against a dummy hash made with the current cost")
    func unknownUser() throws {
        let hasher = try cheapHasher(memoryKiB: 2048, iterations: 3, parallelism: 2)
        let dummy = hasher.unknownUserHash
        #expect(dummy.hasPrefix("$argon2id$v=19$m=2048,t=3,p=2$"))
        #expect(!hasher.needsRehash(dummy))
        // The dummy is a real Argon2id hash, so verifying against it does the full work.
        #expect(!hasher.verify("password123", encoded: dummy))
        hasher.verifyUnknownUser("password123")
        hasher.verifyUnknownUser("")
        hasher.verifyUnknownUser(String(repeating: "é", count: 128))
        // Made once per hasher: copies share it.
        let copy = hasher
        #expect(copy.unknownUserHash == dummy)
    }

    @Test("ARGON2_* keys set the cost; unset keys keep OWASP's defaults")
    func configuration() async throws {
        let defaults = try PasswordHasher(
            config: try await Config.load(environment: [:], instancePath: "/nonexistent/instance"))
        #expect(defaults.memoryKiB == 19_456)
        #expect(defaults.iterations == 2)
        #expect(defaults.parallelism == 1)

        let config = try await Config.load(
            overrides: ["ARGON2_MEMORY_KIB": "4096", "ARGON2_ITERATIONS": "3", "ARGON2_PARALLELISM": "2"],
            environment: ["ARGON2_ITERATIONS": "7"], instancePath: "/nonexistent/instance")
        let hasher = try PasswordHasher(config: config)
        #expect(hasher.memoryKiB == 4096)
        #expect(hasher.iterations == 3)
        #expect(hasher.parallelism == 2)
        #expect(try hasher.hash("password123").hasPrefix("$argon2id$v=19$m=4096,t=3,p=2$"))
    }

    @Test(
        "malformed or out-of-range ARGON2_* values stop start-up with a one-line message",
        arguments: [
            (["ARGON2_MEMORY_KIB": "lots"], "ARGON2_MEMORY_KIB must be an integer"),
            (["ARGON2_ITERATIONS": "2.5"], "ARGON2_ITERATIONS must be an integer"),
            (["ARGON2_PARALLELISM": "one"], "ARGON2_PARALLELISM must be an integer"),
            (["ARGON2_PARALLELISM": "0"], "ARGON2_PARALLELISM must be between 1 and 16"),
            (["ARGON2_PARALLELISM": "17"], "ARGON2_PARALLELISM must be between 1 and 16"),
            (["ARGON2_ITERATIONS": "0"], "ARGON2_ITERATIONS must be between 1 and 1000"),
            (["ARGON2_ITERATIONS": "-3"], "ARGON2_ITERATIONS must be between 1 and 1000"),
            (["ARGON2_ITERATIONS": "1001"], "ARGON2_ITERATIONS must be between 1 and 1000"),
            (["ARGON2_MEMORY_KIB": "7"], "ARGON2_MEMORY_KIB must be between 8 * ARGON2_PARALLELISM (8)"),
            (
                ["ARGON2_MEMORY_KIB": "31", "ARGON2_PARALLELISM": "4"],
                "ARGON2_MEMORY_KIB must be between 8 * ARGON2_PARALLELISM (32)"
            ),
            (["ARGON2_MEMORY_KIB": "4194305"], "and 4194304 (4 GiB), got 4194305"),
            (["ARGON2_MEMORY_KIB": "-1"], "ARGON2_MEMORY_KIB must be between"),
        ])
    func configurationErrors(overrides: [String: String], expected: String) async throws {
        let error = try #require(try await hasherError(overrides))
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test("a stored hash beyond the maximum costs is refused before libargon2 runs")
    func storedCostTooHigh() throws {
        let hasher = try cheapHasher()
        let good = try hasher.hash("password123")
        let fields = good.split(separator: "$", omittingEmptySubsequences: false)
        let tail = "$\(fields[4])$\(fields[5])"
        let before = hasher.computations
        for cost in ["m=4194304,t=1000,p=1", "m=65537,t=1,p=1", "m=1024,t=11,p=1", "m=4194304,t=1,p=1"] {
            let encoded = "$argon2id$v=19$\(cost)" + tail
            #expect(hasher.check("password123", encoded: encoded) == .costTooHigh, "\(cost)")
            #expect(!hasher.verify("password123", encoded: encoded))
        }
        // Refused by the check alone: nothing was computed.
        #expect(hasher.computations == before)
        // At the maximum it is computed (a mismatch here, since the cost is part of the hash).
        #expect(hasher.check("password123", encoded: "$argon2id$v=19$m=1024,t=10,p=1" + tail) == .mismatch)
        #expect(hasher.check("password123", encoded: good) == .match)
        #expect(hasher.check("password123", encoded: "garbage") == .malformed)
    }

    @Test("the maximum stored costs default to a few times the cost and are configurable")
    func maximumCosts() async throws {
        let defaults = try PasswordHasher(
            config: try await Config.load(environment: [:], instancePath: "/nonexistent/instance"))
        #expect(defaults.maximumStoredMemoryKiB == 4 * 19_456)
        #expect(defaults.maximumStoredIterations == 10)
        let small = try cheapHasher()
        #expect(small.maximumStoredMemoryKiB == 65_536)
        let configured = try PasswordHasher(
            config: try await Config.load(
                overrides: [
                    "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "PASSWORD_HASH_MAX_MEMORY_KIB": "2048",
                    "PASSWORD_HASH_MAX_ITERATIONS": "3",
                ], environment: [:], instancePath: "/nonexistent/instance"))
        #expect(configured.maximumStoredMemoryKiB == 2048)
        #expect(configured.maximumStoredIterations == 3)
        let encoded = try cheapHasher(memoryKiB: 4096).hash("password123")
        #expect(configured.check("password123", encoded: encoded) == .costTooHigh)
    }

    @Test(
        "maximum stored costs below the configured cost, or beyond Argon2's ranges, stop start-up",
        arguments: [
            (["PASSWORD_HASH_MAX_MEMORY_KIB": "1000"], "PASSWORD_HASH_MAX_MEMORY_KIB must be between"),
            (["PASSWORD_HASH_MAX_MEMORY_KIB": "4194305"], "PASSWORD_HASH_MAX_MEMORY_KIB must be between"),
            (["PASSWORD_HASH_MAX_ITERATIONS": "1"], "PASSWORD_HASH_MAX_ITERATIONS must be between"),
            (["PASSWORD_HASH_MAX_ITERATIONS": "1001"], "PASSWORD_HASH_MAX_ITERATIONS must be between"),
            (["PASSWORD_HASH_MAX_ITERATIONS": "many"], "PASSWORD_HASH_MAX_ITERATIONS must be an integer"),
        ])
    func maximumCostErrors(overrides: [String: String], expected: String) async throws {
        let error = try #require(try await hasherError(overrides))
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test("the lowest accepted cost still hashes")
    func minimumCost() async throws {
        #expect(try await hasherError(["ARGON2_MEMORY_KIB": "128", "ARGON2_PARALLELISM": "16"]) == nil)
        let hasher = try cheapHasher(memoryKiB: 8, iterations: 1, parallelism: 1)
        #expect(hasher.verify("password123", encoded: try hasher.hash("password123")))
    }
}
