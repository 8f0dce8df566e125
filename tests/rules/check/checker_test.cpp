#include "rules/check/checker.hpp"

#include "model/schema.hpp"
#include "rules/parse/parser.hpp"

#include "../support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

using namespace redflag;
using namespace redflag::rules;

namespace {

using redflag::test_support::read;

struct checked {
    ast::program program;
    diagnostics problems;
};

checked check_files(std::vector<std::pair<std::string, std::string>> files, check::check_options options = {}) {
    checked c;
    for (auto& [path, text] : files) {
        auto r = parse::parse_file(path, text);
        c.problems.insert(c.problems.end(), r.problems.begin(), r.problems.end());
        c.program.files.push_back(std::move(r.file));
    }
    auto more = check::check(c.program, options);
    c.problems.insert(c.problems.end(), more.begin(), more.end());
    return c;
}

checked check_text(const std::string& text, check::check_options options = {}) {
    return check_files({{"t.rules", text}}, std::move(options));
}

// The messages of all problems, one per line, for compact assertions.
std::string messages(const diagnostics& all) {
    std::string s;
    for (const auto& d : all) s += std::to_string(d.line) + ":" + std::to_string(d.column) + " " + d.message + "\n";
    return s;
}

std::string rule(const std::string& when) { return "rule r {\n  when " + when + "\n}\n"; }

const ast::rule_item& first_rule(const checked& c) { return *c.program.rules.at(0).item; }

}  // namespace

TEST(Checker, spec_example_is_clean) {
    check::check_options options;
    options.channels = std::set<std::string>{"cs_red_flags", "owner_email"};
    auto c = check_files({{"example.rules", read(REDFLAG_TEST_DATA "/spec_example.rules")}}, options);
    EXPECT_TRUE(c.problems.empty()) << render_text(c.problems);
    EXPECT_EQ(c.program.lets.size(), 1u);
    EXPECT_EQ(c.program.scores.size(), 2u);
    EXPECT_EQ(c.program.classifies.size(), 1u);
    EXPECT_EQ(c.program.rules.size(), 4u);
}

TEST(Checker, conformance_files_are_clean_together) {
    std::vector<std::pair<std::string, std::string>> files;
    for (const char* name : {"health", "no_activity", "superuser", "usage_drop"})
        files.emplace_back(name, read(std::string(REDFLAG_TEST_DATA "/conformance/") + name + ".rules"));
    auto c = check_files(files);
    EXPECT_TRUE(c.problems.empty()) << render_text(c.problems);
    ASSERT_EQ(c.program.rules.size(), 4u);
    EXPECT_EQ(c.program.rules[1].file, 1u);  // load order: files in order
    EXPECT_EQ(c.program.rules[3].item->name.value, "usage_drop");
}

TEST(Checker, rejects_duration_vs_number_exactly_as_the_spec_shows) {
    auto c = check_files({{"rules/red_flags.rules", "rule r {\n    when since(activity) > 90\n}\n"}});
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_EQ(render_text(c.problems),
              "rules/red_flags.rules:2:28: error: cannot compare duration with number\n"
              "    when since(activity) > 90\n"
              "                           ^\n"
              "hint: write a duration such as 90d\n");
    EXPECT_EQ(c.problems[0].code, "type-mismatch");
}

TEST(Checker, unknown_names_get_a_suggestion) {
    auto c = check_text(rule("account.mmr > 5000"));
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_EQ(c.problems[0].message, "unknown name account.mmr");
    EXPECT_EQ(c.problems[0].hint, "did you mean account.mrr?");
    EXPECT_EQ(c.problems[0].column, 8u);

    auto lets = check_text("let high_value = account.mrr >= 5000\n" + rule("hihg_value"));
    ASSERT_EQ(lets.problems.size(), 1u);
    EXPECT_EQ(lets.problems[0].hint, "did you mean high_value?");

    auto fn = check_text(rule("avgg(nps.score, 30d) > 5"));
    ASSERT_EQ(fn.problems.size(), 1u);
    EXPECT_EQ(fn.problems[0].message, "unknown function avgg");
    EXPECT_EQ(fn.problems[0].hint, "did you mean avg?");
}

