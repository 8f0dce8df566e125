// rule_set::evaluate() does not allocate once its evaluation is made (rule_set.hpp):
// counted with a replacement of the global operator new, active only inside the test.
#include "rules/rule_set.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

// The replacements pair malloc with free on purpose; GCC cannot see that every pointer
// freed here came from the matching replacement operator new.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc{};
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace redflag::rules {
namespace {

TEST(Allocation, evaluate_does_not_allocate_in_steady_state) {
    std::vector<source_text> sources{{"a.rules", R"(
let big = account.seats >= 100
score health {
  component surveys weight 25 = avg(nps.score, 180d) / 10
  component seats   weight 35 = avg(usage.active_users, 28d) / account.seats
  component support weight 20 = 1 - count(ticket where status == "open", 30d) / 10
  band green  >= 70
  band red
}
classify tier {
  large when big and health.band == "green"
  default other
}
rule drop {
  when avg(usage.active_users, 7d) < 70% * avg(usage.active_users, 28d offset 7d)
}
rule idle {
  when any(users where lower(role) == "superuser" and since(last_seen ?? first_seen) > 14d)
}
rule quiet {
  when since(activity) >= 90d and account.attributes.tier == "gold" and tier == "large"
}
)"}};
    load_result loaded = load_sources(std::move(sources));
    ASSERT_TRUE(loaded.rules) << render_text(loaded.problems);
    const rule_set& rules = *loaded.rules;

    timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");
    model::account_state s;
    s.id = "acme";
    auto add = [&](model::event_type type, timestamp at, boost::json::object fields) {
        model::event e;
        e.type = type;
        e.account = "acme";
        e.at = at;
        e.fields = std::move(fields);
        s.apply(e);
    };
    add(model::event_type::account, t0, {{"seats", 150}, {"attributes", boost::json::object{{"tier", "gold"}}}});
    add(model::event_type::user, t0, {{"user_id", "u1"}, {"role", "SuperUser"}});
    for (int d = 0; d < 40; ++d) add(model::event_type::usage, t0 + d * day, {{"metric", "active_users"}, {"value", 90}});
    add(model::event_type::nps, t0, {{"score", 9}});
    add(model::event_type::ticket, t0, {{"ticket_id", "t"}, {"status", "open"}});

    evaluation e = rules.make_evaluation();
    timestamp now = t0 + 40 * day;
    rules.evaluate(s, now, minute, e);  // warms the thread's frame
    counting = true;
    for (int i = 0; i < 100; ++i) rules.evaluate(s, now + i * minute, minute, e);
    counting = false;
    EXPECT_EQ(allocations.load(), 0);
    EXPECT_EQ(e.conditions[*rules.find_rule("idle")], 1);
}

}  // namespace
}  // namespace redflag::rules
