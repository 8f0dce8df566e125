// A value stored in account state: a profile field, an event field kept for rule
// streams, an attribute. The rule evaluator reads these (it has its own non-owning
// runtime value type); the codecs in model/ serialise them.
#pragma once

#include "core/time.hpp"

#include <string>
#include <variant>
#include <vector>

namespace redflag {

using string_list = std::vector<std::string>;

// null (monostate), bool, number, time, string, list of strings (e.g. products).
using scalar = std::variant<std::monostate, bool, double, timestamp, std::string, string_list>;

inline bool is_null(const scalar& s) { return std::holds_alternative<std::monostate>(s); }

}  // namespace redflag
