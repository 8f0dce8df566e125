// The JSON of GET /v1/accounts/{id}: profile, contract and MRR movements, users, open
// tickets, recent event counts, the latest scores and classifications, active alerts.
#pragma once

#include "core/time.hpp"
#include "engine/core.hpp"
#include "rules/rule_set.hpp"

#include <boost/json/value.hpp>

namespace redflag::http {

boost::json::value scalar_to_json(const scalar& value);

// A number as JSON: whole numbers as integers (1750, not 1.75E3), others as doubles.
boost::json::value number_to_json(double value);

// `now` anchors the recent event counts (last 7, 30 and 90 days).
boost::json::object account_view(const engine::account_record& record, const rules::rule_set* rules, timestamp now);

// One row of GET /v1/accounts (the console's accounts list and value/effort scatter):
// id, name, csm, csm_email, segment, plan, seats, arr, renewal_at, and every score as
// {"score", "band"}.
boost::json::object account_summary(const engine::account_record& record, const rules::rule_set* rules);
// Only the fields of account_summary that `sort` orders by (http/account_order.hpp's
// account_key reads them), so that a listing builds whole rows for its page alone.
boost::json::object account_sort_fields(const engine::account_record& record, const rules::rule_set* rules,
                                        std::string_view sort);

}  // namespace redflag::http
