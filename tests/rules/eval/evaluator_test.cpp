// The evaluator on hand-built compiled programs: aggregates, window edges, null rules,
// runtime typing of attributes, and next-change instants. Rule text end to end is in
// tests/rules/compile/rule_set_test.cpp.
#include "rules/eval/evaluator.hpp"

#include "model/schema.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace redflag::rules::eval {
namespace {

using model::event_type;

const timestamp t0 = from_millis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

struct fixture {
    program p;
    model::account_state account;

    node& make(op code) {
        p.nodes.push_back(std::make_unique<node>());
        p.nodes.back()->code = code;
        return *p.nodes.back();
    }
    const node* num(double x) {
        node& n = make(op::constant);
        n.value_ = value::number(x);
        return &n;
    }
    const node* str(std::string s) {
        node& n = make(op::constant);
        n.text_ = std::move(s);
        n.value_ = value::string(n.text_);
        return &n;
    }
    const node* dur(duration d) {
        node& n = make(op::constant);
        n.value_ = value::of_duration(d);
        return &n;
    }
    const node* null() { return &make(op::constant); }
    const node* bin(op code, const node* a, const node* b) {
        node& n = make(code);
        n.args = {a, b};
        return &n;
    }
    const node* un(op code, const node* a) {
        node& n = make(code);
        n.args = {a};
        return &n;
    }
    const node* field(std::uint32_t index) {
        node& n = make(op::item_field);
        n.sub_ = index;
        return &n;
    }
    const node* attribute(std::string key) {
        node& n = make(op::account_attribute);
        n.key_ = std::move(key);
        return &n;
    }
    // An aggregate over nps.score (or the bare type with field -1).
    const node* agg(op code, event_type type, std::int32_t field, std::optional<window_spec> w = {},
                    const node* filter = nullptr) {
        node& n = make(code);
        n.source_.kind = source_kind::records;
        n.source_.type = type;
        n.source_.field = field;
        n.source_.filter = filter;
        if (w) n.window_ = *w;
        return &n;
    }
    const node* usage(op code, std::string metric, std::optional<window_spec> w = {}) {
        node& n = make(code);
        n.source_.kind = metric.empty() ? source_kind::usage_all : source_kind::usage_metric;
        n.source_.type = event_type::usage;
        n.source_.metric = std::move(metric);
        n.source_.field = 0;
        if (w) n.window_ = *w;
        return &n;
    }
    const node* since_type(event_type type) {
        node& n = make(op::since_stream);
        n.source_.kind = type == event_type::usage ? source_kind::usage_all : source_kind::records;
        n.source_.type = type;
        return &n;
    }

    void nps(timestamp at, double score) {
        account.stream_for(event_type::nps).push_back({at, {score, scalar{}, scalar{}}});
        if (auto latest = account.latest_of(event_type::nps); !latest || at > *latest) account.set_latest_of(event_type::nps, at);
        if (!account.first_seen || at < *account.first_seen) account.first_seen = at;
    }
    void point(const std::string& metric, timestamp at, double sum, std::uint32_t count = 1) {
        account.usage[metric].points.push_back({at, sum, count});
        if (auto latest = account.latest_of(event_type::usage); !latest || at > *latest)
            account.set_latest_of(event_type::usage, at);
        if (!account.first_seen || at < *account.first_seen) account.first_seen = at;
    }

