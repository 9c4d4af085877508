// The development secret: generated once from the CSPRNG into the instance folder, then reused.

import Flagon
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The secret a development instance uses when `SECRET_KEY` or `JWT_SECRET_KEY` is not
/// configured: 64 random bytes from the system's CSPRNG, kept as hex in
/// `<instance>/development-secret` (mode 0600), the first half for `SECRET_KEY` and the second
/// for `JWT_SECRET_KEY` (32 bytes each).
///
/// Several workers started at once (spawn-fcgi) must all end up with the same key: each writes
/// its candidate to a private temporary file and `link(2)`s it to the final name, which fails
/// for all but the first; every worker then reads the one file that won. A reader never sees
/// a partly written secret, since the file only gets its name once complete.
struct DevelopmentSecret: Equatable {
    static let fileName = "development-secret"
    static let byteCount = 64

    let secretKey: String
    let jwtSecretKey: String

    /// Reads the instance's secret, generating it on the first start.
    /// - Throws: ``ConfigError`` with a one-line reason when the folder or file cannot be used.
    static func load(instancePath: String, logger: Logger?) throws(ConfigError) -> DevelopmentSecret {
        let path = instancePath + "/" + fileName
        do {
            try PrivateFiles.folder(instancePath, logger: logger)
            if let existing = try read(path, logger: logger) { return existing }
            try create(path)
            logger?.notice(
                "generated a development secret; configure SECRET_KEY and JWT_SECRET_KEY for production",
                metadata: ["path": "\(path)"])
            guard let created = try read(path, logger: logger) else {
                throw PrivateFileError("\(path) vanished after it was created")
            }
            return created
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError("cannot use the development secret \(path): \(error)")
        }
    }

    /// The secret in `path`, or nil if there is no such file.
    private static func read(_ path: String, logger: Logger?) throws -> DevelopmentSecret? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw PrivateFileError(String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw PrivateFileError("not a regular file")
        }
        if status.st_mode & 0o077 != 0 {
            _ = fchmod(fd, PrivateFiles.fileMode)
            logger?.warning(
                "tightened the mode of the development secret", metadata: ["path": "\(path)", "now": "600"])
        }
        var buffer = [UInt8](repeating: 0, count: 2 * byteCount + 2)
        var length = 0
        while length < buffer.count {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + length, $0.count - length) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw PrivateFileError(String(cString: strerror(errno))) }
            if count == 0 { break }
            length += count
        }
        let text = String(decoding: buffer[..<length], as: UTF8.self).trimmingCharacters(in: .newlines)
        guard text.utf8.count == 2 * byteCount, text.utf8.allSatisfy({ isHexDigit($0) }) else {
            throw ConfigError("\(path) does not hold a secret this service wrote; delete it to generate a new one")
        }
        return DevelopmentSecret(
            secretKey: String(text.prefix(byteCount)), jwtSecretKey: String(text.suffix(byteCount)))
    }

    /// Writes a fresh secret under `path` unless another process got there first.
    private static func create(_ path: String) throws {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let digits = Array("0123456789abcdef".utf8)
        var text = bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }
        text.append(UInt8(ascii: "\n"))

        let temporary = "\(path).\(getpid()).\(UInt64.random(in: .min ... .max, using: &generator)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, PrivateFiles.fileMode)
        guard fd >= 0 else { throw PrivateFileError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        defer { unlink(temporary) }
        var written = 0
        var failure: Int32 = 0
        _ = fchmod(fd, PrivateFiles.fileMode)
        while written < text.count {
            let count = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 {
                failure = errno
                break
            }
            written += count
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        guard failure == 0 else {
            throw PrivateFileError("cannot write \(temporary): \(String(cString: strerror(failure)))")
        }
        // The first link wins; a later one finds the name taken and uses the winner's secret.
        if link(temporary, path) != 0, errno != EEXIST {
            throw PrivateFileError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte)
    }
}
