#include "ingest/validate.hpp"

#include "ingest/content_hash.hpp"
#include "model/schema.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

namespace redflag::ingest {
namespace {

namespace json = boost::json;
using model::field_kind;
using model::field_spec;
using model::text_kind;

constexpr std::string_view timestamp_message = "must be an RFC 3339 timestamp, e.g. 2026-11-02T09:00:00Z";
// Unknown members are walked for non-finite numbers; a parsed body is at most 32 deep
// (Boost.JSON's default), a test file's YAML could be deeper.
constexpr int max_depth = 64;

// What scanning a string found.
struct text_scan {
    std::size_t chars = 0;        // Unicode code points
    bool valid_utf8 = true;
    std::optional<char32_t> control;  // the first control character not allowed
    std::size_t control_at = 0;       // its 1-based character position
};

// One pass over `s`: counts code points, checks UTF-8 (Boost.JSON has done so for a
// parsed body, but a YAML test file has not), and finds the first control character
// the kind does not allow: C0 (U+0000-U+001F; text allows tab, LF, CR), DEL and C1
// (U+007F-U+009F).
// Whether the 8 bytes at `p` are all printable ASCII (0x20-0x7E), the common case,
// tested a word at a time: no byte has its high bit set, none is below 0x20 and none is
// 0x7F ("hasless" of Bit Twiddling Hacks: exact as to whether such a byte exists).
bool printable_ascii8(const unsigned char* p) {
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    const std::uint64_t high = w & highs;
    const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
    const std::uint64_t del = w ^ (ones * 0x7F);
    const std::uint64_t is_del = (del - ones) & ~del & highs;
    return (high | below_space | is_del) == 0;
}

text_scan scan_text(std::string_view s, text_kind kind) {
    text_scan out;
    auto note_control = [&](char32_t c) {
        if (!out.control) {
            out.control = c;
            out.control_at = out.chars;
        }
    };
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        if (end - p >= 8 && printable_ascii8(p)) {
            p += 8;
            out.chars += 8;
            continue;
        }
        const unsigned char c = *p;
        ++out.chars;
        if (c < 0x80) {
            ++p;
            if (c >= 0x20 && c != 0x7f) continue;
            if (kind == text_kind::text && (c == '\t' || c == '\n' || c == '\r')) continue;
            note_control(c);
            continue;
        }
        // A multi-byte sequence: its length and the range of its second byte (which
        // rules out overlong forms, surrogates and code points above U+10FFFF).
        std::size_t length = 0;
        unsigned char low = 0x80, high = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) length = 2;
        else if (c == 0xE0) length = 3, low = 0xA0;
        else if (c == 0xED) length = 3, high = 0x9F;
        else if (c >= 0xE1 && c <= 0xEF) length = 3;
        else if (c == 0xF0) length = 4, low = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) length = 4;
        else if (c == 0xF4) length = 4, high = 0x8F;
        if (length == 0 || static_cast<std::size_t>(end - p) < length || p[1] < low || p[1] > high) {
            out.valid_utf8 = false;
            return out;
        }
        for (std::size_t i = 2; i < length; ++i)
            if ((p[i] & 0xC0) != 0x80) {
                out.valid_utf8 = false;
                return out;
            }
        if (c == 0xC2 && p[1] <= 0x9F) note_control(p[1]);  // C1 controls, U+0080-U+009F
        p += length;
    }
    return out;
}

std::string code_point_text(char32_t c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
    return buf;
}

