#include "app/test_runner.hpp"

#include "engine/core.hpp"
#include "ingest/validate.hpp"
#include "model/schema.hpp"
#include "rules/rule_set.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace redflag::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// A problem that makes a test file unusable: where ("LINE:COL", or empty) and what.
// Thrown only inside this file's YAML reading and turned into exit status 2.
struct broken_file : std::runtime_error {
    explicit broken_file(const std::string& what, std::string where = {})
        : std::runtime_error(what), location(std::move(where)) {}
    std::string location;
};

std::string where(const YAML::Node& node) {
    const auto& mark = node.Mark();
    if (mark.line < 0) return {};
    return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

[[noreturn]] void fail(const YAML::Node& node, const std::string& what) { throw broken_file(what, where(node)); }

std::string scalar_text(const YAML::Node& node, std::string_view what) {
    if (!node.IsScalar()) fail(node, std::string(what) + " must be a single value");
    return node.Scalar();
}

void allow_keys(const YAML::Node& map, std::initializer_list<std::string_view> keys, std::string_view what) {
    if (!map.IsMap()) fail(map, std::string(what) + " must be a mapping");
    for (const auto& item : map) {
        auto key = item.first.Scalar();
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            std::string list;
            for (auto k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
            fail(item.first, "unknown key \"" + key + "\" in " + std::string(what) + " (expected " + list + ")");
        }
    }
}

duration read_duration(const YAML::Node& node, std::string_view what) {
    auto text = scalar_text(node, what);
    auto d = parse_duration(text);
    if (!d || *d <= duration::zero())
        fail(node, std::string(what) + ": \"" + text + "\" is not a positive duration such as 1h or 1d12h");
    return *d;
}

// An instant of a test: "+DURATION" or "-DURATION" from start, or RFC 3339.
timestamp read_instant(const YAML::Node& node, timestamp start, std::string_view what) {
    auto text = scalar_text(node, what);
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
        auto d = parse_duration(std::string_view(text).substr(1));
        if (!d) fail(node, std::string(what) + ": \"" + text + "\" is not +DURATION (such as +3d12h) or RFC 3339");
        return text[0] == '+' ? start + *d : start - *d;
    }
    auto t = parse_rfc3339(text);
    if (!t) fail(node, std::string(what) + ": \"" + text + "\" is not +DURATION (such as +3d12h) or RFC 3339");
    return *t;
}

// A YAML scalar as JSON, by its looks: quoted text stays a string; plain true/false,
// null/~, integers and decimals become booleans, null, numbers.
json::value infer(const YAML::Node& node) {
    if (node.IsNull()) return nullptr;
    if (node.IsSequence()) {
        json::array a;
        for (const auto& item : node) a.push_back(infer(item));
        return a;
    }
    if (node.IsMap()) {
        json::object o;
        for (const auto& item : node) o[item.first.Scalar()] = infer(item.second);
        return o;
    }
    const std::string& text = node.Scalar();
    if (node.Tag() == "!") return json::string(text);  // quoted
    if (text == "true") return true;
    if (text == "false") return false;
    if (text == "null" || text == "~") return nullptr;
    std::int64_t i = 0;
    if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
        ec == std::errc{} && end == text.data() + text.size() && !text.empty())
        return i;
    double d = 0;
    if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
        ec == std::errc{} && end == text.data() + text.size() && !text.empty())
        return d;
    return json::string(text);
}

std::optional<double> number_of(const json::value& v) {
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    if (v.is_double()) return v.get_double();
    return std::nullopt;
}