    value run(const node* n, timestamp now, timestamp* next = nullptr, std::uint32_t* errors = nullptr) {
        frame f;
        evaluator ev(p, account, now, duration{60'000}, f);
        value v = ev.eval(*n);
        if (next) *next = ev.next_change();
        if (errors) *errors = ev.runtime_errors();
        return v;
    }
};

window_spec win(duration length, duration offset = duration{0}) { return {true, length, offset}; }

const std::int32_t nps_score = 0;

TEST(Evaluator, alert_facts_give_the_count_and_a_wait_that_grows_with_now) {
    fixture f;
    node& count = f.make(op::alert_facts);
    count.sub_ = 0;
    node& wait = f.make(op::alert_facts);
    wait.sub_ = 1;
    const node* over = f.bin(op::gt, &wait, f.dur(2 * day));
    // None supplied (a wake_if, a channel template): 0 and null, no next change.
    timestamp next{};
    EXPECT_EQ(f.run(&count, t0, &next).num, 0);
    EXPECT_TRUE(f.run(&wait, t0, &next).is_null());
    EXPECT_EQ(next, timestamp_max);
    alert_facts facts{.unacked = 3, .unacked_since = t0 - day, .next_change = t0 + 5 * day};
    auto run = [&](const node* n, timestamp now) {
        frame fr;
        evaluator ev(f.p, f.account, now, duration{60'000}, fr);
        ev.set_alert_facts(&facts);
        value v = ev.eval(*n);
        next = ev.next_change();
        return v;
    };
    EXPECT_EQ(run(&count, t0).num, 3);
    EXPECT_EQ(next, t0 + 5 * day);  // a snooze among them ends then
    value v = run(&wait, t0);
    EXPECT_EQ(v.k, kind::duration);
    EXPECT_EQ(v.ms, day.count());
    // Waiting 1 day: exactly 2 days at t0 + 1d (noted), over it a millisecond later.
    EXPECT_FALSE(truthy(run(over, t0)));
    EXPECT_EQ(next, t0 + day);
    EXPECT_FALSE(truthy(run(over, t0 + day)));
    EXPECT_EQ(next, t0 + day + duration{1});
    EXPECT_TRUE(truthy(run(over, t0 + day + duration{1})));
    facts.unacked = 0;
    facts.unacked_since.reset();
    EXPECT_FALSE(truthy(run(over, t0 + 9 * day)));
}

TEST(Evaluator, window_holds_events_after_start_up_to_and_including_now) {
    fixture f;
    timestamp now = t0 + 30 * day;
    f.nps(now - 7 * day, 1);                  // exactly t - D: outside
    f.nps(now - 7 * day + duration{1}, 2);    // just inside
    f.nps(now, 4);                            // exactly t: inside
    f.nps(now + duration{1}, 8);              // after t: outside
    EXPECT_EQ(f.run(f.agg(op::count, event_type::nps, -1, win(7 * day)), now).num, 2);
    EXPECT_EQ(f.run(f.agg(op::sum, event_type::nps, nps_score, win(7 * day)), now).num, 6);
    // Without a window: everything up to now.
    EXPECT_EQ(f.run(f.agg(op::count, event_type::nps, -1), now).num, 3);
    EXPECT_EQ(f.run(f.agg(op::last, event_type::nps, nps_score), now).num, 4);
}

TEST(Evaluator, offset_window_is_shifted_back_by_the_offset) {
    fixture f;
    timestamp now = t0 + 60 * day;
    // 28d offset 7d holds now-35d < at <= now-7d.
    f.nps(now - 35 * day, 1);  // outside (start edge)
    f.nps(now - 20 * day, 2);
    f.nps(now - 7 * day, 3);   // inside (end edge)
    f.nps(now - 6 * day, 9);   // in the last week: outside
    EXPECT_EQ(f.run(f.agg(op::sum, event_type::nps, nps_score, win(28 * day, 7 * day)), now).num, 5);
    EXPECT_EQ(f.run(f.agg(op::first, event_type::nps, nps_score, win(28 * day, 7 * day)), now).num, 2);
    EXPECT_EQ(f.run(f.agg(op::last, event_type::nps, nps_score, win(28 * day, 7 * day)), now).num, 3);
}

TEST(Evaluator, aggregates_over_a_numeric_field) {
    fixture f;
    timestamp now = t0 + 10 * day;
    f.nps(t0 + 1 * day, 8);
    f.nps(t0 + 2 * day, 6);
    f.nps(t0 + 3 * day, 8);
    f.nps(t0 + 4 * day, 0);
    auto w = win(10 * day);
    EXPECT_EQ(f.run(f.agg(op::count, event_type::nps, nps_score, w), now).num, 4);
    EXPECT_EQ(f.run(f.agg(op::sum, event_type::nps, nps_score, w), now).num, 22);
    EXPECT_EQ(f.run(f.agg(op::avg, event_type::nps, nps_score, w), now).num, 5.5);
    EXPECT_EQ(f.run(f.agg(op::min, event_type::nps, nps_score, w), now).num, 0);
    EXPECT_EQ(f.run(f.agg(op::max, event_type::nps, nps_score, w), now).num, 8);
    EXPECT_EQ(f.run(f.agg(op::first, event_type::nps, nps_score, w), now).num, 8);
    EXPECT_EQ(f.run(f.agg(op::last, event_type::nps, nps_score, w), now).num, 0);
    EXPECT_EQ(f.run(f.agg(op::distinct, event_type::nps, nps_score, w), now).num, 3);
    // rate: the sum over the window in days.
    EXPECT_EQ(f.run(f.agg(op::rate, event_type::nps, nps_score, w), now).num, 2.2);
    // rate of a stream without a field counts events.
    EXPECT_EQ(f.run(f.agg(op::rate, event_type::nps, -1, win(2 * day)), t0 + 4 * day).num, 1);
}

TEST(Evaluator, empty_window_counts_and_sums_zero_and_the_rest_are_null) {
    fixture f;
    f.nps(t0, 5);
    timestamp now = t0 + 30 * day;
    auto w = win(7 * day);
    EXPECT_EQ(f.run(f.agg(op::count, event_type::nps, nps_score, w), now).num, 0);
    EXPECT_EQ(f.run(f.agg(op::sum, event_type::nps, nps_score, w), now).num, 0);
    EXPECT_EQ(f.run(f.agg(op::rate, event_type::nps, nps_score, w), now).num, 0);
    EXPECT_EQ(f.run(f.agg(op::distinct, event_type::nps, nps_score, w), now).num, 0);
    for (op code : {op::avg, op::min, op::max, op::first, op::last})
        EXPECT_TRUE(f.run(f.agg(code, event_type::nps, nps_score, w), now).is_null());
    // Without a window the old answer still counts.
    EXPECT_EQ(f.run(f.agg(op::last, event_type::nps, nps_score), now).num, 5);
}

TEST(Evaluator, where_filters_on_record_fields_and_at) {
    fixture f;
    timestamp now = t0 + 10 * day;
    f.nps(t0 + 1 * day, 9);
    f.nps(t0 + 2 * day, 3);
    f.nps(t0 + 3 * day, 10);
    const node* promoter = f.bin(op::ge, f.field(0), f.num(9));
    EXPECT_EQ(f.run(f.agg(op::count, event_type::nps, -1, win(30 * day), promoter), now).num, 2);
    const node* late = f.bin(op::gt, f.field(field_at), [&] {
        node& n = f.make(op::constant);
        n.value_ = value::of_time(t0 + 2 * day);
        return &n;
    }());
    EXPECT_EQ(f.run(f.agg(op::avg, event_type::nps, nps_score, win(30 * day), late), now).num, 10);
}

TEST(Evaluator, usage_points_count_sum_and_average_per_event) {
    fixture f;
    timestamp now = t0 + 3 * day;
    f.point("active_users", t0 + 1 * day, 30, 2);  // two events merged in one minute
    f.point("active_users", t0 + 2 * day, 10, 1);
    f.point("logins", t0 + 2 * day, 5, 5);
    auto w = win(7 * day);
    EXPECT_EQ(f.run(f.usage(op::count, "active_users", w), now).num, 3);
    EXPECT_EQ(f.run(f.usage(op::sum, "active_users", w), now).num, 40);
    EXPECT_NEAR(f.run(f.usage(op::avg, "active_users", w), now).num, 40.0 / 3, 1e-12);
    EXPECT_EQ(f.run(f.usage(op::max, "active_users", w), now).num, 30);
    EXPECT_EQ(f.run(f.usage(op::min, "active_users", w), now).num, 10);
    EXPECT_EQ(f.run(f.usage(op::last, "active_users"), now).num, 10);
    EXPECT_EQ(f.run(f.usage(op::count, "", w), now).num, 8);      // every metric
    EXPECT_EQ(f.run(f.usage(op::count, "missing", w), now).num, 0);
    EXPECT_TRUE(f.run(f.usage(op::avg, "missing", w), now).is_null());
}

TEST(Evaluator, null_rules) {
    fixture f;
    timestamp now = t0;
    auto is_true = [&](const node* n) { return f.run(n, now).k == kind::boolean && f.run(n, now).b; };
    EXPECT_TRUE(f.run(f.bin(op::add, f.num(1), f.null()), now).is_null());
    EXPECT_TRUE(f.run(f.bin(op::mul, f.null(), f.num(2)), now).is_null());
    EXPECT_FALSE(is_true(f.bin(op::lt, f.null(), f.num(1))));
    EXPECT_FALSE(is_true(f.bin(op::ge, f.null(), f.num(1))));
    EXPECT_TRUE(is_true(f.un(op::logical_not, f.bin(op::ge, f.null(), f.num(1)))));
    EXPECT_TRUE(is_true(f.bin(op::eq, f.null(), f.null())));
    EXPECT_TRUE(is_true(f.bin(op::ne, f.null(), f.str("a"))));
    EXPECT_FALSE(is_true(f.bin(op::eq, f.null(), f.str("a"))));
    EXPECT_FALSE(is_true(f.bin(op::logical_or, f.null(), f.null())));
    EXPECT_TRUE(is_true(f.un(op::logical_not, f.null())));
    EXPECT_FALSE(is_true(f.bin(op::logical_and, f.null(), f.bin(op::eq, f.num(1), f.num(1)))));
    EXPECT_TRUE(f.run(f.bin(op::div, f.num(1), f.num(0)), now).is_null());
    EXPECT_TRUE(f.run(f.bin(op::div, f.dur(day), f.num(0)), now).is_null());
    EXPECT_EQ(f.run(f.bin(op::coalesce, f.null(), f.num(3)), now).num, 3);
    node& since_null = f.make(op::since_value);
    since_null.args = {f.null()};
    EXPECT_TRUE(f.run(&since_null, now).is_null());
    // `in` with a null operand is false.
    node& list = f.make(op::list);
    list.args = {f.str("a"), f.null()};
    EXPECT_FALSE(is_true(f.bin(op::in, f.null(), &list)));
    EXPECT_FALSE(is_true(f.bin(op::in, f.str("b"), &list)));
}

TEST(Evaluator, attribute_of_the_wrong_type_is_false_and_counts_an_error) {
    fixture f;
    f.account.attributes["tier"] = scalar{std::string("gold")};
    f.account.attributes["employees"] = scalar{250.0};
    std::uint32_t errors = 0;
    value v = f.run(f.bin(op::gt, f.attribute("tier"), f.num(3)), t0, nullptr, &errors);
    EXPECT_FALSE(v.b);
    EXPECT_EQ(errors, 1u);
    v = f.run(f.bin(op::ne, f.attribute("tier"), f.num(3)), t0, nullptr, &errors);
    EXPECT_FALSE(v.b);  // a mismatch makes the comparison false, even !=
    EXPECT_EQ(errors, 1u);
    v = f.run(f.bin(op::gt, f.attribute("employees"), f.num(200)), t0, nullptr, &errors);
    EXPECT_TRUE(v.b);
    EXPECT_EQ(errors, 0u);
    v = f.run(f.bin(op::eq, f.attribute("missing"), f.null()), t0, nullptr, &errors);
    EXPECT_TRUE(v.b);  // absent is null, not a mismatch
    EXPECT_EQ(errors, 0u);
    // Used as a condition, a string attribute is a mismatch too.
    v = f.run(f.un(op::logical_not, f.attribute("tier")), t0, nullptr, &errors);
    EXPECT_TRUE(v.b);
    EXPECT_EQ(errors, 1u);
    // Arithmetic on it gives null (and the comparison false).
    v = f.run(f.bin(op::gt, f.bin(op::mul, f.attribute("tier"), f.num(2)), f.num(1)), t0, nullptr, &errors);
    EXPECT_FALSE(v.b);
    EXPECT_EQ(errors, 1u);
}

TEST(Evaluator, since_stream_falls_back_to_first_seen) {
    fixture f;
    f.account.first_seen = t0;
    timestamp now = t0 + 5 * day;
    EXPECT_EQ(f.run(f.since_type(event_type::activity), now).ms, (5 * day).count());
    f.nps(t0 + 2 * day, 7);
    EXPECT_EQ(f.run(f.since_type(event_type::nps), now).ms, (3 * day).count());
    model::account_state empty;
    f.account = empty;
    EXPECT_TRUE(f.run(f.since_type(event_type::nps), now).is_null());
}

TEST(Evaluator, next_change_of_since_compared_with_a_constant_is_the_crossing) {
    fixture f;
    f.account.first_seen = t0;
    timestamp next{};
    // since(activity) >= 90d, no activity: crosses at first_seen + 90d.
    f.run(f.bin(op::ge, f.since_type(event_type::activity), f.dur(90 * day)), t0 + 10 * day, &next);
    EXPECT_EQ(next, t0 + 90 * day);
    // days(since(x)) > 3 inverts through days().
    node& days = f.make(op::days);
    days.args = {f.since_type(event_type::activity)};
    f.run(f.bin(op::gt, &days, f.num(3)), t0 + day, &next);
    EXPECT_LE(next, t0 + 3 * day);
    EXPECT_GE(next, t0 + 3 * day - duration{1});
    // Past the crossing: nothing more to wait for.
    f.run(f.bin(op::ge, f.since_type(event_type::activity), f.dur(90 * day)), t0 + 91 * day, &next);
    EXPECT_EQ(next, timestamp_max);
    // Exactly at the crossing of a strict comparison: the next millisecond.
    f.run(f.bin(op::gt, f.since_type(event_type::activity), f.dur(90 * day)), t0 + 90 * day, &next);
    EXPECT_EQ(next, t0 + 90 * day + duration{1});
    // A form that is not inverted falls back to the tick.
    const node* inverse = f.bin(op::div, f.num(1), &days);
    f.run(f.bin(op::lt, inverse, f.num(0.5)), t0 + day, &next);
    EXPECT_EQ(next, t0 + day + duration{60'000});
}

TEST(Evaluator, next_change_of_a_window_is_when_an_event_enters_or_leaves) {
    fixture f;
    f.nps(t0 + 1 * day, 5);
    f.nps(t0 + 3 * day, 5);
    timestamp next{};
    // 7d window at day 4: the day-1 event leaves at day 8.
    f.run(f.agg(op::count, event_type::nps, -1, win(7 * day)), t0 + 4 * day, &next);
    EXPECT_EQ(next, t0 + 8 * day);
    // 2d offset 2d at day 2: holds (-2d, 0]; the day-1 event enters at day 3.
    f.run(f.agg(op::count, event_type::nps, -1, win(2 * day, 2 * day)), t0 + 2 * day, &next);
    EXPECT_EQ(next, t0 + 3 * day);
    // After both left: nothing.
    f.run(f.agg(op::count, event_type::nps, -1, win(7 * day)), t0 + 11 * day, &next);
    EXPECT_EQ(next, timestamp_max);
}

TEST(Evaluator, scalar_functions) {
    fixture f;
    auto call = [&](op code, std::vector<const node*> args) {
        node& n = f.make(code);
        n.args = std::move(args);
        return f.run(&n, t0);
    };
    EXPECT_EQ(call(op::clamp, {f.num(1.5), f.num(0), f.num(1)}).num, 1);
    EXPECT_EQ(call(op::round, {f.num(2.5)}).num, 3);
    EXPECT_EQ(call(op::round, {f.num(-2.5)}).num, -3);
    EXPECT_EQ(call(op::floor, {f.num(2.7)}).num, 2);
    EXPECT_EQ(call(op::ceil, {f.num(2.1)}).num, 3);
    EXPECT_EQ(call(op::abs, {f.num(-4)}).num, 4);
    EXPECT_EQ(call(op::pct_change, {f.num(75), f.num(100)}).num, -0.25);
    EXPECT_TRUE(call(op::pct_change, {f.num(75), f.num(0)}).is_null());
    EXPECT_EQ(call(op::days, {f.dur(36 * hour)}).num, 1.5);
    EXPECT_EQ(call(op::min_of, {f.num(3), f.num(2)}).num, 2);
    EXPECT_EQ(call(op::max_of, {f.num(3), f.num(2)}).num, 3);
    EXPECT_EQ(call(op::coalesce_fn, {f.null(), f.null(), f.str("x")}).str, "x");
    EXPECT_EQ(call(op::lower, {f.str("AbC")}).str, "abc");
    EXPECT_EQ(call(op::upper, {f.str("AbC")}).str, "ABC");
    EXPECT_TRUE(call(op::contains, {f.str("enterprise"), f.str("prise")}).b);
    EXPECT_TRUE(call(op::starts_with, {f.str("enterprise"), f.str("enter")}).b);
    EXPECT_FALSE(call(op::starts_with, {f.str("ent"), f.str("enter")}).b);
}

}  // namespace
}  // namespace redflag::rules::eval