TEST(Checker, a_name_defined_twice_is_reported_at_the_second_definition) {
    auto c = check_files({{"a.rules", "let x = 1\n"}, {"b.rules", "\nscore x {\n  component c weight 1 = 1\n  band b\n}\n"}});
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_EQ(c.problems[0].file, "b.rules");
    EXPECT_EQ(c.problems[0].line, 2u);
    EXPECT_EQ(c.problems[0].message, "x is defined twice");
    EXPECT_EQ(c.problems[0].hint, "the first definition is here: a.rules:1:5");
    EXPECT_EQ(c.program.lets.size(), 1u);
    EXPECT_TRUE(c.program.scores.empty());

    auto rules = check_text(rule("true") + rule("false"));
    ASSERT_EQ(rules.problems.size(), 1u);
    EXPECT_EQ(rules.problems[0].line, 4u);
    EXPECT_EQ(rules.problems[0].message, "rule r is defined twice");
}

TEST(Checker, cycles_are_named) {
    auto c = check_text("let a = b + 1\nlet b = c\nlet c = a\n");
    ASSERT_EQ(c.problems.size(), 1u) << messages(c.problems);
    EXPECT_EQ(c.problems[0].message, "cycle: a -> b -> c -> a");
    EXPECT_EQ(c.problems[0].line, 1u);

    auto self = check_text("let a = a\n");
    ASSERT_EQ(self.problems.size(), 1u);
    EXPECT_EQ(self.problems[0].message, "cycle: a -> a");

    auto mixed = check_text(
        "classify tier {\n  big when s.band == \"high\"\n  default small\n}\n"
        "score s {\n  component c weight 1 = if tier == \"big\" then 1 else 0\n  band high >= 50\n  band low\n}\n");
    ASSERT_EQ(mixed.problems.size(), 1u) << messages(mixed.problems);
    EXPECT_EQ(mixed.problems[0].message, "cycle: tier -> s -> tier");
}

TEST(Checker, rule_fields) {
    auto c = check_text("rule r {\n  when 1\n  severity extreme\n  resolve never\n  repeat 3\n}\n");
    EXPECT_EQ(messages(c.problems),
              "2:8 when needs a bool, not number\n"
              "3:12 unknown severity extreme; expected info, low, medium, high, critical\n"
              "4:11 unknown resolve never; expected notify, silent\n"
              "5:10 repeat must be a duration, not number\n");

    auto missing = check_text("rule r {\n  severity low\n}\n");
    ASSERT_EQ(missing.problems.size(), 1u);
    EXPECT_EQ(missing.problems[0].message, "rule r has no when");

    auto repeat = check_text("rule r {\n  when true\n  repeat if account.renewal_at - now() < 30d then 1d else 7d\n}\n");
    EXPECT_TRUE(repeat.problems.empty()) << messages(repeat.problems);

    auto labels = check_text("rule r {\n  when true\n  labels { a = \"1\", a = \"2\" }\n}\n");
    ASSERT_EQ(labels.problems.size(), 1u);
    EXPECT_EQ(labels.problems[0].message, "label a is given twice");
}

TEST(Checker, channels_are_checked_only_against_a_config) {
    const std::string text = "rule r {\n  when true\n  notify cs_red_flag, pager\n}\n";
    EXPECT_TRUE(check_text(text).problems.empty());
    check::check_options options;
    options.channels = std::set<std::string>{"cs_red_flags"};
    auto c = check_text(text, options);
    ASSERT_EQ(c.problems.size(), 2u);
    EXPECT_EQ(c.problems[0].message, "unknown channel cs_red_flag");
    EXPECT_EQ(c.problems[0].hint, "did you mean cs_red_flags?");
    EXPECT_EQ(c.problems[1].message, "unknown channel pager");
    EXPECT_EQ(c.problems[1].hint, "channels in the config: cs_red_flags");
}

