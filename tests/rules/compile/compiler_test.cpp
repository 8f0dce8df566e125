// The compiler resolves every name to an index at load time; load() reads files and
// folders. Evaluation results are in rule_set_test.cpp.
#include "rules/compile/compiler.hpp"

#include "model/schema.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace redflag::rules::compile {
namespace {

using eval::op;
using eval::source_kind;

std::shared_ptr<const compiled_rule_set> compile_text(const std::string& text) {
    load_result r = load_sources({{"c.rules", text}});
    EXPECT_TRUE(r.rules) << render_text(r.problems);
    return std::dynamic_pointer_cast<const compiled_rule_set>(r.rules);
}

TEST(Compiler, resolves_streams_fields_and_windows_to_indices) {
    auto set = compile_text(R"(
rule r {
  when avg(nps.score, 28d offset 7d) > 5 and count(ticket where priority == "urgent" and at > now() - 1d, 7d) > 0
}
rule u {
  when sum(usage.logins, 7d) > 0 and since(usage) > 1d and account.seats > 3
}
rule c {
  when any(users where role == "admin") and count(tickets where status == "pending") > 0
}
)");
    ASSERT_TRUE(set);
    const auto& rules = set->code().rules;
    const eval::node* avg = rules[0].when->args[0]->args[0];
    ASSERT_EQ(avg->code, op::avg);
    EXPECT_EQ(avg->source_.kind, source_kind::records);
    EXPECT_EQ(avg->source_.type, model::event_type::nps);
    EXPECT_EQ(avg->source_.field, static_cast<std::int32_t>(*model::stream_field_index(model::event_type::nps, "score")));
    EXPECT_TRUE(avg->window_.present);
    EXPECT_EQ(avg->window_.length, 28 * day);
    EXPECT_EQ(avg->window_.offset, 7 * day);

    const eval::node* count = rules[0].when->args[1]->args[0];
    ASSERT_EQ(count->code, op::count);
    EXPECT_EQ(count->source_.field, -1);
    ASSERT_NE(count->source_.filter, nullptr);
    const eval::node* priority = count->source_.filter->args[0]->args[0];
    ASSERT_EQ(priority->code, op::item_field);
    EXPECT_EQ(priority->sub_, *model::stream_field_index(model::event_type::ticket, "priority"));
    const eval::node* at = count->source_.filter->args[1]->args[0];
    ASSERT_EQ(at->code, op::item_field);
    EXPECT_EQ(at->sub_, eval::field_at);

    const eval::node* logins = rules[1].when->args[0]->args[0]->args[0];
    ASSERT_EQ(logins->code, op::sum);
    EXPECT_EQ(logins->source_.kind, source_kind::usage_metric);
    EXPECT_EQ(logins->source_.metric, "logins");
    const eval::node* since = rules[1].when->args[0]->args[1]->args[0];
    ASSERT_EQ(since->code, op::since_stream);
    EXPECT_EQ(since->source_.kind, source_kind::usage_all);
    const eval::node* seats = rules[1].when->args[1]->args[0];
    ASSERT_EQ(seats->code, op::account_field);
    EXPECT_EQ(seats->field_, model::profile_field::seats);

    const eval::node* any = rules[2].when->args[0];
    ASSERT_EQ(any->code, op::any);
    EXPECT_EQ(any->source_.kind, source_kind::users);
    EXPECT_EQ(any->source_.filter->args[0]->sub_, eval::user_fields::role);
    const eval::node* tickets = rules[2].when->args[1]->args[0];
    EXPECT_EQ(tickets->source_.kind, source_kind::tickets);
    EXPECT_EQ(tickets->source_.filter->args[0]->sub_, eval::ticket_fields::status);
}

TEST(Compiler, scalar_min_max_count_are_not_aggregates) {
    auto set = compile_text(R"(
rule r {
  when min(account.seats, 5) == 5 and max(1, 2) == 2 and count(account.products) == 0 and max(nps.score, 30d) == null
}
)");
    ASSERT_TRUE(set);
    const eval::node* w = set->code().rules[0].when;  // ((a and b) and c) and d
    EXPECT_EQ(w->args[0]->args[0]->args[0]->args[0]->code, op::min_of);
    EXPECT_EQ(w->args[0]->args[0]->args[1]->args[0]->code, op::max_of);
    EXPECT_EQ(w->args[0]->args[1]->args[0]->code, op::count_of);
    EXPECT_EQ(w->args[1]->args[0]->code, op::max);
    model::account_state s;
    s.put(model::profile_field::seats, 12.0);
    evaluation e = set->make_evaluation();
    set->evaluate(s, timestamp{}, minute, e);
    EXPECT_EQ(e.conditions[0], 1);
}

TEST(Compiler, cached_items_get_slots_and_rules_know_their_dependencies) {
    auto set = compile_text(R"(
let unrelated = 1
let a = s.score > 50
score s {
  component one weight 1 = b
  band hi >= 50
  band lo
}
score t {
  component x weight 1 = 1
  component y weight 1 = 0
  band all
}
let b = 0.75
classify k {
  yes when a
  default no
}
rule r {
  when a
}
rule q {
  when k == "yes"
}
)");
    ASSERT_TRUE(set);
    const eval::program& p = set->code();
    ASSERT_EQ(p.lets.size(), 3u);
    ASSERT_EQ(p.scores.size(), 2u);
    EXPECT_EQ(p.scores[0].first_component, 0u);
    EXPECT_EQ(p.scores[1].first_component, 1u);
    EXPECT_EQ(p.component_count, 3u);
    // r reads a, which reads s, which reads b; not `unrelated`.
    std::vector<std::uint32_t> r_deps{p.let_slot(1), p.let_slot(2), p.score_slot(0)};
    EXPECT_EQ(p.rules[0].depends_on, r_deps);
    std::vector<std::uint32_t> q_deps{p.let_slot(1), p.let_slot(2), p.score_slot(0), p.classify_slot(0)};
    EXPECT_EQ(p.rules[1].depends_on, q_deps);
    model::account_state s;
    evaluation e = set->make_evaluation();
    set->evaluate(s, timestamp{}, minute, e);
    EXPECT_EQ(e.scores[0], 75);
    EXPECT_EQ(e.scores[1], 50);
    EXPECT_EQ(e.conditions[0], 1);
    EXPECT_EQ(e.conditions[1], 1);
    ASSERT_EQ(set->classifications()[0].labels.size(), 2u);
    EXPECT_EQ(set->classifications()[0].labels[1], "no");
}

TEST(Compiler, load_reads_folders_in_name_order_and_only_rules_files) {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("redflag-compile-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "b.rules") << "rule second {\n  when true\n}\n";
    std::ofstream(dir / "a.rules") << "rule first {\n  when true\n}\n";
    std::ofstream(dir / "notes.txt") << "not rules at all {";
    std::vector<std::string> paths{dir.string()};
    load_result r = load(paths);
    ASSERT_TRUE(r.rules) << render_text(r.problems);
    ASSERT_EQ(r.rules->rules().size(), 2u);
    EXPECT_EQ(r.rules->rules()[0].name, "first");
    EXPECT_EQ(r.rules->rules()[1].name, "second");
    EXPECT_EQ(r.rules->rules()[1].file, (dir / "b.rules").string());

    std::vector<std::string> missing{(dir / "nope.rules").string()};
    load_result m = load(missing);
    EXPECT_FALSE(m.rules);
    ASSERT_EQ(m.problems.size(), 1u);
    EXPECT_EQ(m.problems[0].code, "io");
    fs::remove_all(dir);
}

TEST(Compiler, problems_come_in_file_order) {
    load_result r = load_sources({{"one.rules", "rule a {\n  when nope_one\n}\n"},
                                  {"two.rules", "rule b {\n  when nope_two\n}\n"}});
    EXPECT_FALSE(r.rules);
    ASSERT_GE(r.problems.size(), 2u);
    EXPECT_EQ(r.problems.front().file, "one.rules");
    EXPECT_EQ(r.problems.back().file, "two.rules");
}

}  // namespace
}  // namespace redflag::rules::compile
