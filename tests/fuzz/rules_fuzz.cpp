// libFuzzer target: arbitrary bytes as a rule file through the whole pipeline that
// rules::load runs (parse → check → compile), then evaluate → render → format, and as a
// message template against the compiled set. Besides crashes and sanitizer reports it
// fails (abort) when a promise is broken:
//   - format: on a file that parsed cleanly, the formatted text parses without errors to
//     the same tree and formats to itself;
//   - evaluate: on a small fixed account (events of every type, at several instants),
//     evaluating twice gives the same answer, next_change is after the instant, and the
//     incremental evaluation the engine runs (reusing items whose inputs did not change
//     and whose next change has not come, rule_set.hpp) gives what a full one gives.
#include "rules/diagnostic.hpp"
#include "rules/format/formatter.hpp"
#include "rules/parse/parser.hpp"
#include "rules/rule_set.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace redflag;
using namespace redflag::rules;
namespace json = boost::json;

namespace {

[[noreturn]] void fail(const char* what, const std::string& a, const std::string& b) {
    std::fprintf(stderr, "rules_fuzz: %s\n--- first\n%s\n--- second\n%s\n", what, a.c_str(), b.c_str());
    std::abort();
}

const timestamp t0 = from_millis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

model::event make(model::event_type type, timestamp at, json::object fields) {
    static int next_id = 0;
    model::event e;
    e.type = type;
    e.account = "acme";
    e.at = at;
    e.id = std::to_string(++next_id);
    e.fields = std::move(fields);
    return e;
}

// Events of every type over 120 days, in time order (made once: every input reads them).
std::vector<model::event> make_history() {
    using model::event_type;
    std::vector<model::event> h;
    h.push_back(make(event_type::account, t0,
                     {{"name", "Acme"}, {"csm", "ana"}, {"csm_email", "ana@example.com"}, {"segment", "smb"},
                      {"plan", "pro"}, {"status", "active"}, {"seats", 40}, {"employees", 120},
                      {"signed_at", "2025-11-01T00:00:00Z"},
                      {"attributes", json::object{{"tier", "gold"}, {"score", 3}, {"beta", true}}}}));
    h.push_back(make(event_type::contract, t0 + day,
                     {{"mrr", 5200}, {"seats", 50}, {"products", json::array{"core", "analytics"}},
                      {"renewal_at", "2026-04-01T00:00:00Z"}, {"status", "active"}}));
    h.push_back(make(event_type::user, t0 + day, {{"user_id", "u1"}, {"role", "superuser"}, {"email", "a@x.io"}}));
    h.push_back(make(event_type::user, t0 + day, {{"user_id", "u2"}, {"role", "admin"}, {"active", false}}));
    for (int d = 0; d < 120; d += 3) {
        h.push_back(make(event_type::usage, t0 + d * day + hour,
                         {{"metric", "active_users"}, {"value", 30 - d / 6}, {"user_id", d < 60 ? "u1" : "u2"}}));
        h.push_back(make(event_type::usage, t0 + d * day + 2 * hour, {{"metric", "logins"}}));
    }
    h.push_back(make(event_type::ticket, t0 + 10 * day, {{"ticket_id", "t1"}, {"status", "open"}, {"priority", "urgent"},
                                                         {"subject", "Broken"}}));
    h.push_back(make(event_type::ticket, t0 + 12 * day, {{"ticket_id", "t2"}, {"status", "pending"}}));
    h.push_back(make(event_type::nps, t0 + 20 * day, {{"score", 4}, {"comment", "slow"}}));
    h.push_back(make(event_type::csat, t0 + 25 * day, {{"score", 2}, {"ticket_id", "t1"}}));
    h.push_back(make(event_type::activity, t0 + 30 * day, {{"kind", "qbr"}, {"by", "ana"}}));
    h.push_back(make(event_type::milestone, t0 + 35 * day, {{"name", "first_value"}}));
    h.push_back(make(event_type::account, t0 + 40 * day, {{"csm", "bo"}, {"attributes", json::object{{"tier", 2}}}}));
    h.push_back(make(event_type::ticket, t0 + 45 * day, {{"ticket_id", "t1"}, {"status", "solved"}}));
    h.push_back(make(event_type::nps, t0 + 50 * day, {{"score", 9}}));
    h.push_back(make(event_type::contract, t0 + 60 * day, {{"mrr", 3100}, {"status", "cancel_requested"}}));
    h.push_back(make(event_type::user, t0 + 70 * day, {{"user_id", "u3"}, {"role", "decision_maker"}}));
    h.push_back(make(event_type::activity, t0 + 80 * day, {{"kind", "call"}}));
    std::stable_sort(h.begin(), h.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    return h;
}

const std::vector<model::event>& history() {
    static const std::vector<model::event> h = make_history();
    return h;
}

bool same_number(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// The answer an evaluation gives (what the engine acts on), for comparisons.
std::string answer(const evaluation& e) {
    std::string s;
    for (auto c : e.conditions) s += c ? '1' : '0';
    s += '|';
    for (double v : e.scores) s += std::isnan(v) ? "null," : std::to_string(v) + ",";
    s += '|';
    for (auto b : e.bands) s += std::to_string(b) + ",";
    s += '|';
    for (auto c : e.classes) s += std::to_string(c) + ",";
    return s;
}

void check_answers_agree(const char* what, const evaluation& full, const evaluation& incremental) {
    std::string a = answer(full), b = answer(incremental);
    bool scores_equal = full.scores.size() == incremental.scores.size();
    for (std::size_t i = 0; scores_equal && i < full.scores.size(); ++i)
        scores_equal = same_number(full.scores[i], incremental.scores[i]);
    if (a != b || !scores_equal) fail(what, a, b);
}

void evaluate_everywhere(const rule_set& rules) {
    const duration tick = hour;
    const std::vector<model::event>& events = history();
    // Instants: mid-history, after more events, and later with no event in between.
    const timestamp instants[] = {t0 + 30 * day, t0 + 75 * day, t0 + 200 * day};

    model::account_state state;
    state.id = "acme";
    std::size_t next_event = 0;
    evaluation previous = rules.make_evaluation();
    bool have_previous = false;
    std::uint64_t changed = ~std::uint64_t{0};
    for (timestamp now : instants) {
        for (; next_event < events.size() && events[next_event].at <= now; ++next_event) {
            changed |= rules.inputs_changed_by(events[next_event], state);
            state.apply(events[next_event]);
        }
        evaluation full = rules.make_evaluation();
        rules.evaluate(state, now, tick, full);
        if (full.next_change <= now) fail("next_change is not after now", std::to_string(to_millis(now)),
                                          std::to_string(to_millis(full.next_change)));
        evaluation again = rules.make_evaluation();
        rules.evaluate(state, now, tick, again);
        check_answers_agree("evaluating twice gives different answers", full, again);
        if (have_previous) {
            previous_evaluation reuse{changed,          previous.conditions, previous.scores,    previous.bands,
                                      previous.classes, previous.item_next,  previous.components};
            evaluation incremental = rules.make_evaluation();
            rules.evaluate(state, now, tick, incremental, &reuse);
            check_answers_agree("the incremental evaluation differs from a full one", full, incremental);
        }
        for (std::size_t r = 0; r < rules.rules().size(); ++r) {
            (void)rules.render_message(r, state, now);
            (void)rules.repeat_interval(r, state, now);
        }
        previous = std::move(full);
        have_previous = true;
        changed = 0;
    }
}

void check_formatter(const std::string& text) {
    auto parsed = parse::parse_file("fuzz.rules", text);
    if (!parsed.problems.empty()) {
        (void)render_text(parsed.problems);
        return;
    }
    std::string formatted = format::format_file(parsed.file);
    std::string tree = format::dump_tree(parsed.file);
    auto again = parse::parse_file("fuzz.rules", formatted);
    if (!again.problems.empty()) fail("formatted text does not parse", formatted, render_text(again.problems));
    auto again_tree = format::dump_tree(again.file);
    if (again_tree != tree) fail("formatting changed the tree", tree, again_tree);
    auto twice = format::format_file(again.file);
    if (twice != formatted) fail("formatting is not idempotent", formatted, twice);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);

    check_formatter(text);

    load_options options;
    options.channels = std::set<std::string>{"cs_red_flags", "owner_email"};
    load_result loaded = load_sources({{"fuzz.rules", text}}, options);
    (void)render_text(loaded.problems);
    (void)render_json(loaded.problems);
    if (loaded.rules) evaluate_everywhere(*loaded.rules);

    // The same bytes as a template outside rule files, against the set when there is one.
    template_result tpl = compile_template(text, "fuzz template", loaded.rules.get());
    (void)render_text(tpl.problems);
    if (tpl.compiled) {
        model::account_state state;
        state.id = "acme";
        for (const auto& e : history()) state.apply(e);
        (void)tpl.compiled->render(state, t0 + 90 * day);
    }
    return 0;
}
