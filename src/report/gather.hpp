// Where the weekly report's facts (weekly.hpp) come from, read through the engine's
// query seams, never written: each shard's accounts (engine::service::post_all, on the
// shard's thread), then the health history's point of a week ago and the alert records
// (the store, on the caller's thread: a query thread or the report mailer's).
//
//   collect_accounts(service, now, done)  ──► facts of every account (done runs once, on
//                                           the last shard's thread)
//   complete(store, input)                ──► health a week ago, alert records
//
// Thread-safety: as the service's post_all and the store's reads. Failures: a store
// read that fails is returned as its status (the report is then not built).
#pragma once

#include "engine/core.hpp"
#include "engine/history.hpp"
#include "engine/service.hpp"
#include "report/weekly.hpp"
#include "store/store.hpp"

#include <functional>
#include <vector>

namespace redflag::report {

// The facts of one core's accounts of CSM `csm` (weekly.hpp's matches(); empty: all),
// the company account left out, appended to `out`.
void collect(const engine::core& core, timestamp now, const std::string& csm, std::vector<account_facts>& out);

// collect() on every shard; `done` gets them all, with the health bands of the current
// rules (score `health`, best first; empty without one).
void collect_accounts(engine::service& service, timestamp now, std::string csm,
                      std::function<void(std::vector<account_facts>, std::vector<std::string> health_bands)> done);

// The health history's points of `account` (oldest first; unreadable ones skipped).
store::status read_history(const store::store& store, std::string_view account,
                           std::vector<engine::history::point>& out);

// Fills in, for the accounts of `in` that match its CSM filter, the health a week ago
// (history point of the UTC day of now - 7d), and reads every alert record.
store::status complete(const store::store& store, weekly_input& in);

}  // namespace redflag::report