// A test file's envelope syntax, expanded to the JSON a webhook would send; the event
// decoder (ingest/validate.hpp) then checks it as it checks live ingest. A YAML scalar
// of a string field is text whatever it looks like (`name: 123` is "123"); a time may be
// +DURATION or -DURATION from start; anything else is read by its looks (infer).
json::value expand_field(const YAML::Node& node, const model::field_spec& spec, timestamp start) {
    const std::string what = "field \"" + std::string(spec.name) + "\"";
    switch (spec.kind) {
        case model::field_kind::string:
            if (node.IsScalar()) return json::string(node.Scalar());
            break;
        case model::field_kind::time:
            if (node.IsScalar() && !node.Scalar().empty() && (node.Scalar()[0] == '+' || node.Scalar()[0] == '-'))
                return json::string(format_rfc3339(read_instant(node, start, what)));
            if (node.IsScalar()) return json::string(node.Scalar());
            break;
        case model::field_kind::string_list:
            if (node.IsSequence()) {
                json::array a;
                for (const auto& item : node) a.push_back(item.IsScalar() ? json::value(json::string(item.Scalar())) : infer(item));
                return a;
            }
            break;
        default: break;
    }
    return infer(node);
}

// `- ack: RULE` or `- snooze: RULE` in a test's events: what a CSM does to the account's
// active alert of that rule, at `at` (default: start), as the API's ack and snooze do.
struct alert_action {
    bool snooze = false;
    std::string rule;
    std::string account;
    std::string by;
    duration length{0};     // snooze: `for`
    std::string location;   // LINE:COL of the entry, for a failure
};

struct test_event {
    model::event event;     // for an action: only `at` (the timeline is sorted by it)
    std::size_t order = 0;  // listed order, for ties
    std::optional<alert_action> action;
};

// Decodes one canonical event object expanded from `node` and appends it; a problem is
// reported at the YAML node of its field (or of the event) in the decoder's words.
void decode(json::value object, const YAML::Node& node, std::vector<test_event>& out) {
    ingest::decode_options options;  // history: `at` required and not bounded
    options.derive_ids = false;      // ids are given after sorting (read_tests)
    std::vector<ingest::problem> problems;
    std::optional<model::event> event;
    if (!ingest::decode_event(object, out.size(), options, event, problems).ok) {
        std::string text;
        for (const auto& p : problems) text += (text.empty() ? "" : "; ") + ingest::describe(p);
        const std::string key = problems.front().field.substr(0, problems.front().field.find_first_of(".["));
        const YAML::Node field = !key.empty() && node.IsMap() ? node[key] : YAML::Node();
        fail(field.IsDefined() && field.Mark().line >= 0 ? field : node, "event: " + text);
    }
    test_event te;
    te.event = std::move(*event);
    te.order = out.size();
    out.push_back(std::move(te));
}

void read_series(const YAML::Node& node, timestamp start, std::vector<test_event>& out) {
    allow_keys(node, {"series", "account", "every", "from", "values", "user_id"}, "a series");
    auto series = scalar_text(node["series"], "series");
    std::istringstream words(series);
    std::string kind, metric, extra;
    words >> kind >> metric >> extra;
    if (kind != "usage" || metric.empty() || !extra.empty())
        fail(node["series"], "series must be \"usage METRIC\", not \"" + series + "\"");
    if (!node["account"]) fail(node, "a series needs an account");
    if (!node["every"]) fail(node, "a series needs every (e.g. every: 1d)");
    if (!node["values"]) fail(node, "a series needs values (e.g. values: \"40*28 15*10\")");
    auto account = scalar_text(node["account"], "account");
    duration every = read_duration(node["every"], "every");
    timestamp at = node["from"] ? read_instant(node["from"], start, "from") : start;
    std::vector<double> values;
    auto add_token = [&](const YAML::Node& where_node, const std::string& token) {
        auto star = token.find('*');
        std::string value_text = token.substr(0, star);
        std::int64_t times = 1;
        double value = 0;
        auto [vend, vec] = std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);
        bool ok = vec == std::errc{} && vend == value_text.data() + value_text.size() && !value_text.empty();
        if (star != std::string::npos) {
            std::string times_text = token.substr(star + 1);
            auto [tend, tec] = std::from_chars(times_text.data(), times_text.data() + times_text.size(), times);
            ok = ok && tec == std::errc{} && tend == times_text.data() + times_text.size() && times > 0 &&
                 times <= 1'000'000;
        }
        if (!ok) fail(where_node, "values: \"" + token + "\" is not VALUE or VALUE*COUNT");
        for (std::int64_t i = 0; i < times; ++i) values.push_back(value);
    };
    const auto& values_node = node["values"];
    if (values_node.IsSequence()) {
        for (const auto& item : values_node) add_token(item, scalar_text(item, "values"));
    } else {
        std::istringstream tokens(scalar_text(values_node, "values"));
        std::string token;
        while (tokens >> token) add_token(values_node, token);
    }
    if (values.empty()) fail(values_node, "values is empty");
    std::string user_id = node["user_id"] ? scalar_text(node["user_id"], "user_id") : std::string();
    for (double value : values) {
        json::object o{{"type", "usage"}, {"account", account}, {"at", format_rfc3339(at)}, {"metric", metric}};
        if (value == std::floor(value) && std::abs(value) < 1e15)
            o["value"] = static_cast<std::int64_t>(value);
        else
            o["value"] = value;
        if (!user_id.empty()) o["user_id"] = user_id;
        decode(std::move(o), node, out);
        at += every;
    }
}