TEST(Checker, score_structure) {
    auto c = check_text(
        "score s {\n  component a weight 0 = 1\n  component a weight 1 = \"x\"\n  band hi >= 40\n  band mid\n"
        "  band top >= 70\n  band mid >= 1\n}\n");
    EXPECT_EQ(messages(c.problems),
              "2:22 weight must be greater than 0\n"
              "3:13 component a is defined twice in score s\n"
              "3:26 a component must be a number, not string\n"
              "5:8 band mid needs a threshold (>= N): only the last band has none\n"
              "6:15 band thresholds must descend: top >= 70 comes after hi >= 40\n"
              "7:8 band mid is defined twice in score s\n"
              "7:15 the last band catches the rest and has no threshold\n");
}

TEST(Checker, band_and_label_literals_must_exist) {
    auto c = check_text(
        "score health {\n  component c weight 1 = 1\n  band green >= 70\n  band red\n}\n"
        "classify tier {\n  big when true\n  default small\n}\n" +
        rule("health.band == \"reed\" or tier != \"huge\" or health.band in [\"green\", \"blue\"] or health.band == "
             "\"unknown\""));
    EXPECT_EQ(messages(c.problems),
              "11:23 score health has no band reed\n"
              "11:41 classify tier has no label huge\n"
              "11:76 score health has no band blue\n");
    EXPECT_EQ(c.problems[0].hint, "did you mean red?");
    EXPECT_EQ(c.problems[1].hint, "expected one of big, small");
}

TEST(Checker, usage_cannot_be_filtered) {
    auto c = check_text(rule("count(usage.logins where value > 3, 7d) > 0"));
    ASSERT_EQ(c.problems.size(), 1u) << messages(c.problems);
    EXPECT_EQ(c.problems[0].code, "usage-where");
    EXPECT_EQ(c.problems[0].message,
              "usage cannot be filtered with where: it is kept as per-minute sums per metric, not as events");
    EXPECT_EQ(c.problems[0].column, 33u);
}

TEST(Checker, where_names_are_the_event_fields_and_shadow_lets) {
    auto c = check_text("let status = 1\n" + rule("count(ticket where status == \"open\" and at > now() - 1d, 30d) > 0 "
                                                   "and status > 0"));
    ASSERT_TRUE(c.problems.empty()) << messages(c.problems);
    const auto& cmp = std::get<ast::binary>(first_rule(c).when->node);
    const auto& count = std::get<ast::call>(std::get<ast::binary>(cmp.lhs->node).lhs->node);
    EXPECT_EQ(count.fn, ast::builtin::count);
    const auto& f = std::get<ast::filtered>(count.args[0]->node);
    const auto& and_ = std::get<ast::binary>(f.condition->node);
    const auto& status = std::get<ast::path>(std::get<ast::binary>(and_.lhs->node).lhs->node);
    EXPECT_EQ(status.ref.kind, ast::ref_kind::item_field);
    EXPECT_EQ(status.ref.stream_type, model::event_type::ticket);
    EXPECT_EQ(status.ref.sub, *model::stream_field_index(model::event_type::ticket, "status"));
    const auto& at = std::get<ast::path>(std::get<ast::binary>(and_.rhs->node).lhs->node);
    EXPECT_EQ(at.ref.sub, 0xFFFFFFFFu);
    const auto& outer_status = std::get<ast::path>(std::get<ast::binary>(cmp.rhs->node).lhs->node);
    EXPECT_EQ(outer_status.ref.kind, ast::ref_kind::let);

    auto bad = check_text(rule("count(ticket where priorty == \"urgent\", 30d) > 0"));
    ASSERT_EQ(bad.problems.size(), 1u);
    EXPECT_EQ(bad.problems[0].hint, "did you mean priority?");
}

TEST(Checker, goals_are_numbers_and_reserved) {
    auto c = check_text(rule("goals.overdue > 0 and goals.achieved >= 2 and count(goal where status == \"open\", 90d) > 0"));
    EXPECT_TRUE(c.problems.empty()) << messages(c.problems);
    auto typo = check_text(rule("goals.overdu > 0"));
    ASSERT_EQ(typo.problems.size(), 1u);
    EXPECT_EQ(typo.problems[0].message, "unknown name goals.overdu");
    EXPECT_EQ(typo.problems[0].hint, "did you mean goals.overdue?");
    auto type = check_text(rule("goals.overdue > 1d"));
    EXPECT_FALSE(type.problems.empty());
    auto reserved = check_text("let goals = 1\n" + rule("goals > 0"));
    ASSERT_FALSE(reserved.problems.empty());
    EXPECT_EQ(reserved.problems[0].message,
              "goals is the account's goals (goals.overdue, goals.achieved) and cannot be redefined");
}

