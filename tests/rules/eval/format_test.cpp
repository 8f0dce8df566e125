#include "rules/eval/format.hpp"

#include <gtest/gtest.h>

namespace redflag::rules::eval {
namespace {

using f = ast::template_format;

std::string text(const value& v, f fmt = f::none) {
    std::string out;
    append_formatted(out, v, fmt);
    return out;
}

TEST(Format, numbers_print_in_shortest_form) {
    EXPECT_EQ(text(value::number(3)), "3");
    EXPECT_EQ(text(value::number(61.25)), "61.25");
    EXPECT_EQ(text(value::number(0.1)), "0.1");
    EXPECT_EQ(text(value::number(-0.0)), "0");
}

TEST(Format, null_is_an_em_dash_whatever_the_format) {
    EXPECT_EQ(text(value::null()), "\u2014");
    EXPECT_EQ(text(value::null(), f::money), "\u2014");
}

TEST(Format, round_is_half_away_from_zero) {
    EXPECT_EQ(text(value::number(2.5), f::round), "3");
    EXPECT_EQ(text(value::number(-2.5), f::round), "-3");
    EXPECT_EQ(text(value::number(14.49), f::round), "14");
}

TEST(Format, pct) {
    EXPECT_EQ(text(value::number(0.25), f::pct), "25%");
    EXPECT_EQ(text(value::number(1.0 / 3), f::pct), "33.3%");
    EXPECT_EQ(text(value::number(-0.5), f::pct), "-50%");
}

TEST(Format, money) {
    EXPECT_EQ(text(value::number(12400), f::money), "$12,400");
    EXPECT_EQ(text(value::number(1234567.5), f::money), "$1,234,567.50");
    EXPECT_EQ(text(value::number(999), f::money), "$999");
    EXPECT_EQ(text(value::number(-5000), f::money), "-$5,000");
    EXPECT_EQ(text(value::number(0), f::money), "$0");
}

TEST(Format, durations_as_days) {
    EXPECT_EQ(text(value::of_duration(14 * day), f::days), "14 days");
    EXPECT_EQ(text(value::of_duration(14 * day)), "14 days");
    EXPECT_EQ(text(value::of_duration(day)), "1 day");
    EXPECT_EQ(text(value::of_duration(36 * hour)), "1.5 days");
    EXPECT_EQ(text(value::of_duration(36 * hour), f::round), "2 days");
}

TEST(Format, times) {
    timestamp t = *parse_rfc3339("2026-11-22T09:30:00Z");
    EXPECT_EQ(text(value::of_time(t)), "2026-11-22T09:30:00Z");
    EXPECT_EQ(text(value::of_time(t), f::date), "2026-11-22");
}

TEST(Format, strings_bools_and_lists) {
    EXPECT_EQ(text(value::string("Acme")), "Acme");
    EXPECT_EQ(text(value::boolean(true)), "true");
    string_list products{"backup", "email_security"};
    EXPECT_EQ(text(value::of_list(products)), "backup, email_security");
}

}  // namespace
}  // namespace redflag::rules::eval
