// Helpers for building events in model tests.
#pragma once

#include "core/time.hpp"
#include "model/event.hpp"

#include <boost/json.hpp>

#include <string>

namespace redflag::model::testing {

inline const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

inline event make_event(event_type type, timestamp at, boost::json::object fields, std::string account = "acme",
                        std::string id = "") {
    event e;
    e.type = type;
    e.account = std::move(account);
    e.id = std::move(id);
    e.at = at;
    e.fields = std::move(fields);
    return e;
}

}  // namespace redflag::model::testing
