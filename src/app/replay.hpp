// `redflag replay --rules PATH --events FILE [--from T] [--until T] [--step 1h]
// [--threads N]`: a backtest. Streams an NDJSON event log (the JSON shape of
// ../shared/spec/events.md, one event a line, in time order) through the same engine core
// as `serve`, in event time: every event is evaluated at its `at`, and the grid from the
// first event's `at` in `step`s (default 1h) wakes time-driven rules. Prints every alert
// transition as one NDJSON line, ordered by instant, then account, then occurrence:
//   {"at":"2026-03-02T00:00:00Z","rule":"usage_drop","account":"acme","state":"firing","severity":"high","message":"..."}
// `state` is the state entered: "pending", "firing", "resolved", or "inactive" for a
// pending alert whose condition cleared before `for` elapsed.
//
// Accounts are independent, so the log is replayed by N engine cores in parallel (N =
// --threads, default one per CPU), each owning the accounts that hash to it; the output
// does not depend on N. With --outcomes the replay runs on one core in file order.
//
// --from T: events before T still build state, but only transitions at or after T are
// printed. --until T: reading stops at the first event after T and the clock runs on to
// T; without it the replay ends at the last event. A line older than the replay's clock
// (an out-of-order log) is applied at its own time and evaluated at the clock (with
// several cores: the clock of its account's core).
//
// Each line is decoded and validated by the one event decoder of live ingest
// (ingest/validate.hpp), with the same problems, except that `at` is required and no
// time bound applies (a replay is history). Exit status 0, or 1 with a message on `err`:
// rules that do not load, an unreadable file, or a bad line ("FILE:LINE: error: FIELD:
// MESSAGE", problems joined by "; "); transitions before a bad line have been printed
// already.
//
// --outcomes: a replay_observer (app/outcomes.hpp) sees the rules, every event and every
// alert event, and writes its report at the end; asking for outcomes without one fails
// with exit status 1, and so does an observer that cannot write its report.
//
// run_replay is not thread-safe (it runs its own threads); never throws. Per line it
// allocates only what the event model keeps (the JSON is parsed into a reused monotonic
// buffer).
#pragma once

#include "alerts/lifecycle.hpp"
#include "core/time.hpp"
#include "model/event.hpp"

#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace redflag::app {

struct replay_options {
    std::vector<std::string> rules;  // .rules files or folders
    std::string events;              // NDJSON file; "-" reads standard input
    std::optional<timestamp> from;
    std::optional<timestamp> until;
    duration step = hour;
    bool outcomes = false;
    // Engine cores replaying in parallel, each owning the accounts that hash to it; 0: one
    // per CPU. With an observer (--outcomes) the replay runs on one core in file order.
    std::size_t threads = 0;
    // The file is read and handed to the cores in blocks of about this size (tests use
    // small ones to exercise the merge across blocks).
    std::size_t block_bytes = 4 << 20;
};

// Watches a replay, for --outcomes (precision, recall, lead time, noise per rule).
class replay_observer {
public:
    virtual ~replay_observer() = default;
    // Once, before the first event: the loaded rules (alert records' rule_index refers to them).
    virtual void on_rules(std::span<const rules::rule_definition> rules) { (void)rules; }
    // Every event the replay applies, before it is applied.
    virtual void on_event(const model::event& e) = 0;
    // Every alert event (transitions, repeats), in event time order.
    virtual void on_alert(const alerts::alert_event& e) = 0;
    // After the last event (and --until); `out` holds the transitions. False: the report
    // could not be written (the observer said why on `err`), and the replay exits 1.
    virtual bool finish(std::ostream& out, std::ostream& err) = 0;
};

int run_replay(const replay_options& options, std::ostream& out, std::ostream& err,
               replay_observer* observer = nullptr);

}  // namespace redflag::app