void read_event(const YAML::Node& node, timestamp start, std::vector<test_event>& out) {
    if (!node.IsMap()) fail(node, "an event must be a mapping");
    if (node["series"]) return read_series(node, start, out);
    if (!node["type"]) fail(node, "an event needs a type (or a series)");
    auto type_name = scalar_text(node["type"], "type");
    auto type = model::event_type_from(type_name);  // unknown: the decoder says which exist
    json::object o;
    o["type"] = type_name;
    o["at"] = format_rfc3339(node["at"] ? read_instant(node["at"], start, "at") : start);
    for (const auto& item : node) {
        auto key = item.first.Scalar();
        if (key == "type" || key == "at") continue;
        if (item.second.IsNull()) continue;  // null counts as absent, as in ingest
        if (key == "account" || key == "id") {
            o[key] = item.second.IsScalar() ? json::value(json::string(item.second.Scalar())) : infer(item.second);
        } else if (const auto* spec = type ? model::find_field(*type, key) : nullptr) {
            o[key] = expand_field(item.second, *spec, start);
        } else {
            o[key] = infer(item.second);  // unknown fields are kept, as in ingest
        }
    }
    decode(std::move(o), node, out);
}

void read_action(const YAML::Node& node, timestamp start, const rules::rule_set& rules, std::vector<test_event>& out) {
    const bool snooze = static_cast<bool>(node["snooze"]);
    if (snooze) allow_keys(node, {"snooze", "account", "at", "by", "for"}, "a snooze");
    else allow_keys(node, {"ack", "account", "at", "by"}, "an ack");
    alert_action a;
    a.snooze = snooze;
    const auto& rule = snooze ? node["snooze"] : node["ack"];
    a.rule = scalar_text(rule, "rule");
    if (!rules.find_rule(a.rule)) fail(rule, "no rule named \"" + a.rule + "\" in the loaded rules");
    if (!node["account"]) fail(node, std::string(snooze ? "a snooze" : "an ack") + " needs an account");
    a.account = scalar_text(node["account"], "account");
    a.by = node["by"] ? scalar_text(node["by"], "by") : std::string("test");
    if (snooze) {
        if (!node["for"]) fail(node, "a snooze needs for (e.g. for: 3d)");
        a.length = read_duration(node["for"], "for");
        if (a.length <= duration::zero()) fail(node["for"], "for must be positive");
    }
    a.location = where(node);
    test_event te;
    te.event.at = node["at"] ? read_instant(node["at"], start, "at") : start;
    te.order = out.size();
    te.action = std::move(a);
    out.push_back(std::move(te));
}