TEST(Checker, alerts_are_a_count_and_a_duration_and_reserved) {
    auto c = check_text(rule("alerts.unacked_for > 2d and alerts.unacked >= 1 and (alerts.unacked_for ?? 0d) < 30d"));
    EXPECT_TRUE(c.problems.empty()) << messages(c.problems);
    // A duration compared to a number: reported at the operand that does not fit.
    auto type = check_text(rule("alerts.unacked_for > 2"));
    ASSERT_EQ(type.problems.size(), 1u) << messages(type.problems);
    EXPECT_EQ(type.problems[0].line, 2u);
    EXPECT_EQ(type.problems[0].column, 29u);
    EXPECT_NE(type.problems[0].message.find("duration"), std::string::npos) << type.problems[0].message;
    auto count = check_text(rule("alerts.unacked > 1d"));
    ASSERT_EQ(count.problems.size(), 1u) << messages(count.problems);
    EXPECT_EQ(count.problems[0].column, 25u);
    auto typo = check_text(rule("alerts.unacked_fo > 2d"));
    ASSERT_EQ(typo.problems.size(), 1u);
    EXPECT_EQ(typo.problems[0].message, "unknown name alerts.unacked_fo");
    EXPECT_EQ(typo.problems[0].hint, "did you mean alerts.unacked_for?");
    EXPECT_EQ(typo.problems[0].column, 8u);
    auto reserved = check_text("let alerts = 1\n" + rule("alerts > 0"));
    ASSERT_FALSE(reserved.problems.empty());
    EXPECT_EQ(reserved.problems[0].line, 1u);
    EXPECT_EQ(reserved.problems[0].column, 5u);
    EXPECT_EQ(reserved.problems[0].message,
              "alerts is the account's alerts (alerts.unacked, alerts.unacked_for) and cannot be redefined");
}

TEST(Checker, collections) {
    auto c = check_text(rule("any(users where role == \"admin\" and since(last_seen ?? first_seen) > 14d) and "
                             "count(tickets where priority == \"urgent\") > 2 and all(products where product != \"x\")"));
    EXPECT_TRUE(c.problems.empty()) << messages(c.problems);
    auto bad = check_text(rule("any(ticket where status == \"open\") and count(users, 30d) > 0"));
    EXPECT_EQ(messages(bad.problems),
              "2:12 any needs a collection (users, tickets or products), not stream\n"
              "2:60 count over a collection takes no window\n");
}

TEST(Checker, aggregates) {
    auto c = check_text(rule("sum(ticket, 30d) > 1 and avg(nps.score) > 1 and last(ticket) == 1 and "
                             "first(ticket.priority) == \"low\" and min(nps.score, 30d) < 3 and min(1, 2, 3) > 0 and "
                             "count(account.products) > 1 and distinct(ticket.priority, 30d) > 1 and rate(ticket, 7d) > 1"));
    EXPECT_EQ(messages(c.problems),
              "2:12 sum needs a numeric stream such as nps.score or usage.active_users\n"
              "2:33 avg over a stream needs a window\n"
              "2:61 last needs a stream with a field, such as nps.score\n");
    const auto& when = *first_rule(c).when;
    // min(1, 2, 3) is the scalar min_of; min(nps.score, 30d) the aggregate
    std::vector<ast::builtin> fns;
    std::function<void(const ast::expr&)> walk = [&](const ast::expr& e) {
        if (auto* b = std::get_if<ast::binary>(&e.node)) {
            walk(*b->lhs);
            walk(*b->rhs);
        } else if (auto* call = std::get_if<ast::call>(&e.node)) {
            fns.push_back(call->fn);
        }
    };
    walk(when);
    ASSERT_EQ(fns.size(), 9u);
    EXPECT_EQ(fns[4], ast::builtin::min);
    EXPECT_EQ(fns[5], ast::builtin::min_of);
    EXPECT_EQ(fns[6], ast::builtin::count);
}

