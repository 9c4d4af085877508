// The unix socket file: final mode and group, symlinks never followed, stale replaced, live refused.

import Foundation
import Testing

@testable import FastCGI

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Listener unix socket")
struct ListenerTests {
    /// A fresh directory for one test, removed afterwards.
    private final class Scratch {
        let path: String
        init() throws {
            var template = Array("/tmp/tasks-api-listener-XXXXXX".utf8CString)
            path = String(cString: try #require(mkdtemp(&template)))
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    private func info(_ path: String) -> stat? {
        var result = stat()
        return lstat(path, &result) == 0 ? result : nil
    }

    /// A group other than the process's own, so that setting it shows.
    private func otherGroup() -> (name: String, gid: gid_t)? {
        let gid = getegid()
        if geteuid() != 0 {
            return getgrgid(gid).map { (String(cString: $0.pointee.gr_name), gid) }
        }
        for name in ["daemon", "bin", "sys", "adm", "www-data"] {
            if let entry = getgrnam(name), entry.pointee.gr_gid != gid { return (name, entry.pointee.gr_gid) }
        }
        return nil
    }

    @Test("created with mode 0660 and the given group, whatever the umask; nothing left beside it")
    func modeAndGroup() throws {
        let scratch = try Scratch()
        let group = try #require(otherGroup())
        let path = scratch.path + "/pool.sock"
        let listener = try Listener.open(.unix(path: path), group: group.name)
        defer { listener.close() }
        let file = try #require(info(path))
        #expect(file.st_mode & S_IFMT == S_IFSOCK)
        #expect(file.st_mode & 0o7777 == 0o660)
        #expect(file.st_gid == group.gid)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["pool.sock"])
    }

    @Test("a symlink planted at the path is replaced, never followed: its target keeps mode and owner")
    func symlinkNotFollowed() throws {
        let scratch = try Scratch()
        let group = try #require(otherGroup())
        let target = scratch.path + "/precious"
        #expect(FileManager.default.createFile(atPath: target, contents: Data("x".utf8)))
        chmod(target, 0o600)
        let before = try #require(info(target))
        let path = scratch.path + "/pool.sock"
        #expect(symlink(target, path) == 0)

        let listener = try Listener.open(.unix(path: path), mode: 0o666, group: group.name)
        let after = try #require(info(target))
        #expect(after.st_mode == before.st_mode)
        #expect(after.st_uid == before.st_uid && after.st_gid == before.st_gid)
        #expect(try #require(info(path)).st_mode & S_IFMT == S_IFSOCK)
        listener.close()
        #expect(info(path) == nil)
        #expect(info(target) != nil, "closing removes the socket, not the old link's target")
    }

    @Test("a stale socket file is replaced; a live one is refused and left alone")
    func staleAndLive() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/pool.sock"
        // A socket file nobody listens on, as a crashed master leaves it.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: path.utf8) }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(stale)
        try #require(bound == 0)
        let staleInode = try #require(info(path)).st_ino

        let live = try Listener.open(.unix(path: path))
        defer { live.close() }
        let liveInode = try #require(info(path)).st_ino
        #expect(liveInode != staleInode)

        #expect(throws: Listener.Failure.self) { try Listener.open(.unix(path: path)) }
        #expect(info(path)?.st_ino == liveInode)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["pool.sock"])
    }

    @Test("a regular file at the path is refused")
    func regularFileRefused() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/pool.sock"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep".utf8)))
        #expect(throws: Listener.Failure.self) { try Listener.open(.unix(path: path)) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep")
    }

    @Test("close leaves a socket file that replaced this one")
    func closeLeavesReplacement() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/pool.sock"
        let first = try Listener.open(.unix(path: path))
        // Another server took the path over (as after a reload with a new master).
        unlink(path)
        let second = try Listener.open(.unix(path: path))
        defer { second.close() }
        let secondInode = try #require(info(path)).st_ino
        first.close()
        #expect(info(path)?.st_ino == secondInode)
    }

    @Test("--bind off loopback without FCGI_WEB_SERVER_ADDRS fails before anything is bound")
    func tcpRefusal() {
        for webServers in [nil, ""] as [String?] {
            #expect(throws: Listener.Failure.self) {
                try Listener.open(.tcp(host: "0.0.0.0", port: 1), webServers: webServers)
            }
        }
    }
}