// Acks or snoozes the account's active alert of the action's rule at `at`; a problem
// line when there is none to act on.
std::optional<std::string> act(engine::core& core, const alert_action& a, timestamp at) {
    const std::string what = std::string(a.snooze ? "snooze" : "ack") + " of " + a.rule + " for " + a.account +
                             " (line " + a.location + ")";
    const auto* record = core.find(a.account);
    const alerts::alert* alert = nullptr;
    if (record)
        for (const auto& candidate : record->alerts.active())
            if (candidate.rule == a.rule) alert = &candidate;
    if (!alert) return what + ": no active alert to act on";
    const std::string id = alert->id;
    bool done = false;
    if (a.snooze) {
        alerts::snooze s;
        s.until = at + a.length;
        s.by = a.by;
        s.at = at;
        done = core.snooze(a.account, id, std::move(s));
    } else {
        alerts::acknowledgement ack;
        ack.by = a.by;
        ack.at = at;
        done = core.acknowledge(a.account, id, std::move(ack));
    }
    if (!done) return what + ": the alert is not " + (a.snooze ? "firing" : "active");
    return std::nullopt;
}

struct alert_key {
    std::string rule;
    std::string account;
    auto operator<=>(const alert_key&) const = default;
};

struct score_expectation {
    std::string account;
    std::string score;
    std::optional<std::optional<double>> value;  // outer: given; inner: null expected
    std::optional<std::string> band;
};

struct class_expectation {
    std::string account;
    std::string name;
    std::string label;
};

struct expectation {
    std::string at_text;
    timestamp at{};
    std::size_t order = 0;
    std::optional<std::set<alert_key>> firing;
    std::optional<std::set<alert_key>> pending;
    std::optional<std::set<alert_key>> inhibited;  // firing alerts held by `inhibited_by`
    std::optional<std::set<alert_key>> escalated;  // active alerts that escalated
    std::vector<score_expectation> scores;
    std::vector<class_expectation> classes;
};

struct test_case {
    std::string name;
    std::vector<test_event> events;
    std::vector<expectation> expects;
};

struct test_file {
    std::vector<std::string> rule_paths;
    std::optional<std::set<std::string>> channels;
    timestamp start{};
    duration tick = hour;
    std::vector<test_case> tests;
};

std::set<alert_key> read_alert_set(const YAML::Node& node, const rules::rule_set& rules, std::string_view what) {
    if (!node.IsSequence()) fail(node, std::string(what) + " must be a list of {rule, account}");
    std::set<alert_key> out;
    for (const auto& item : node) {
        allow_keys(item, {"rule", "account"}, std::string(what) + " entry");
        if (!item["rule"] || !item["account"]) fail(item, std::string(what) + " entries need rule and account");
        alert_key key{scalar_text(item["rule"], "rule"), scalar_text(item["account"], "account")};
        if (!rules.find_rule(key.rule)) fail(item["rule"], "no rule named \"" + key.rule + "\" in the loaded rules");
        out.insert(std::move(key));
    }
    return out;
}

