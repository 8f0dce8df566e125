// Helpers shared by the rule language's tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace redflag::test_support {

// The whole content of a fixture file; empty when it cannot be read (the test's
// expectations then fail and name the file).
inline std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace redflag::test_support
