#include "model/goals.hpp"

#include "model/schema.hpp"

namespace redflag::model {
namespace {

std::size_t index_of(std::string_view field) { return *stream_field_index(event_type::goal, field); }

std::string_view text(const scalar& v) {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    return {};
}

std::optional<goal_status> status_of(std::string_view status) {
    for (std::size_t i = 0; i < goal_status_names.size(); ++i)
        if (goal_status_names[i] == status) return static_cast<goal_status>(i);
    return std::nullopt;
}

}  // namespace

goal_counts count_goals(const account_state& state, timestamp now, timestamp& next) {
    // Function statics: schema.cpp's tables are initialised before first use.
    static const std::size_t id_at = index_of("goal_id"), status_at = index_of("status"), due_at = index_of("due_at");
    const auto& records = state.stream(event_type::goal);
    goal_counts out;
    next = timestamp_max;
    std::size_t end = 0;
    while (end < records.size() && records[end].at <= now) ++end;
    if (end < records.size()) next = records[end].at;
    // Records are sorted by time, so record i is its goal's latest when no later one (up
    // to now) names the same goal; goals per account are few, so the quadratic scan
    // allocates nothing.
    for (std::size_t i = 0; i < end; ++i) {
        const auto id = text(records[i].values[id_at]);
        bool superseded = false;
        for (std::size_t j = i + 1; j < end && !superseded; ++j) superseded = text(records[j].values[id_at]) == id;
        if (superseded) continue;
        auto status = status_of(text(records[i].values[status_at]));
        if (!status) continue;
        if (*status == goal_status::open) {
            if (const auto* due = std::get_if<timestamp>(&records[i].values[due_at])) {
                if (*due <= now) {
                    status = goal_status::missed;
                    ++out.overdue;
                } else if (*due < next) {
                    next = *due;
                }
            }
        }
        ++out.by_status[static_cast<std::size_t>(*status)];
    }
    return out;
}

}  // namespace redflag::model
