// `redflag test FILE...`: rule unit tests (../shared/spec/cli.md, "Rule unit tests").
// Each file names rule files (relative to itself), an optional config (only its channel
// names are used, for `notify` checks), a `start`, a `tick` (default 1h) and tests; each
// test feeds its events, in time order (ties in listed order), into a fresh engine core
// whose evaluation grid is start + k × tick, and checks each expectation after every
// event and tick at or before its `at`, in time order.
//
// Output: one line per test ("ok FILE: NAME" or "FAIL FILE: NAME") and, per failed
// expectation, the instant and expected against actual; then "N passed, M failed".
// Exit status: 0 when every test passed, 1 when one failed, 2 when a file is broken
// (unreadable YAML, a missing or wrong key, rules that do not load, a name that is not
// in the rules): such a file is reported on `err` as "FILE[:LINE:COL]: error: WHAT" and
// its tests are not run; the other files still are.
//
// Not thread-safe (a run owns its cores); never throws.
#pragma once

#include <ostream>
#include <span>
#include <string>

namespace redflag::app {

int run_tests(std::span<const std::string> files, std::ostream& out, std::ostream& err);

}  // namespace redflag::app
