#include "ingest/adapters/canonical.hpp"

#include "ingest/adapters/hook_codec.hpp"

namespace redflag::ingest::adapters {

canonical_batch validate_mapped(const hook_result& result, timestamp received_at, const validation_limits& limits) {
    canonical_batch out;
    std::vector<decoded_item> items;
    for (const auto& ev : result.events)
        for (const auto& c : ev.mapped) {
            boost::json::value body(c.body);
            const bool unresolved = c.customer && !c.body.contains("account");
            if (unresolved) body.as_object()["account"] = codec::customer_key(*c.customer);
            items.push_back({std::move(body), items.size()});
            out.vendor_ids.push_back(ev.id);
            out.unresolved.push_back(unresolved ? c.customer : std::nullopt);
        }
    out.validated = validate(std::move(items), received_at, limits);
    return out;
}

}  // namespace redflag::ingest::adapters
