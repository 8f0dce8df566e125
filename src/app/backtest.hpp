// The rule playground's backtest (POST /v1/rules/backtest, issue 15): the stored events
// replayed through the configured rules plus a candidate file, by the same code as
// `redflag replay --outcomes` (app/replay.hpp, app/outcomes.hpp), so that its numbers
// equal the CLI's on the same events and rules.
//
// The stored events (column `events`, each account's in sequence order) are written, in
// time order (stable: an account's keep their order), as an NDJSON log to a private
// temporary folder together with the candidate file, replayed, and the folder removed.
// Nothing is written to the store, no alert or notification reaches the service.
// Not thread-safe (one backtest at a time: the query thread runs it).
#pragma once

#include "store/store.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <string>
#include <vector>

namespace redflag::app {

struct backtest_result {
    bool ok = false;
    std::string error;           // when not ok: what failed
    boost::json::object report;  // render_json of the outcomes (app/outcomes.hpp)
    std::size_t events = 0;      // events replayed
    // Per rule, the accounts it fired for during the replay (sorted, once each).
    std::map<std::string, std::vector<std::string>> flagged;
};

backtest_result run_backtest(const store::store& store, const std::vector<std::string>& rule_paths,
                             const std::string& candidate_file, const std::string& candidate_text);

}  // namespace redflag::app
