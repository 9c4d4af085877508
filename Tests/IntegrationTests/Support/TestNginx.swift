// Starting and stopping a test's nginx: its own process group, watched by a lifeline, stopped by PID.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The nginx master of a test harness (``LiveService``, ``MultiHost``), started from a
/// configuration the harness rendered.
enum TestNginx {
    /// Starts nginx on `conf` with `runDirectory` as its prefix and error log folder, and waits
    /// until `client` gets an answer from it.
    static func start(
        conf: String, runDirectory: String, probe client: HTTPClient, lifeline: Lifeline
    ) throws
        -> Process
    {
        guard let nginxPath = Processes.which("nginx") else {
            throw HTTPClientError(description: "nginx is not installed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nginxPath)
        process.arguments = ["-p", runDirectory, "-c", conf, "-e", runDirectory + "/error.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        lifeline.watch(group: process.processIdentifier)
        let listening = Processes.waitUntil(seconds: 10) { (try? client.get("/__nginx_probe__")) != nil }
        guard listening else {
            stop(process, lifeline: lifeline)
            let errors = (try? String(contentsOfFile: runDirectory + "/error.log", encoding: .utf8)) ?? ""
            throw HTTPClientError(description: "nginx did not start: \(errors)")
        }
        return process
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s.
    static func stop(_ nginx: Process, lifeline: Lifeline) {
        if nginx.isRunning {
            kill(nginx.processIdentifier, SIGTERM)
            if !Processes.waitUntil(seconds: 10, { !nginx.isRunning }) {
                kill(nginx.processIdentifier, SIGKILL)
                nginx.waitUntilExit()
            }
        }
        lifeline.forget(group: nginx.processIdentifier)
    }
}
