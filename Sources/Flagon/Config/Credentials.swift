// Secrets from systemd's credentials directory (`LoadCredential=`), one file per key.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The secrets systemd hands a service as files in `$CREDENTIALS_DIRECTORY`
/// (`LoadCredential=SECRET_KEY:…` makes the file `SECRET_KEY` there).
///
/// Unlike an environment variable, a credential is not inherited by every child, is not
/// visible in `/proc/PID/environ` and is readable by the service's user only; systemd
/// documents it as the safer way. Hence a credential wins over the variable of the same name.
enum Credentials {
    static let directoryVariable = "CREDENTIALS_DIRECTORY"

    /// systemd itself caps a credential at 1 MiB; a secret is far shorter.
    static let maximumBytes = 65536

    /// The value of each of `keys` that has a file in `directory`; none without a directory.
    /// One trailing newline is dropped, so a file written with `echo` holds the same secret
    /// as the variable.
    /// - Throws: ``ConfigError`` naming the key (never the value) for a file that exists but
    ///   cannot be read, is too large or is not UTF-8 text.
    static func values(keys: Set<String>, directory: String?) throws(ConfigError) -> [String: String] {
        guard let directory, !directory.isEmpty else { return [:] }
        var values: [String: String] = [:]
        for key in keys.sorted() {
            if let value = try value(of: key, path: directory + "/" + key) { values[key] = value }
        }
        return values
    }

    private static func value(of key: String, path: String) throws(ConfigError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw ConfigError("cannot read the credential \(key): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw ConfigError("cannot read the credential \(key): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= maximumBytes else {
                throw ConfigError("the credential \(key) is larger than \(maximumBytes) bytes")
            }
        }
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError("the credential \(key) is not UTF-8 text")
        }
        return text
    }
}