TEST(Checker, windows_must_be_duration_literals) {
    auto c = check_text(rule("count(ticket, 30) > 0 and avg(nps.score, 28d offset 7d) > 1 and round(28d offset 7d) > 1"));
    EXPECT_EQ(messages(c.problems),
              "2:22 the window must be a duration literal such as 30d, or 28d offset 7d\n"
              "2:78 a window such as 28d offset 7d is only allowed as an aggregate's window argument\n");
}

TEST(Checker, time_and_duration_arithmetic) {
    auto ok = check_text(
        "let a = account.renewal_at - now() < 30d\nlet b = now() - 1d > account.signed_at\nlet c = 2 * 1d / 2 == 1d\n"
        "let d = 30d / 1d > 2\nlet e = days(since(activity)) > 3\nlet f = -1d < 0s\n");
    EXPECT_TRUE(ok.problems.empty()) << messages(ok.problems);
    for (const auto& l : ok.program.lets) EXPECT_EQ(l.item->value->type, ast::value_type::boolean);
    auto bad = check_text("let a = now() + 1\nlet b = 1d * 1d\nlet c = \"x\" - 1\nlet d = now() + now()\n");
    EXPECT_EQ(messages(bad.problems),
              "1:17 cannot add time and number\n"
              "2:14 cannot multiply duration by duration\n"
              "3:9 cannot subtract number from string\n"
              "4:17 cannot add time and time\n");
}

TEST(Checker, null_and_dynamic_are_compatible) {
    auto c = check_text(rule("account.mrr == null and account.attributes.tier == 3 and account.attributes.tier > \"a\" "
                             "and (account.csm ?? \"nobody\") != \"x\" and null < 3"));
    EXPECT_TRUE(c.problems.empty()) << messages(c.problems);
}

TEST(Checker, conditionals_membership_and_logic) {
    auto c = check_text(rule("(if true then 1 else \"x\") == 1 and account.plan in \"pro\" and not 3 and 1 or true"));
    EXPECT_EQ(messages(c.problems),
              "2:29 the branches of if have different types: number and string\n"
              "2:59 in needs a list on the right, not string\n"
              "2:73 not needs a bool, not number\n"
              "2:79 and needs bool operands, not number\n");
    auto lists = check_text(rule("account.plan in [\"a\", 1] or 3 in account.products"));
    EXPECT_EQ(messages(lists.problems),
              "2:30 list items must be of one type: number after string\n"
              "2:36 cannot look for a number in a list of strings\n");
}

TEST(Checker, streams_and_collections_are_not_values) {
    auto c = check_text(rule("ticket > 3 or users == 1"));
    EXPECT_EQ(messages(c.problems),
              "2:8 ticket is a stream of events, not a value\n"
              "2:22 users is a collection, not a value\n");
    EXPECT_EQ(c.problems[0].hint, "aggregate it, e.g. count(ticket, 30d) or since(ticket)");
}

TEST(Checker, history_functions) {
    auto c = check_text(rule("changed(account.csm, 30d) and previous(account.mrr) > 1 and changed(account.id, 30d)"));
    ASSERT_EQ(c.problems.size(), 1u) << messages(c.problems);
    EXPECT_EQ(c.problems[0].message, "changed needs an account field with history, such as account.csm");
    const auto& and_ = std::get<ast::binary>(first_rule(c).when->node);
    const auto& lhs = std::get<ast::binary>(and_.lhs->node);
    EXPECT_EQ(std::get<ast::binary>(lhs.rhs->node).lhs->type, ast::value_type::number);
}

TEST(Checker, scalar_function_arity_and_types) {
    auto c = check_text(rule("round(1, 2) > 0 and days(3) > 1 and lower(account.name) == \"x\" and "
                             "contains(account.products, \"backup\") and starts_with(account.plan, 1) and "
                             "clamp(1, 0, 1) == pct_change(2, 1) and coalesce(account.csm, 1) == \"x\" and now(1) > now()"));
    EXPECT_EQ(messages(c.problems),
              "2:8 round takes 1 argument, got 2\n"
              "2:33 days needs a duration, not number\n"
              "2:142 starts_with needs a string, not number\n"
              "2:210 coalesce needs arguments of one type: number after string\n"
              "2:224 now takes 0 arguments, got 1\n");
}

