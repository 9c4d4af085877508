// Layered configuration: caller overrides > systemd credentials > environment > instance/config.json > defaults.

import Configuration
import SystemPackage

/// A configuration problem that stops start-up. Its description is one line, safe to print.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The application's configuration, read in layers as Flask's `app.config` is built:
/// values passed by the caller (tests) win over systemd credentials (secrets only), which win
/// over environment variables, which win over the instance file `config.json`, which wins
/// over the defaults the application declares.
///
/// Keys are the upper-case names of the API contract (`SECRET_KEY`, `MAX_CONTENT_LENGTH`).
/// Typed getters throw ``ConfigError`` for a value that is present but malformed, so a
/// typo never silently falls back to a default.
public struct Config: Sendable {
    private let reader: ConfigReader
    /// The instance folder (Flask's `instance_path`): the database and `config.json` live here.
    public let instancePath: String

    /// Loads the layers.
    /// - Parameters:
    ///   - overrides: values that win over everything (the test fixture's `test_config`).
    ///   - environment: the process environment; pass a dictionary to isolate tests.
    ///   - instancePath: the instance folder; `INSTANCE_PATH` or `./instance` when nil.
    ///   - secretKeys: keys whose values are redacted wherever configuration is reported, and
    ///     which are also read from systemd credentials (`CREDENTIALS_DIRECTORY` in
    ///     `environment`, a file per key), winning over the environment.
    public static func load(
        overrides: [String: String] = [:],
        environment: [String: String],
        instancePath: String? = nil,
        secretKeys: Set<String> = []
    ) async throws -> Config {
        let folder =
            instancePath ?? overrides["INSTANCE_PATH"] ?? environment["INSTANCE_PATH"] ?? "instance"
        let secrets = SecretsSpecifier<String, String>.specific(secretKeys)
        var providers: [any ConfigProvider] = []
        providers.append(
            InMemoryProvider(
                name: "overrides",
                values: Dictionary(
                    uniqueKeysWithValues: overrides.map { key, value in
                        (AbsoluteConfigKey([key]), ConfigValue(.string(value), isSecret: secretKeys.contains(key)))
                    })))
        let credentials = try Credentials.values(
            keys: secretKeys, directory: environment[Credentials.directoryVariable])
        providers.append(
            InMemoryProvider(
                name: "credentials",
                values: Dictionary(
                    uniqueKeysWithValues: credentials.map { key, value in
                        (AbsoluteConfigKey([key]), ConfigValue(.string(value), isSecret: true))
                    })))
        providers.append(
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: secrets))
        let file = folder + "/config.json"
        do {
            providers.append(
                try await FileProvider<JSONSnapshot>(filePath: FilePath(file), allowMissing: true))
        } catch {
            throw ConfigError("\(file) is not a valid JSON configuration file: \(error)")
        }
        return Config(reader: ConfigReader(providers: providers), instancePath: folder)
    }

    private init(reader: ConfigReader, instancePath: String) {
        self.reader = reader
        self.instancePath = instancePath
    }

    /// The value of a key as text, whatever JSON type the instance file used; nil if unset.
    ///
    /// swift-configuration's JSON snapshot converts between number kinds: a JSON boolean reads
    /// as the integer 1 or 0 (so `true` comes back as `"1"`, which ``bool(_:)`` accepts), and any
    /// non-zero number reads as `true`. Hence integers first, then fractions, booleans last.
    public func string(_ key: String) -> String? {
        let configKey = ConfigKey([key])
        if let value = reader.string(forKey: configKey) { return value }
        if let value = reader.int(forKey: configKey) { return String(value) }
        if let value = reader.double(forKey: configKey) { return String(value) }
        if let value = reader.bool(forKey: configKey) { return value ? "true" : "false" }
        return nil
    }

    /// An integer value; throws if present but not an integer.
    public func int(_ key: String) throws(ConfigError) -> Int? {
        guard let text = string(key)?.trimmed else { return nil }
        guard let value = Int(text) else { throw ConfigError("\(key) must be an integer, got '\(text)'") }
        return value
    }

    /// A number of seconds (a decimal); throws if present but not a finite number.
    public func seconds(_ key: String) throws(ConfigError) -> Double? {
        guard let text = string(key)?.trimmed else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw ConfigError("\(key) must be a number of seconds, got '\(text)'")
        }
        return value
    }

    /// A boolean value (`true/false/1/0/yes/no/on/off`); throws if present but not one of those.
    public func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let text = string(key)?.trimmed.lowercased() else { return nil }
        switch text {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigError("\(key) must be true or false, got '\(text)'")
        }
    }

    /// A comma separated list; empty items are dropped.
    public func list(_ key: String) -> [String]? {
        guard let text = string(key) else { return nil }
        return text.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
    }
}

extension String {
    var trimmed: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
