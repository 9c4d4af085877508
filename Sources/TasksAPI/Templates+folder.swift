// Where the templates folder is: TEMPLATES_PATH, else the installed layout's, else the working directory's.

import Flagon
import Foundation

extension Templates {
    /// The templates folder for this configuration.
    ///
    /// `TEMPLATES_PATH` when set (relative to the working directory, as `INSTANCE_PATH` is).
    /// Otherwise `templates` beside the folder of the running executable when it exists, which
    /// is the installed layout: `/opt/tasks-api/bin/tasks-api` reads `/opt/tasks-api/templates`
    /// whatever its working directory (the unit's is `/var/lib/tasks-api`). Otherwise
    /// `templates` in the working directory, a checkout's (`make run`, `make dev`, the tests).
    /// - Parameter executable: the running executable's path; tests pass another.
    public static func folder(config: Config, executable: String? = runningExecutable()) -> String {
        if let configured = config.string("TEMPLATES_PATH"), !configured.isEmpty { return configured }
        if let executable {
            let installed = URL(fileURLWithPath: executable).deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("templates").path
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: installed, isDirectory: &isFolder), isFolder.boolValue {
                return installed
            }
        }
        return "templates"
    }

    /// The running executable, symbolic links resolved (`/proc/self/exe`).
    public static func runningExecutable() -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }
}
