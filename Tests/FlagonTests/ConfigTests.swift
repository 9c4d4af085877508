// Layered configuration: overrides > environment > instance config.json > nothing; typed getters.

import Flagon
import Foundation
import Testing

@Suite("Config")
struct ConfigTests {
    private func writeConfig(_ json: String, in folder: String) throws {
        try Data(json.utf8).write(to: URL(fileURLWithPath: folder + "/config.json"))
    }

    @Test("each layer wins over the ones below it")
    func layering() async throws {
        try await withTemporaryDirectory { folder in
            try writeConfig(
                #"{"A": "file", "B": "file", "C": "file"}"#, in: folder)
            let config = try await Config.load(
                overrides: ["A": "override"],
                environment: ["A": "environment", "B": "environment", "E": "environment"],
                instancePath: folder)
            #expect(config.string("A") == "override")
            #expect(config.string("B") == "environment")
            #expect(config.string("C") == "file")
            #expect(config.string("E") == "environment")
            #expect(config.string("D") == nil)
            #expect(config.instancePath == folder)
        }
    }

    @Test("an empty value in a higher layer still wins")
    func emptyValueWins() async throws {
        try await withTemporaryDirectory { folder in
            try writeConfig(#"{"CORS_ORIGINS": "https://a.example"}"#, in: folder)
            let config = try await Config.load(environment: ["CORS_ORIGINS": ""], instancePath: folder)
            #expect(config.string("CORS_ORIGINS") == "")
            #expect(config.list("CORS_ORIGINS") == [])
        }
    }

    @Test("without config.json only the other layers count")
    func missingFile() async throws {
        try await withTemporaryDirectory { folder in
            let config = try await Config.load(
                overrides: ["A": "1"], environment: ["B": "2"], instancePath: folder + "/absent")
            #expect(config.string("A") == "1")
            #expect(config.string("B") == "2")
            #expect(config.string("C") == nil)
        }
    }

    @Test("JSON numbers and booleans in config.json read as text, integers and booleans")
    func jsonTypes() async throws {
        try await withTemporaryDirectory { folder in
            try writeConfig(
                #"{"MAX_CONTENT_LENGTH": 2048, "RATELIMIT_ENABLED": false, "TRUST_PROXY_AUTH": true, "RATIO": 1.5}"#,
                in: folder)
            let config = try await Config.load(environment: [:], instancePath: folder)
            #expect(config.string("MAX_CONTENT_LENGTH") == "2048")
            #expect(try config.int("MAX_CONTENT_LENGTH") == 2048)
            #expect(try config.bool("RATELIMIT_ENABLED") == false)
            #expect(try config.bool("TRUST_PROXY_AUTH") == true)
            // swift-configuration reads JSON booleans as the integers 1 and 0.
            #expect(config.string("RATELIMIT_ENABLED") == "0")
            #expect(config.string("TRUST_PROXY_AUTH") == "1")
            #expect(config.string("RATIO") == "1.5")
            let error = #expect(throws: ConfigError.self) { try config.int("RATIO") }
            #expect(error?.message == "RATIO must be an integer, got '1.5'")
        }
    }

    @Test("the environment overrides a typed value from config.json")
    func environmentOverTypedFile() async throws {
        try await withTemporaryDirectory { folder in
            try writeConfig(#"{"MAX_CONTENT_LENGTH": 2048, "RATELIMIT_ENABLED": true}"#, in: folder)
            let config = try await Config.load(
                environment: ["MAX_CONTENT_LENGTH": "4096", "RATELIMIT_ENABLED": "off"], instancePath: folder)
            #expect(try config.int("MAX_CONTENT_LENGTH") == 4096)
            #expect(try config.bool("RATELIMIT_ENABLED") == false)
        }
    }

    @Test("integers are read from text, surrounding spaces allowed")
    func integers() async throws {
        let config = try await Config.load(
            overrides: ["A": "42", "B": " 7 ", "C": "-3"], environment: [:], instancePath: "/nonexistent")
        #expect(try config.int("A") == 42)
        #expect(try config.int("B") == 7)
        #expect(try config.int("C") == -3)
        #expect(try config.int("D") == nil)
    }

    @Test(
        "booleans accept true/false/1/0/yes/no/on/off in any case",
        arguments: [
            ("true", true), ("TRUE", true), ("1", true), ("yes", true), ("On", true),
            ("false", false), ("False", false), ("0", false), ("no", false), ("off", false),
        ])
    func booleans(text: String, expected: Bool) async throws {
        let config = try await Config.load(overrides: ["FLAG": text], environment: [:], instancePath: "/nonexistent")
        #expect(try config.bool("FLAG") == expected)
    }

    @Test("a malformed integer throws, naming the key", arguments: ["12abc", "1.5", "", "one", "0x10"])
    func malformedInteger(text: String) async throws {
        let config = try await Config.load(
            environment: ["MAX_CONTENT_LENGTH": text], instancePath: "/nonexistent")
        let error = #expect(throws: ConfigError.self) { try config.int("MAX_CONTENT_LENGTH") }
        #expect(error?.message.contains("MAX_CONTENT_LENGTH") == true)
        #expect(error?.description == error?.message)
    }

    @Test("a malformed boolean throws, naming the key", arguments: ["maybe", "", "2", "truthy"])
    func malformedBoolean(text: String) async throws {
        let config = try await Config.load(
            environment: ["RATELIMIT_ENABLED": text], instancePath: "/nonexistent")
        let error = #expect(throws: ConfigError.self) { try config.bool("RATELIMIT_ENABLED") }
        #expect(error?.message.contains("RATELIMIT_ENABLED") == true)
    }

    @Test(
        "a malformed config.json throws a ConfigError naming the file",
        arguments: [#"{"SECRET_KEY": "x""#, "SECRET_KEY=x", #"["SECRET_KEY"]"#, #"{"A": [1, "two"]}"#, ""])
    func malformedFile(contents: String) async throws {
        try await withTemporaryDirectory { folder in
            try writeConfig(contents, in: folder)
            let error = await #expect(throws: ConfigError.self) {
                _ = try await Config.load(environment: [:], instancePath: folder)
            }
            #expect(error?.message.contains(folder + "/config.json") == true)
            #expect(error?.message.contains("\n") == false)
        }
    }

    @Test("lists split on commas and drop empty items")
    func lists() async throws {
        let config = try await Config.load(
            overrides: ["CORS_ORIGINS": " https://a.example , ,https://b.example,"], environment: [:],
            instancePath: "/nonexistent")
        #expect(config.list("CORS_ORIGINS") == ["https://a.example", "https://b.example"])
        #expect(config.list("TRUSTED_PROXIES") == nil)
    }

    @Test("the instance folder comes from the argument, then INSTANCE_PATH, then ./instance")
    func instancePath() async throws {
        try await withTemporaryDirectory { folder in
            try writeConfig(#"{"FROM": "instance file"}"#, in: folder)
            let fromEnvironment = try await Config.load(environment: ["INSTANCE_PATH": folder])
            #expect(fromEnvironment.instancePath == folder)
            #expect(fromEnvironment.string("FROM") == "instance file")

            let fromOverride = try await Config.load(overrides: ["INSTANCE_PATH": folder], environment: [:])
            #expect(fromOverride.instancePath == folder)

            let explicit = try await Config.load(
                environment: ["INSTANCE_PATH": "/elsewhere"], instancePath: folder)
            #expect(explicit.instancePath == folder)
        }
    }

    @Test("the default instance folder is ./instance")
    func defaultInstancePath() async throws {
        let config = try await Config.load(environment: [:])
        #expect(config.instancePath == "instance")
    }
}
