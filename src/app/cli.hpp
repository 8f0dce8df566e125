// The `redflag` command (../shared/spec/cli.md): serve, check, test, replay, fmt, version.
#pragma once

namespace redflag::app {

// Parses argv and runs the subcommand; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace redflag::app
