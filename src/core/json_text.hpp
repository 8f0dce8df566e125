// Writing JSON text by hand where building a boost::json value per line would cost more
// than the line itself (replay's NDJSON output, diagnostics).
#pragma once

#include <string>
#include <string_view>

namespace redflag {

// Appends `text` as a JSON string literal, quotes included: `"`, `\` and control
// characters escaped; other bytes (UTF-8 included) copied as they are.
void append_json_string(std::string& out, std::string_view text);

}  // namespace redflag
