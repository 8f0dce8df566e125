// The one place where adapters' output meets ingest's decoder and validator: mapped
// canonical events become model events exactly as POST /v1/events would make them
// (same checks, same limits, same derived ids). Kept small on purpose: when ingest's
// entry points change, this is the only adapter code that follows.
#pragma once

#include "core/time.hpp"
#include "ingest/adapters/hook.hpp"
#include "ingest/validate.hpp"

#include <string>
#include <vector>

namespace redflag::ingest::adapters {

struct canonical_batch {
    validation_result validated;          // the batch's events, or every problem found
    std::vector<std::string> vendor_ids;  // validated index -> the vendor event it came from
};

// Validates every mapped event of `result`, in order (ignored vendor events add none).
canonical_batch validate_mapped(const hook_result& result, timestamp received_at, const validation_limits& limits = {});

}  // namespace redflag::ingest::adapters