TEST(Checker, annotates_resolutions) {
    auto c = check_text(
        "score health {\n  component usage weight 1 = 1\n  band ok\n}\nclassify q {\n  default z\n}\n"
        "let v = health.score + health.usage + account.arr\n" +
        rule("v > 1 and health.band == \"ok\" and q == \"z\" and account.attributes.k == 1 and since(usage) > 1d "
             "and last(usage.active_users) > 1"));
    ASSERT_TRUE(c.problems.empty()) << messages(c.problems);
    const auto& v = std::get<ast::binary>(c.program.lets[0].item->value->node);
    const auto& health_plus_usage = std::get<ast::binary>(v.lhs->node);
    EXPECT_EQ(std::get<ast::path>(health_plus_usage.lhs->node).ref.kind, ast::ref_kind::score_value);
    const auto& comp = std::get<ast::path>(health_plus_usage.rhs->node).ref;
    EXPECT_EQ(comp.kind, ast::ref_kind::score_component);
    EXPECT_EQ(comp.sub, 0u);
    EXPECT_EQ(std::get<ast::path>(v.rhs->node).ref.kind, ast::ref_kind::account_arr);
    EXPECT_EQ(c.program.lets[0].item->value->type, ast::value_type::number);
}

TEST(Checker, templates_are_type_checked_with_formats) {
    auto c = check_text(
        "rule r {\n  when true\n  message \"{account.mrr | money} {since(activity) | days} {account.renewal_at | date} "
        "{account.name | pct} {account.mrr | weird} {acount.name}\"\n}\n");
    EXPECT_EQ(messages(c.problems),
              "3:88 format pct needs a number, not string\n"
              "3:123 unknown format weird; expected round, pct, money, days, date\n"
              "3:131 unknown name acount.name\n");
    const auto& parts = first_rule(c).message->parts;
    EXPECT_EQ(parts[0].fmt, ast::template_format::money);
    EXPECT_EQ(parts[2].fmt, ast::template_format::days);
    EXPECT_EQ(parts[4].fmt, ast::template_format::date);
}

TEST(Checker, templates_outside_rule_files) {
    auto c = check_text("score health {\n  component c weight 1 = 1\n  band ok\n}\n");
    ASSERT_TRUE(c.problems.empty());
    diagnostics problems;
    auto tpl = parse::parse_template_text("{account.csm_email} {health.score | pct} {helth.band}", "cfg: to", problems);
    ASSERT_TRUE(problems.empty());
    auto found = check::check_template(tpl, "cfg: to", c.program);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].file, "cfg: to");
    EXPECT_EQ(found[0].column, 43u);
    EXPECT_EQ(found[0].hint, "did you mean health.band?");
    EXPECT_EQ(tpl.parts[2].fmt, ast::template_format::pct);
    EXPECT_EQ(tpl.parts[2].expression->type, ast::value_type::number);
}

TEST(Checker, collects_every_problem_in_file_order) {
    auto c = check_files({{"a.rules", rule("since(activity) > 90") + "let x = nope\n"},
                          {"b.rules", "rule s {\n  when 1\n  severity bad\n}\n"}});
    ASSERT_EQ(c.problems.size(), 4u) << messages(c.problems);
    EXPECT_EQ(c.problems[0].file, "a.rules");
    EXPECT_EQ(c.problems[1].line, 4u);
    EXPECT_EQ(c.problems[2].file, "b.rules");
    EXPECT_EQ(c.problems[3].line, 3u);
}

TEST(Checker, classify_needs_a_default_and_bool_cases) {
    auto c = check_text("classify q {\n  a when 1\n  a when true\n}\n");
    EXPECT_EQ(messages(c.problems),
              "1:10 classify q has no default label\n"
              "2:10 when needs a bool, not number\n"
              "3:3 label a is given twice in classify q\n");
}

TEST(Checker, checking_again_gives_the_same_result) {
    auto c = check_text("let a = 1\n" + rule("a > 1d and account.mrr > a"));
    auto again = check::check(c.program, {});
    ASSERT_EQ(again.size(), c.problems.size());
    EXPECT_EQ(messages(again), messages(c.problems));
    EXPECT_EQ(c.program.lets.size(), 1u);
    EXPECT_EQ(c.program.rules.size(), 1u);
}

