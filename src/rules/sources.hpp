// The rule files' texts as load() reads them, for a caller that loads them together with
// one more source (the console's rule playground, POST /v1/rules/check).
#pragma once

#include "rules/rule_set.hpp"

#include <span>
#include <string>
#include <vector>

namespace redflag::rules {

// The texts load() would read for `paths` (folders expanded the same way: their *.rules
// files in name order); what cannot be read is added to `problems` as an error.
std::vector<source_text> read_sources(std::span<const std::string> paths, diagnostics& problems);

}  // namespace redflag::rules
