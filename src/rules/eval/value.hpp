// The evaluator's runtime value: a small, non-owning, trivially copyable value of the rule
// language (null, bool, number, string, duration, time, list of strings). Strings and
// lists point into the account state, into the compiled program's constants, or into the
// evaluation frame's scratch strings, so a value is valid only during the evaluation
// that produced it.
//
// A value also carries how it depends on the evaluation instant, so that the evaluator
// can tell when a comparison will flip with no new event (evaluation::next_change):
// `slope` is d(value)/d(now) per millisecond (1 for since(x) and now(), 1/86400000 for
// days(since(x))), and `nonlinear` marks a value that depends on now in a way the
// evaluator does not invert (e.g. 1 / since(x)): the engine then falls back to its tick.
//
// Plain data: thread-safe to copy; nothing here fails.
#pragma once

#include "core/scalar.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <string_view>
#include <type_traits>

namespace redflag::rules::eval {

enum class kind : std::uint8_t { null, boolean, number, string, duration, time, list };

// 32 bytes: the payload members share storage, and only the one of kind `k` is meaningful
// (every reader checks `k` first). Values are returned and copied at every node of the
// tree walk, so their size shows in the evaluation's cost.
struct value {
    kind k = kind::null;
    bool b = false;            // boolean
    bool nonlinear = false;    // depends on now() in a form the evaluator cannot invert
    bool dynamic = false;      // read from account.attributes: typed at run time
    union {
        double num;                    // number
        std::int64_t ms;               // duration, or time as milliseconds since the epoch
        std::string_view str;          // string
        const string_list* list;       // list
    };
    double slope = 0;          // d value / d now, per millisecond

    value() : num(0) {}

    bool is_null() const { return k == kind::null; }
    bool time_dependent() const { return slope != 0 || nonlinear; }

    static value null() { return {}; }
    static value boolean(bool v) {
        value r;
        r.k = kind::boolean;
        r.b = v;
        return r;
    }
    static value number(double v) {
        value r;
        r.k = kind::number;
        r.num = v;
        return r;
    }
    static value string(std::string_view v) {
        value r;
        r.k = kind::string;
        r.str = v;
        return r;
    }
    static value of_duration(duration d) {
        value r;
        r.k = kind::duration;
        r.ms = d.count();
        return r;
    }
    static value of_time(timestamp t) {
        value r;
        r.k = kind::time;
        r.ms = to_millis(t);
        return r;
    }
    static value of_list(const string_list& l) {
        value r;
        r.k = kind::list;
        r.list = &l;
        return r;
    }
};

static_assert(sizeof(value) == 32 && std::is_trivially_copyable_v<value>);

// A view of a stored scalar (the scalar must outlive the value).
value from_scalar(const scalar& s);

// `and`, `or`, `not`, `if` and `where` read a value as a condition: only `true` holds
// (null and everything else is false).
inline bool truthy(const value& v) { return v.k == kind::boolean && v.b; }

// == between two values: null equals null only; values of different kinds are unequal.
bool equal(const value& a, const value& b);

// Round half away from zero, as scores and the template `round` format do.
double round_half_away(double x);

}  // namespace redflag::rules::eval
