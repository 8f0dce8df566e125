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

// The identity of a rule set's texts, so that the instances of a cluster can tell whether
// they run the same rules (rule_definition::fingerprint is another thing: per rule, and
// structural). SHA-256 as 64 hex digits over each source in load order: its file name
// without the folder, and its text. The folders may differ between machines; a renamed
// file, another order or any changed byte (a comment too) changes it.
std::string source_fingerprint(std::span<const source_text> sources);

}  // namespace redflag::rules
