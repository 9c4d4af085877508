// The development secret: generated once into the instance folder, shared by concurrent starts, never the published default.

import Flagon
import Foundation
import Logging
import TasksAPI
import Testing

@Suite("Development secret")
struct DevelopmentSecretTests {
    @Test("without configured secrets the first start generates one; later starts reuse it")
    func generatedOnceAndReused() async throws {
        try await withTemporaryDirectory { folder in
            let capture = LogCapture()
            let first = try await buildApplication(folder, logger: capture.logger)
            let path = folder + "/development-secret"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.utf8.count == 129 && text.hasSuffix("\n"))
            #expect(first.settings.secretKey.utf8.count == 64)
            #expect(first.settings.jwtSecretKey.utf8.count == 64)
            #expect(first.settings.secretKey != first.settings.jwtSecretKey)
            #expect(text == first.settings.secretKey + first.settings.jwtSecretKey + "\n")
            #expect(first.settings.usesGeneratedSecrets)
            #expect(capture.logged.contains { $0.message.hasPrefix("generated a development secret") })

            let second = try await buildApplication(folder)
            #expect(second.settings.jwtSecretKey == first.settings.jwtSecretKey)
            // A token of the first start is still good after a restart.
            let token = TokenIssuer(signer: JWTSigner(secret: first.settings.jwtSecretKey))
                .issue(.access, subject: "1", name: "alice", roles: []).token
            let response = await TestClient(app: second.app).get(
                "/api/protected", headers: ["Authorization": "Bearer \(token)"])
            #expect(response.status == 200)
        }
    }

    @Test("another instance folder gets another secret: it is random, not a constant")
    func randomPerInstance() async throws {
        try await withTemporaryDirectory { folder in
            let one = try await buildApplication(folder + "/one")
            let two = try await buildApplication(folder + "/two")
            #expect(one.settings.jwtSecretKey != two.settings.jwtSecretKey)
            #expect(one.settings.secretKey != two.settings.secretKey)
        }
    }

    @Test("a token signed with the old published development default is refused")
    func publishedDefaultIsNoKey() async throws {
        try await withTemporaryDirectory { folder in
            let application = try await buildApplication(folder)
            let forged = TokenIssuer(signer: JWTSigner(secret: "dev-jwt-secret-change-me-in-production-0123456789"))
                .issue(.access, subject: "1", name: "admin", roles: ["admin"]).token
            let response = await TestClient(app: application.app).get(
                "/api/users", headers: ["Authorization": "Bearer \(forged)"])
            #expect(response.status == 401)
            // Configuring the published default is refused outright, in development too.
            let error = await #expect(throws: ConfigError.self) {
                _ = try await buildApplication(
                    folder, ["JWT_SECRET_KEY": "dev-jwt-secret-change-me-in-production-0123456789"])
            }
            #expect(
                error?.message == "JWT_SECRET_KEY is the published development default; unset it to use a generated one"
            )
        }
    }

    @Test("configured secrets are used as they are and nothing is generated")
    func configuredSecrets() async throws {
        try await withTemporaryDirectory { folder in
            let application = try await buildApplication(
                folder, ["SECRET_KEY": "configured", "JWT_SECRET_KEY": "also configured"])
            #expect(application.settings.secretKey == "configured")
            #expect(application.settings.jwtSecretKey == "also configured")
            #expect(!application.settings.usesGeneratedSecrets)
            #expect(!FileManager.default.fileExists(atPath: folder + "/development-secret"))
        }
    }

    @Test("only the missing one is generated: a configured JWT_SECRET_KEY is kept")
    func partlyConfigured() async throws {
        try await withTemporaryDirectory { folder in
            let application = try await buildApplication(folder, ["JWT_SECRET_KEY": "configured jwt key"])
            #expect(application.settings.jwtSecretKey == "configured jwt key")
            #expect(application.settings.secretKey.utf8.count == 64)
        }
    }

    @Test("many starts at once all end up with the same secret")
    func concurrentStarts() async throws {
        try await withTemporaryDirectory { folder in
            let keys = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let config = try await Config.load(environment: [:], instancePath: folder)
                        var settings = try Settings(config: config)
                        try settings.loadGeneratedSecrets()
                        return settings.jwtSecretKey
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(keys.count == 8)
            #expect(Set(keys).count == 1)
            // No temporary file is left behind.
            let entries = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(entries == ["development-secret"])
        }
    }

    @Test("a secret file that this service did not write stops start-up with a one-line reason")
    func corruptSecret() async throws {
        try await withTemporaryDirectory { folder in
            try "short\n".write(toFile: folder + "/development-secret", atomically: false, encoding: .utf8)
            let error = await #expect(throws: ConfigError.self) { _ = try await buildApplication(folder) }
            #expect(
                error?.message.hasSuffix("does not hold a secret this service wrote; delete it to generate a new one")
                    == true)
        }
    }

    @Test("production never generates: it refuses to start without configured secrets")
    func productionRefuses() async throws {
        try await withTemporaryDirectory { folder in
            let error = await #expect(throws: ConfigError.self) {
                _ = try await buildApplication(folder, ["APP_ENV": "production"])
            }
            #expect(error?.message == "refusing to start in production: SECRET_KEY is not set")
            #expect(!FileManager.default.fileExists(atPath: folder + "/development-secret"))
        }
    }
}