expectation read_expectation(const YAML::Node& node, timestamp start, const rules::rule_set& rules) {
    allow_keys(node, {"at", "firing", "pending", "inhibited", "escalated", "scores", "classes"}, "an expectation");
    if (!node["at"]) fail(node, "an expectation needs at");
    expectation x;
    x.at_text = scalar_text(node["at"], "at");
    x.at = read_instant(node["at"], start, "at");
    if (node["firing"]) x.firing = read_alert_set(node["firing"], rules, "firing");
    if (node["pending"]) x.pending = read_alert_set(node["pending"], rules, "pending");
    if (node["inhibited"]) x.inhibited = read_alert_set(node["inhibited"], rules, "inhibited");
    if (node["escalated"]) x.escalated = read_alert_set(node["escalated"], rules, "escalated");
    if (const auto& scores = node["scores"]) {
        if (!scores.IsSequence()) fail(scores, "scores must be a list of {account, score, value, band}");
        for (const auto& item : scores) {
            allow_keys(item, {"account", "score", "value", "band"}, "a scores entry");
            if (!item["account"] || !item["score"]) fail(item, "a scores entry needs account and score");
            score_expectation s;
            s.account = scalar_text(item["account"], "account");
            s.score = scalar_text(item["score"], "score");
            const rules::score_definition* def = nullptr;
            for (const auto& d : rules.scores())
                if (d.name == s.score) def = &d;
            if (def == nullptr) fail(item["score"], "no score named \"" + s.score + "\" in the loaded rules");
            if (item["value"]) {
                auto v = infer(item["value"]);
                if (v.is_null())
                    s.value = std::optional<double>();
                else if (auto n = number_of(v))
                    s.value = std::optional<double>(*n);
                else
                    fail(item["value"], "value must be a number or null");
            }
            if (item["band"]) {
                s.band = scalar_text(item["band"], "band");
                if (*s.band != "unknown" && std::find(def->bands.begin(), def->bands.end(), *s.band) == def->bands.end())
                    fail(item["band"], "score " + s.score + " has no band \"" + *s.band + "\"");
            }
            if (!s.value && !s.band) fail(item, "a scores entry needs value or band");
            x.scores.push_back(std::move(s));
        }
    }
    if (const auto& classes = node["classes"]) {
        if (!classes.IsSequence()) fail(classes, "classes must be a list of {account, name, label}");
        for (const auto& item : classes) {
            allow_keys(item, {"account", "name", "label"}, "a classes entry");
            if (!item["account"] || !item["name"] || !item["label"])
                fail(item, "a classes entry needs account, name and label");
            class_expectation c{scalar_text(item["account"], "account"), scalar_text(item["name"], "name"),
                                scalar_text(item["label"], "label")};
            const rules::classify_definition* def = nullptr;
            for (const auto& d : rules.classifications())
                if (d.name == c.name) def = &d;
            if (def == nullptr) fail(item["name"], "no classification named \"" + c.name + "\" in the loaded rules");
            if (std::find(def->labels.begin(), def->labels.end(), c.label) == def->labels.end())
                fail(item["label"], "classification " + c.name + " has no label \"" + c.label + "\"");
            x.classes.push_back(std::move(c));
        }
    }
    return x;
}

// Reads the file's header: rules, config, start, tick. Tests are read once the rules are
// loaded, so that names can be checked against them.
test_file read_header(const YAML::Node& root, const fs::path& file) {
    if (!root.IsMap()) throw broken_file("a test file must be a mapping with rules, start and tests");
    allow_keys(root, {"rules", "config", "start", "tick", "tests"}, "a test file");
    test_file t;
    fs::path base = file.parent_path();
    auto resolve = [&](const std::string& p) {
        fs::path path(p);
        return (path.is_absolute() ? path : base / path).lexically_normal().string();
    };
    const auto& rules = root["rules"];
    if (!rules) throw broken_file("missing rules: the rule files to load, relative to this file");
    if (rules.IsSequence()) {
        for (const auto& item : rules) t.rule_paths.push_back(resolve(scalar_text(item, "rules")));
    } else {
        t.rule_paths.push_back(resolve(scalar_text(rules, "rules")));
    }
    if (t.rule_paths.empty()) fail(rules, "rules is empty");
    if (const auto& config = root["config"]) {
        auto path = resolve(scalar_text(config, "config"));
        YAML::Node cfg;
        try {
            cfg = YAML::LoadFile(path);
        } catch (const YAML::BadFile&) {
            fail(config, "cannot read config " + path);
        } catch (const YAML::Exception& e) {
            fail(config, "config " + path + ": " + e.what());
        }
        t.channels.emplace();
        if (cfg.IsMap() && cfg["channels"]) {
            if (!cfg["channels"].IsMap()) fail(config, "config " + path + ": channels must be a mapping");
            for (const auto& item : cfg["channels"]) t.channels->insert(item.first.Scalar());
        }
    }
    if (!root["start"]) throw broken_file("missing start (e.g. start: 2026-01-01T00:00:00Z)");
    auto start_text = scalar_text(root["start"], "start");
    auto start = parse_rfc3339(start_text);
    if (!start) fail(root["start"], "start: \"" + start_text + "\" is not an RFC 3339 timestamp");
    t.start = *start;
    if (root["tick"]) t.tick = read_duration(root["tick"], "tick");
    if (!root["tests"] || !root["tests"].IsSequence() || root["tests"].size() == 0)
        throw broken_file("missing tests: a list of {name, events, expect}");
    return t;
}

