// What this binary is: the version (CMake's project version), the git revision it was
// built from ("-dirty" with uncommitted changes, "unknown" outside a checkout, or
// -DREDFLAG_REVISION=... for a package build), the compiler and the build type.
// Exposed as redflag_build_info{version,revision,compiler,build_type} 1 and printed by
// `redflag version`. The definition is generated at build time (cmake/build_info.cmake).
#pragma once

#include <string_view>

namespace redflag::metrics {

struct build_info {
    std::string_view version;
    std::string_view revision;
    std::string_view compiler;
    std::string_view build_type;
};

const build_info& this_build();

}  // namespace redflag::metrics
