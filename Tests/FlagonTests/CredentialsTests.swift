// Secrets from systemd credentials ($CREDENTIALS_DIRECTORY): over the environment, secrets only, errors without values.

import Flagon
import Foundation
import Testing

@Suite("Config: systemd credentials")
struct CredentialsTests {
    static let secrets: Set<String> = ["SECRET_KEY", "JWT_SECRET_KEY"]

    private func write(_ text: String, key: String, in folder: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + key))
    }

    @Test("a credential wins over the variable of the same name; the environment fills in the rest")
    func credentialOverEnvironment() async throws {
        try await withTemporaryDirectory { folder in
            try write("from-credential", key: "SECRET_KEY", in: folder)
            let config = try await Config.load(
                environment: [
                    "CREDENTIALS_DIRECTORY": folder, "SECRET_KEY": "from-environment",
                    "JWT_SECRET_KEY": "jwt-from-environment",
                ],
                instancePath: "/nonexistent", secretKeys: Self.secrets)
            #expect(config.string("SECRET_KEY") == "from-credential")
            #expect(config.string("JWT_SECRET_KEY") == "jwt-from-environment")
        }
    }

    @Test("overrides still win over a credential")
    func overridesOverCredential() async throws {
        try await withTemporaryDirectory { folder in
            try write("from-credential", key: "SECRET_KEY", in: folder)
            let config = try await Config.load(
                overrides: ["SECRET_KEY": "from-test"], environment: ["CREDENTIALS_DIRECTORY": folder],
                instancePath: "/nonexistent", secretKeys: Self.secrets)
            #expect(config.string("SECRET_KEY") == "from-test")
        }
    }

    @Test("one trailing newline is dropped, as `echo` writes it; inner ones stay")
    func trailingNewline() async throws {
        try await withTemporaryDirectory { folder in
            try write("secret-one\n", key: "SECRET_KEY", in: folder)
            try write("line\nline\r\n", key: "JWT_SECRET_KEY", in: folder)
            let config = try await Config.load(
                environment: ["CREDENTIALS_DIRECTORY": folder], instancePath: "/nonexistent",
                secretKeys: Self.secrets)
            #expect(config.string("SECRET_KEY") == "secret-one")
            #expect(config.string("JWT_SECRET_KEY") == "line\nline")
        }
    }

    @Test("only secret keys are read from credentials, and only with CREDENTIALS_DIRECTORY set")
    func secretsOnly() async throws {
        try await withTemporaryDirectory { folder in
            try write("from-credential", key: "SECRET_KEY", in: folder)
            try write("1", key: "MAX_CONTENT_LENGTH", in: folder)
            let withDirectory = try await Config.load(
                environment: ["CREDENTIALS_DIRECTORY": folder], instancePath: "/nonexistent",
                secretKeys: Self.secrets)
            #expect(withDirectory.string("MAX_CONTENT_LENGTH") == nil)
            #expect(withDirectory.string("JWT_SECRET_KEY") == nil)
            let withoutDirectory = try await Config.load(
                environment: ["SECRET_KEY": "from-environment"], instancePath: "/nonexistent",
                secretKeys: Self.secrets)
            #expect(withoutDirectory.string("SECRET_KEY") == "from-environment")
        }
    }

    @Test("a credential that cannot be read stops loading, naming the key and not the value")
    func unreadable() async throws {
        try await withTemporaryDirectory { folder in
            // A folder in place of the file: open succeeds, read fails with EISDIR.
            try FileManager.default.createDirectory(
                atPath: folder + "/SECRET_KEY", withIntermediateDirectories: false)
            let error = await #expect(throws: ConfigError.self) {
                _ = try await Config.load(
                    environment: ["CREDENTIALS_DIRECTORY": folder], instancePath: "/nonexistent",
                    secretKeys: Self.secrets)
            }
            #expect(error?.message.hasPrefix("cannot read the credential SECRET_KEY:") == true)
        }
    }

    @Test("an oversized or non-UTF-8 credential is refused without echoing it")
    func refusedContents() async throws {
        try await withTemporaryDirectory { folder in
            try write(String(repeating: "s", count: 65537), key: "SECRET_KEY", in: folder)
            let large = await #expect(throws: ConfigError.self) {
                _ = try await Config.load(
                    environment: ["CREDENTIALS_DIRECTORY": folder], instancePath: "/nonexistent",
                    secretKeys: Self.secrets)
            }
            #expect(large?.message == "the credential SECRET_KEY is larger than 65536 bytes")

            try Data([0x73, 0xff, 0x73]).write(to: URL(fileURLWithPath: folder + "/SECRET_KEY"))
            let binary = await #expect(throws: ConfigError.self) {
                _ = try await Config.load(
                    environment: ["CREDENTIALS_DIRECTORY": folder], instancePath: "/nonexistent",
                    secretKeys: Self.secrets)
            }
            #expect(binary?.message == "the credential SECRET_KEY is not UTF-8 text")
        }
    }
}
