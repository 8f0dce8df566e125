#include "ingest/adapters/canonical.hpp"

namespace redflag::ingest::adapters {

canonical_batch validate_mapped(const hook_result& result, timestamp received_at, const validation_limits& limits) {
    canonical_batch out;
    std::vector<decoded_item> items;
    for (const auto& ev : result.events)
        for (const auto& c : ev.mapped) {
            items.push_back({boost::json::value(c.body), items.size()});
            out.vendor_ids.push_back(ev.id);
        }
    out.validated = validate(std::move(items), received_at, limits);
    return out;
}

}  // namespace redflag::ingest::adapters
