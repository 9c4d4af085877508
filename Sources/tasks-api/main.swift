// Entry point: block the control signals before any thread exists, then run the command.

import FastCGI

Signals.blockControlSignals()
TasksAPICommand.main()