TEST(Checker, templates_outside_rule_files_see_let_types) {
    auto c = check_text("let days_left = account.renewal_at - now()\n");
    ASSERT_TRUE(c.problems.empty()) << messages(c.problems);
    diagnostics problems;
    auto tpl = parse::parse_template_text("{days_left | days} {days_left | money}", "cfg", problems);
    auto found = check::check_template(tpl, "cfg", c.program);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].message, "format money needs a number, not duration");
    EXPECT_EQ(found[0].column, 21u);
    EXPECT_EQ(std::get<ast::path>(tpl.parts[0].expression->node).ref.kind, ast::ref_kind::let);
}

TEST(Checker, lets_are_checked_in_dependency_order_across_files) {
    auto c = check_files({{"a.rules", rule("late > 2d")}, {"b.rules", "let late = since(activity)\n"}});
    EXPECT_TRUE(c.problems.empty()) << messages(c.problems);
    EXPECT_EQ(first_rule(c).when->type, ast::value_type::boolean);
}

// A let is checked before the items that read it without recursing along the chain:
// 20,000 lets each reading the next (defined after it) crashed the checker's stack.
TEST(Checker, a_long_chain_of_lets_read_before_they_are_defined_is_checked_without_recursion) {
    constexpr int n = 20'000;
    std::string text;
    for (int i = 0; i < n; ++i) text += "let l" + std::to_string(i) + " = l" + std::to_string(i + 1) + " + 1d\n";
    text += "let l" + std::to_string(n) + " = 1d\n" + rule("l0 > 2d and l7 > x");
    auto c = check_text(text);
    // How deep evaluating it goes is the compiler's to refuse (compile/depth.hpp).
    EXPECT_EQ(messages(c.problems), std::to_string(n + 3) + ":25 unknown name x\n");
    ASSERT_EQ(c.program.lets.size(), static_cast<std::size_t>(n + 1));
    EXPECT_EQ(c.program.lets[0].item->value->type, ast::value_type::duration);
    EXPECT_EQ(c.program.lets[n / 2].item->value->type, ast::value_type::duration);
}

TEST(Checker, problems_inside_a_let_retried_after_its_dependencies_are_reported_once) {
    // b is read by a before it is checked: a's first walk is undone and redone, so its
    // own problems (including those check_rest finds after a bad arity) appear once.
    auto c = check_text("let a = abs(b, nope) + b\nlet b = 1\n" + rule("a > 0"));
    EXPECT_EQ(messages(c.problems), "1:9 abs takes 1 argument, got 2\n1:16 unknown name nope\n");
}

TEST(Checker, a_long_cycle_names_its_ends_and_its_length) {
    constexpr int n = 5'000;
    std::string text;
    for (int i = 0; i < n; ++i) text += "let c" + std::to_string(i) + " = c" + std::to_string((i + 1) % n) + "\n";
    auto c = check_text(text);
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_EQ(c.problems[0].code, "cycle");
    EXPECT_EQ(c.problems[0].message,
              "cycle: c0 -> c1 -> c2 -> c3 -> c4 -> c5 -> c6 -> c7 -> c8 -> c9 -> c10 -> c11 -> c12 -> c13 -> ... -> "
              "c4998 -> c4999 -> c0 (5000 names)");
}

