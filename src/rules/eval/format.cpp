#include "rules/eval/format.hpp"

#include <charconv>
#include <cmath>

namespace redflag::rules::eval {
namespace {

constexpr double ms_per_day = 86'400'000.0;

// Rounds to `decimals` places, half away from zero, and drops a negative zero.
double round_to(double x, int decimals) {
    double scale = std::pow(10.0, decimals);
    double r = round_half_away(x * scale) / scale;
    return r == 0 ? 0.0 : r;
}

}  // namespace

void append_number(std::string& out, double x) {
    if (std::isnan(x)) {
        out += "NaN";
        return;
    }
    if (x == 0) x = 0;  // no "-0"
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    if (ec == std::errc{}) out.append(buf, end);
}

void append_days(std::string& out, double days) {
    double d = round_to(days, 1);
    append_number(out, d);
    out += (d == 1 || d == -1) ? " day" : " days";
}

void append_money(std::string& out, double amount) {
    double cents_total = round_half_away(amount * 100);
    if (cents_total < 0) out += '-';
    out += '$';
    double abs_cents = std::fabs(cents_total);
    double whole = std::floor(abs_cents / 100);
    auto cents = static_cast<long long>(abs_cents - whole * 100);
    char buf[40];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(whole));
    if (ec != std::errc{}) return;
    std::size_t n = static_cast<std::size_t>(end - buf);
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0 && (n - i) % 3 == 0) out += ',';
        out += buf[i];
    }
    if (cents != 0) {
        out += '.';
        out += static_cast<char>('0' + cents / 10);
        out += static_cast<char>('0' + cents % 10);
    }
}

void append_formatted(std::string& out, const value& v, ast::template_format fmt) {
    using f = ast::template_format;
    switch (v.k) {
        case kind::null: out += "\u2014"; return;
        case kind::boolean: out += v.b ? "true" : "false"; return;
        case kind::string: out += v.str; return;
        case kind::list:
            for (std::size_t i = 0; i < v.list->size(); ++i) {
                if (i) out += ", ";
                out += (*v.list)[i];
            }
            return;
        case kind::number:
            switch (fmt) {
                case f::round: append_number(out, round_half_away(v.num)); return;
                case f::pct:
                    append_number(out, round_to(v.num * 100, 1));
                    out += '%';
                    return;
                case f::money: append_money(out, v.num); return;
                case f::days: append_days(out, v.num); return;
                default: append_number(out, v.num); return;
            }
        case kind::duration:
            if (fmt == f::round) {
                append_days(out, round_half_away(static_cast<double>(v.ms) / ms_per_day));
                return;
            }
            append_days(out, static_cast<double>(v.ms) / ms_per_day);
            return;
        case kind::time:
            if (fmt == f::date) out += format_date(from_millis(v.ms));
            else out += format_rfc3339(from_millis(v.ms));
            return;
    }
}

}  // namespace redflag::rules::eval
