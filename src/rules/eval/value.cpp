#include "rules/eval/value.hpp"

#include <cmath>
#include <type_traits>

namespace redflag::rules::eval {

value from_scalar(const scalar& s) {
    return std::visit(
        [](const auto& v) -> value {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) return value::null();
            else if constexpr (std::is_same_v<T, bool>) return value::boolean(v);
            else if constexpr (std::is_same_v<T, double>) return value::number(v);
            else if constexpr (std::is_same_v<T, timestamp>) return value::of_time(v);
            else if constexpr (std::is_same_v<T, std::string>) return value::string(v);
            else return value::of_list(v);
        },
        s);
}

bool equal(const value& a, const value& b) {
    if (a.k != b.k) return false;
    switch (a.k) {
        case kind::null: return true;
        case kind::boolean: return a.b == b.b;
        case kind::number: return a.num == b.num;
        case kind::string: return a.str == b.str;
        case kind::duration:
        case kind::time: return a.ms == b.ms;
        case kind::list: return a.list == b.list || (a.list && b.list && *a.list == *b.list);
    }
    return false;
}

double round_half_away(double x) { return std::round(x); }  // std::round rounds half away from zero

}  // namespace redflag::rules::eval