// The parser never builds a tree deeper than rules::max_nesting; one built another way is
// refused by the checker rather than walked off the end of the stack.
TEST(Checker, a_tree_deeper_than_the_bound_is_refused_not_walked) {
    constexpr int levels = 100'000;
    ast::program program;
    ast::source_file file;
    file.path = "built.rules";
    file.text = "rule r {\n  when x\n}\n";
    ast::rule_item r;
    r.name = {"r", {1, 6}};
    auto leaf = std::make_unique<ast::expr>();
    leaf->node = ast::bool_literal{true};
    leaf->pos = {2, 8};
    ast::expr_ptr top = std::move(leaf);
    for (int i = 0; i < levels; ++i) {
        auto e = std::make_unique<ast::expr>();
        e->pos = {2, 8};
        e->node = ast::unary{ast::unary_op::logical_not, std::move(top)};
        top = std::move(e);
    }
    r.when = std::move(top);
    file.items.emplace_back(std::move(r));
    program.files.push_back(std::move(file));
    auto problems = check::check(program, {});
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].code, "too-deep");
    EXPECT_EQ(problems[0].line, 2u);
    EXPECT_EQ(problems[0].column, 8u);
    // Taken apart from the top: destroying it recursively would overflow the stack too.
    ast::expr_ptr e = std::move(std::get<ast::rule_item>(program.files[0].items[0]).when);
    while (e) {
        auto* u = std::get_if<ast::unary>(&e->node);
        ast::expr_ptr next = u ? std::move(u->operand) : nullptr;
        e = std::move(next);
    }
}

// ----------------------------------------------------------------- issue 13 clauses

TEST(Checker, inhibited_by_names_known_rules_not_itself) {
    auto c = check_text(
        "rule churned {\n  when true\n}\n"
        "rule risk {\n  when true\n  inhibited_by [churnd, risk, churned, churned]\n}\n");
    EXPECT_EQ(messages(c.problems),
              "6:17 unknown rule churnd in inhibited_by\n"
              "6:25 rule risk cannot be inhibited by itself\n"
              "6:40 rule churned is named twice in inhibited_by\n");
    EXPECT_EQ(c.problems.at(0).hint, "did you mean churned?");
}

TEST(Checker, inhibited_by_sees_rules_of_other_files) {
    auto c = check_files({{"a.rules", "rule risk {\n  when true\n  inhibited_by [churned]\n}\n"},
                          {"b.rules", "rule churned {\n  when true\n}\n"}});
    EXPECT_TRUE(c.problems.empty()) << messages(c.problems);
}

TEST(Checker, inhibition_cycles_are_reported_once_at_their_first_rule) {
    auto c = check_files({{"a.rules",
                           "rule a {\n  when true\n  inhibited_by [b]\n}\n"
                           "rule b {\n  when true\n  inhibited_by [x, c]\n}\n"
                           "rule x {\n  when true\n}\n"},
                          {"b.rules", "rule c {\n  when true\n  inhibited_by [a]\n}\n"}});
    ASSERT_EQ(c.problems.size(), 1u) << messages(c.problems);
    EXPECT_EQ(c.problems[0].file, "a.rules");
    EXPECT_EQ(messages(c.problems), "3:17 inhibition cycle: a -> b -> c -> a\n");
}

TEST(Checker, escalate_channel_checked_against_the_config) {
    const std::string text = "rule r {\n  when true\n  escalate after 3d to leadershp\n}\n";
    EXPECT_TRUE(check_text(text).problems.empty());
    check::check_options options;
    options.channels = std::set<std::string>{"leadership", "cs_red_flags"};
    auto c = check_text(text, options);
    EXPECT_EQ(messages(c.problems), "3:24 unknown channel leadershp\n");
    EXPECT_EQ(c.problems.at(0).hint, "did you mean leadership?");
    auto zero = check_text("rule r {\n  when true\n  escalate after 0d to leadership\n}\n");
    EXPECT_EQ(messages(zero.problems), "3:18 escalate after must be longer than 0\n");
}

TEST(Checker, snooze_wake_if_is_a_bool_over_the_account) {
    auto ok = check_text("rule r {\n  when true\n  snooze_wake_if account.mrr < 100 or account.renewal_at - now() < 30d\n}\n");
    EXPECT_TRUE(ok.problems.empty()) << messages(ok.problems);
    auto bad = check_text("rule r {\n  when true\n  snooze_wake_if account.mrr + 1\n}\n");
    EXPECT_EQ(messages(bad.problems), "3:18 snooze_wake_if needs a bool, not number\n");
    auto unknown = check_text("rule r {\n  when true\n  snooze_wake_if acount.mrr < 3\n}\n");
    ASSERT_EQ(unknown.problems.size(), 1u) << messages(unknown.problems);
    EXPECT_EQ(unknown.problems[0].line, 3u);
    EXPECT_EQ(unknown.problems[0].column, 18u);
}