std::string number_text(double d) {
    if (std::trunc(d) == d && std::abs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    auto s = std::to_string(d);
    while (!s.empty() && s.back() == '0') s.pop_back();
    return s;
}

std::string type_list() {
    std::string out;
    for (auto name : model::event_type_names) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

std::string one_of_message(std::span<const std::string_view> values) {
    std::string out = "must be one of ";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ", ";
        out += values[i];
    }
    return out;
}

std::string string_message(std::size_t max) { return "must be a string of 1 to " + std::to_string(max) + " characters"; }

std::string numeric_message(const field_spec& spec) {
    std::string out = spec.kind == field_kind::integer ? "must be an integer" : "must be a number";
    if (spec.min && spec.max)
        out += " from " + number_text(*spec.min) + " to " + number_text(*spec.max);
    else if (spec.min)
        out += " >= " + number_text(*spec.min);
    else if (spec.max)
        out += " <= " + number_text(*spec.max);
    return out;
}

// Checks a number against the spec's kind and bounds; normalises an integral double of an
// integer field to int64 in place. Non-finite numbers fail every spec.
bool check_number(json::value& v, const field_spec& spec) {
    double d = 0;
    if (v.is_int64()) {
        d = static_cast<double>(v.get_int64());
    } else if (v.is_uint64()) {
        if (spec.kind == field_kind::integer) return false;  // beyond int64: no reader could hold it
        d = static_cast<double>(v.get_uint64());
    } else if (v.is_double()) {
        d = v.get_double();
        if (!std::isfinite(d)) return false;
        if (spec.kind == field_kind::integer) {
            constexpr double limit = 9.2e18;
            if (std::trunc(d) != d || std::abs(d) > limit) return false;
            v = static_cast<std::int64_t>(d);
        }
    } else {
        return false;
    }
    if (spec.min && d < *spec.min) return false;
    if (spec.max && d > *spec.max) return false;
    return true;
}

// True when every number in `v` is finite (the common case, checked without building
// any field path).
bool all_finite(const json::value& v, int depth) {
    switch (v.kind()) {
        case json::kind::double_: return std::isfinite(v.get_double());
        case json::kind::array:
            if (depth >= max_depth) return false;
            for (const auto& item : v.get_array())
                if (!all_finite(item, depth + 1)) return false;
            return true;
        case json::kind::object:
            if (depth >= max_depth) return false;
            for (const auto& member : v.get_object())
                if (!all_finite(member.value(), depth + 1)) return false;
            return true;
        default: return true;
    }
}

// Collects the problems of one item.
class item_checker {
public:
    item_checker(std::size_t index, const validation_limits& limits, std::vector<problem>& problems)
        : index_(index), limits_(limits), problems_(problems) {}

    void add(std::string field, std::string message) { problems_.push_back({index_, std::move(field), std::move(message)}); }

    // A string of `kind`: its type, length and characters. True when it passes.
    bool text(const json::value& v, text_kind kind, std::string_view field) {
        const std::size_t max = kind == text_kind::id ? limits_.max_id : limits_.max_string;
        if (!v.is_string()) {
            add(std::string(field), string_message(max));
            return false;
        }
        return text(v.get_string(), kind, field, max);
    }

    bool text(std::string_view s, text_kind kind, std::string_view field, std::size_t max) {
        const auto scan = scan_text(s, kind);
        if (!scan.valid_utf8) {
            add(std::string(field), "must be valid UTF-8");
            return false;
        }
        if (scan.chars < 1 || scan.chars > max) {
            add(std::string(field), string_message(max));
            return false;
        }
        if (scan.control) {
            add(std::string(field), std::string(kind == text_kind::id
                                                    ? "must not contain control characters"
                                                    : "must not contain control characters other than tab, line "
                                                      "feed and carriage return") +
                                        " (" + code_point_text(*scan.control) + " at character " +
                                        std::to_string(scan.control_at) + ")");
            return false;
        }
        return true;
    }

    void field(json::value& v, const field_spec& spec) {
        const std::string_view name = spec.name;
        switch (spec.kind) {
            case field_kind::string:
                if (!spec.one_of.empty()) {
                    bool found = false;
                    if (v.is_string())
                        for (auto allowed : spec.one_of) found = found || v.get_string() == allowed;
                    if (!found) add(std::string(name), one_of_message(spec.one_of));
                } else {
                    text(v, spec.text, name);
                }
                return;
            case field_kind::integer:
            case field_kind::number:
                if (!check_number(v, spec)) add(std::string(name), numeric_message(spec));
                return;
            case field_kind::boolean:
                if (!v.is_bool()) add(std::string(name), "must be true or false");
                return;
            case field_kind::time:
                if (!v.is_string() || !parse_rfc3339(v.get_string())) add(std::string(name), std::string(timestamp_message));
                return;
            case field_kind::string_list: string_list(v, spec, name); return;
            case field_kind::object:
                if (spec.text == text_kind::id) id_map(v, name);
                else attributes(v, name);
                return;
        }
    }

    // An unknown member: kept as sent, but no non-finite number may hide in it (stored
    // as JSON it would be unreadable: Boost.JSON writes "Infinity").
    void finite(const json::value& v, std::string_view key) {
        if (all_finite(v, 0)) return;
        std::string path(key);
        report_non_finite(v, path, 0);
    }

private:
    void string_list(const json::value& v, const field_spec& spec, std::string_view name) {
        if (!v.is_array()) {
            add(std::string(name), "must be an array of strings");
            return;
        }
        const auto& items = v.get_array();
        if (items.size() > limits_.max_list) {
            add(std::string(name), "must have at most " + std::to_string(limits_.max_list) + " items");
            return;
        }
        for (std::size_t i = 0; i < items.size(); ++i)
            if (!items[i].is_string() || !text_ok(items[i].get_string(), spec.text))
                text(items[i], spec.text, std::string(name) + "[" + std::to_string(i) + "]");
    }

    // A cheap yes for the common case; the caller re-checks to word the problem.
    bool text_ok(std::string_view s, text_kind kind) const {
        const auto scan = scan_text(s, kind);
        const std::size_t max = kind == text_kind::id ? limits_.max_id : limits_.max_string;
        return scan.valid_utf8 && !scan.control && scan.chars >= 1 && scan.chars <= max;
    }

    void attributes(const json::value& v, std::string_view name) {
        if (!v.is_object()) {
            add(std::string(name), "must be an object of string, number or boolean values");
            return;
        }
        const auto& members = v.get_object();
        if (members.size() > limits_.max_list) {
            add(std::string(name), "must have at most " + std::to_string(limits_.max_list) + " members");
            return;
        }
        for (const auto& kv : members) {
            const std::string field = std::string(name) + "." + std::string(kv.key());
            if (!text_ok(kv.key(), text_kind::id)) {
                auto scan = scan_text(kv.key(), text_kind::id);
                add(field, "must be named by 1 to " + std::to_string(limits_.max_id) +
                               " characters without control characters" + (scan.valid_utf8 ? "" : " (valid UTF-8)"));
                continue;
            }
            const auto& m = kv.value();
            if (m.is_string()) {
                // An empty value is allowed here (it clears an attribute's text).
                if (!m.get_string().empty()) text(m.get_string(), text_kind::text, field, limits_.max_string);
            } else if (m.is_double() && !std::isfinite(m.get_double())) {
                add(field, "must be a finite number");
            } else if (!m.is_number() && !m.is_bool()) {
                add(field, "must be a string (at most " + std::to_string(limits_.max_string) + " characters), number or boolean");
            }
        }
    }

    // An object of ids named by ids (account `external_ids`: vendor -> the account's id there).
    void id_map(const json::value& v, std::string_view name) {
        if (!v.is_object()) {
            add(std::string(name), "must be an object of ids (strings of 1 to " + std::to_string(limits_.max_id) +
                                       " characters without control characters)");
            return;
        }
        const auto& members = v.get_object();
        if (members.size() > limits_.max_list) {
            add(std::string(name), "must have at most " + std::to_string(limits_.max_list) + " members");
            return;
        }
        for (const auto& kv : members) {
            const std::string field = std::string(name) + "." + std::string(kv.key());
            if (!text_ok(kv.key(), text_kind::id)) {
                add(field, "must be named by 1 to " + std::to_string(limits_.max_id) +
                               " characters without control characters");
                continue;
            }
            text(kv.value(), text_kind::id, field);
        }
    }

    void report_non_finite(const json::value& v, std::string& path, int depth) {
        if (depth >= max_depth && (v.is_array() || v.is_object())) {
            add(path, "must not be nested more than " + std::to_string(max_depth) + " levels deep");
            return;
        }
        const std::size_t length = path.size();
        switch (v.kind()) {
            case json::kind::double_:
                if (!std::isfinite(v.get_double())) add(path, "must be a finite number");
                return;
            case json::kind::array: {
                const auto& items = v.get_array();
                for (std::size_t i = 0; i < items.size(); ++i) {
                    path += "[" + std::to_string(i) + "]";
                    report_non_finite(items[i], path, depth + 1);
                    path.resize(length);
                }
                return;
            }
            case json::kind::object:
                for (const auto& member : v.get_object()) {
                    path += ".";
                    path += member.key();
                    report_non_finite(member.value(), path, depth + 1);
                    path.resize(length);
                }
                return;
            default: return;
        }
    }

    std::size_t index_;
    const validation_limits& limits_;
    std::vector<problem>& problems_;
};

// `at` against the live bounds, relative to the receive time.
void check_live_time(timestamp at, timestamp received_at, const validation_limits& limits, item_checker& check) {
    const std::int64_t at_ms = to_millis(at), received_ms = to_millis(received_at);
    std::int64_t bound = 0;
    if (limits.max_age && !__builtin_sub_overflow(received_ms, limits.max_age->count(), &bound) && at_ms < bound)
        check.add("at", "must not be older than " + format_duration(*limits.max_age) +
                            " before it is received (storage.retention: its id would no longer deduplicate)");
    if (limits.max_future && !__builtin_add_overflow(received_ms, limits.max_future->count(), &bound) && at_ms > bound)
        check.add("at", "must not be more than " + format_duration(*limits.max_future) +
                            " after it is received (ingest.max_future)");
}

}  // namespace