void read_tests(const YAML::Node& root, test_file& t, const rules::rule_set& rules) {
    std::size_t index = 0;
    for (const auto& node : root["tests"]) {
        ++index;
        allow_keys(node, {"name", "events", "expect"}, "a test");
        test_case tc;
        tc.name = node["name"] ? scalar_text(node["name"], "name") : "test " + std::to_string(index);
        if (const auto& events = node["events"]) {
            if (!events.IsSequence()) fail(events, "events must be a list");
            for (const auto& e : events) {
                if (e.IsMap() && (e["ack"] || e["snooze"])) read_action(e, t.start, rules, tc.events);
                else read_event(e, t.start, tc.events);
            }
        }
        if (!node["expect"] || !node["expect"].IsSequence() || node["expect"].size() == 0)
            fail(node, "test \"" + tc.name + "\" has no expect list");
        for (const auto& x : node["expect"]) {
            tc.expects.push_back(read_expectation(x, t.start, rules));
            tc.expects.back().order = tc.expects.size();
        }
        std::stable_sort(tc.events.begin(), tc.events.end(),
                         [](const test_event& a, const test_event& b) { return a.event.at < b.event.at; });
        std::stable_sort(tc.expects.begin(), tc.expects.end(),
                         [](const expectation& a, const expectation& b) { return a.at < b.at; });
        std::size_t n = 0;
        for (auto& e : tc.events) {
            if (e.action) continue;
            if (e.event.id.empty()) {
                e.event.id = "test:" + std::to_string(index) + ":" + std::to_string(++n);
                e.event.id_derived = true;
            }
        }
        t.tests.push_back(std::move(tc));
    }
}

std::string render(const std::set<alert_key>& keys) {
    std::string out = "[";
    for (const auto& k : keys) {
        if (out.size() > 1) out += ", ";
        out += "{rule: " + k.rule + ", account: " + k.account + "}";
    }
    return out + "]";
}