std::string describe(const problem& p) { return p.field.empty() ? p.message : p.field + ": " + p.message; }

item_outcome decode_event(json::value& value, std::size_t index, const decode_options& options,
                          std::optional<model::event>& out, std::vector<problem>& problems) {
    static const std::string types_message = "must be one of " + type_list();
    item_outcome outcome;
    out.reset();
    const std::size_t problems_before = problems.size();
    const auto& limits = options.limits;
    item_checker check(index, limits, problems);
    auto* object = value.if_object();
    if (object == nullptr) {
        check.add("", "must be a JSON object");
        return outcome;
    }

    // The envelope.
    const auto envelope = model::find_envelope(*object);
    if (envelope.type && !envelope.type->is_null()) {
        if (envelope.type->is_string()) outcome.type = model::event_type_from(envelope.type->get_string());
        if (!outcome.type) check.add("type", types_message);
    } else {
        check.add("type", "is required");
    }
    bool account_ok = false;
    const bool company_level = outcome.type && model::is_company_level(*outcome.type);
    if (company_level) {
        // Company-level: no customer account; stored under the internal company account.
        if (envelope.account && !envelope.account->is_null())
            check.add("account", "must be absent: " + std::string(model::name_of(*outcome.type)) +
                                     " is company-level, not per account");
        else
            account_ok = true;
    } else if (envelope.account && !envelope.account->is_null()) {
        account_ok = check.text(*envelope.account, text_kind::id, "account");
    } else {
        check.add("account", "is required");
    }
    const bool id_given = envelope.id && !envelope.id->is_null() && check.text(*envelope.id, text_kind::id, "id");
    bool at_given = false;
    timestamp at{};
    if (envelope.at && !envelope.at->is_null()) {
        std::optional<timestamp> parsed;
        if (envelope.at->is_string()) parsed = parse_rfc3339(envelope.at->get_string());
        if (parsed) {
            at = *parsed;
            at_given = true;
            if (options.received_at) check_live_time(at, *options.received_at, limits, check);
        } else {
            check.add("at", std::string(timestamp_message));
        }
    } else if (options.received_at) {
        at = *options.received_at;
    } else {
        check.add("at", "is required");
    }

    // Every other member, in one pass: a field of the type is checked against its spec,
    // anything else only for non-finite numbers.
    const auto specs = outcome.type ? model::fields_of(*outcome.type) : std::span<const field_spec>{};
    std::uint32_t seen = 0;  // bit i: specs[i] was sent
    bool nulls = false;
    for (auto& member : *object) {
        json::value& v = member.value();
        if (&v == envelope.type || &v == envelope.account || &v == envelope.id || &v == envelope.at) continue;
        const std::string_view key = member.key();
        std::size_t i = 0;
        while (i < specs.size() && specs[i].name != key) ++i;
        if (i == specs.size()) {
            check.finite(v, key);
        } else if (v.is_null()) {
            nulls = true;
        } else {
            seen |= std::uint32_t{1} << i;
            check.field(v, specs[i]);
        }
    }
    for (std::size_t i = 0; i < specs.size(); ++i)
        if (specs[i].required && !(seen & (std::uint32_t{1} << i))) check.add(std::string(specs[i].name), "is required");
    if (problems.size() != problems_before || !account_ok) return outcome;

    if (nulls)  // null counts as absent
        for (const auto& spec : specs)
            if (auto it = object->find(spec.name); it != object->end() && it->value().is_null()) object->stable_erase(it);
    std::string id = id_given ? std::string(envelope.id->get_string()) : std::string();
    std::string account = company_level ? std::string(model::company_account) : std::string(envelope.account->get_string());
    // Move-constructed, so the fields keep the parsed object's storage (no copy).
    out.emplace(model::event{*outcome.type, std::move(account), std::move(id), at, !id_given, std::move(*object)});
    if (!id_given && options.derive_ids) out->id = content_id(*out, at_given);
    outcome.ok = true;
    return outcome;
}

validation_result validate(std::vector<decoded_item> items, const decode_options& options) {
    validation_result result;
    result.types.reserve(items.size());
    result.events.reserve(items.size());
    std::optional<model::event> event;
    for (auto& item : items) {
        auto outcome = decode_event(item.value, item.index, options, event, result.problems);
        result.types.push_back(outcome.type);
        // Once the batch is refused, keeping events is wasted work.
        if (outcome.ok && result.problems.empty()) result.events.push_back(std::move(*event));
    }
    if (!result.problems.empty()) result.events.clear();
    return result;
}

validation_result validate(std::vector<decoded_item> items, timestamp received_at, const validation_limits& limits) {
    decode_options options;
    options.limits = limits;
    options.received_at = received_at;
    options.derive_ids = true;
    return validate(std::move(items), options);
}

}  // namespace redflag::ingest