std::string render_number(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

std::string render_score(const std::optional<double>& value, std::string_view band) {
    return (value ? render_number(*value) : std::string("null")) + " (" + std::string(band) + ")";
}

// Runs one test; writes failures; true when it passed.
bool run_one(const test_file& file, const test_case& tc, const std::shared_ptr<const rules::rule_set>& rules,
             const std::string& path, std::ostream& out) {
    engine::core core(rules, engine::core_options{.grid_origin = file.start, .tick = file.tick, .render_messages = false});
    std::size_t next_event = 0;
    std::vector<std::string> problems;
    for (const auto& x : tc.expects) {
        while (next_event < tc.events.size() && tc.events[next_event].event.at <= x.at) {
            const auto& te = tc.events[next_event++];
            const auto& e = te.event;
            core.advance_to(e.at - duration{1});  // the grid strictly before the event first
            if (te.action) {
                if (auto problem = act(core, *te.action, e.at)) problems.push_back("  at " + format_rfc3339(e.at) + ": " + *problem);
            } else {
                core.apply(e);
            }
            core.clear_events();
        }
        core.advance_to(x.at);
        core.clear_events();

        std::vector<std::string> lines;
        std::set<alert_key> firing, pending, inhibited, escalated;
        core.for_each_account([&](const engine::account_record& a) {
            for (const auto& alert : a.alerts.active()) {
                auto& set = alert.state == alerts::alert_state::firing ? firing : pending;
                set.insert({alert.rule, alert.account});
                if (!alert.inhibited_by.empty()) inhibited.insert({alert.rule, alert.account});
                if (alert.escalated) escalated.insert({alert.rule, alert.account});
            }
        });
        if (x.firing && *x.firing != firing)
            lines.push_back("firing: expected " + render(*x.firing) + ", actual " + render(firing));
        if (x.pending && *x.pending != pending)
            lines.push_back("pending: expected " + render(*x.pending) + ", actual " + render(pending));
        if (x.inhibited && *x.inhibited != inhibited)
            lines.push_back("inhibited: expected " + render(*x.inhibited) + ", actual " + render(inhibited));
        if (x.escalated && *x.escalated != escalated)
            lines.push_back("escalated: expected " + render(*x.escalated) + ", actual " + render(escalated));
        for (const auto& s : x.scores) {
            auto actual = core.score(s.account, s.score);
            std::string label = "score " + s.score + " of " + s.account;
            std::string expected = (s.value ? (*s.value ? render_number(**s.value) : std::string("null"))
                                            : std::string("any value")) +
                                   " (" + (s.band ? *s.band : std::string("any band")) + ")";
            if (!actual) {
                lines.push_back(label + ": expected " + expected + ", actual: no such account");
                continue;
            }
            bool ok = true;
            if (s.value) {
                if (s.value->has_value() != actual->value.has_value()) ok = false;
                else if (*s.value && std::abs(**s.value - *actual->value) > 1e-9) ok = false;
            }
            if (s.band && *s.band != actual->band) ok = false;
            if (!ok) lines.push_back(label + ": expected " + expected + ", actual " + render_score(actual->value, actual->band));
        }
        for (const auto& c : x.classes) {
            auto actual = core.classification(c.account, c.name);
            if (!actual)
                lines.push_back("class " + c.name + " of " + c.account + ": expected " + c.label +
                                ", actual: no such account");
            else if (*actual != c.label)
                lines.push_back("class " + c.name + " of " + c.account + ": expected " + c.label + ", actual " +
                                std::string(*actual));
        }
        if (!lines.empty()) {
            problems.push_back("  at " + x.at_text + " (" + format_rfc3339(x.at) + "):");
            for (auto& l : lines) problems.push_back("    " + l);
        }
    }
    if (problems.empty()) {
        out << "ok   " << path << ": " << tc.name << "\n";
        return true;
    }
    out << "FAIL " << path << ": " << tc.name << "\n";
    for (const auto& p : problems) out << p << "\n";
    return false;
}

}  // namespace

int run_tests(std::span<const std::string> files, std::ostream& out, std::ostream& err) {
    std::size_t passed = 0, failed = 0;
    bool broken = false;
    for (const auto& path : files) {
        try {
            YAML::Node root;
            try {
                root = YAML::LoadFile(path);
            } catch (const YAML::BadFile&) {
                throw broken_file("cannot read the file");
            } catch (const YAML::ParserException& e) {
                throw broken_file(e.msg, std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1));
            }
            test_file file = read_header(root, fs::path(path));
            rules::load_options options;
            options.channels = file.channels;
            auto loaded = rules::load(file.rule_paths, options);
            for (const auto& d : loaded.problems)
                if (d.level != rules::severity::error) err << rules::render_text(d) << "\n";
            if (!loaded.rules || rules::has_errors(loaded.problems)) {
                std::string text;
                for (const auto& d : loaded.problems)
                    if (d.level == rules::severity::error) text += "\n" + rules::render_text(d);
                throw broken_file("the rules do not load:" + (text.empty() ? std::string(" (no diagnostics)") : text));
            }
            read_tests(root, file, *loaded.rules);
            for (const auto& tc : file.tests) {
                if (run_one(file, tc, loaded.rules, path, out))
                    ++passed;
                else
                    ++failed;
            }
        } catch (const broken_file& e) {
            err << path << (e.location.empty() ? "" : ":" + e.location) << ": error: " << e.what() << "\n";
            broken = true;
        } catch (const YAML::Exception& e) {
            err << path << ": error: " << e.what() << "\n";
            broken = true;
        } catch (const std::exception& e) {
            err << path << ": error: " << e.what() << "\n";
            broken = true;
        }
    }
    out << passed << " passed, " << failed << " failed\n";
    if (broken) return 2;
    return failed > 0 ? 1 : 0;
}

}  // namespace redflag::app
