#include "ingest/validate.hpp"

#include "ingest/content_hash.hpp"
#include "model/schema.hpp"

#include <cmath>
#include <limits>

namespace redflag::ingest {
namespace {

namespace json = boost::json;
using model::field_kind;
using model::field_spec;

constexpr std::string_view timestamp_message = "must be an RFC 3339 timestamp, e.g. 2026-11-02T09:00:00Z";

// Unicode code points of valid UTF-8 (Boost.JSON has already rejected invalid UTF-8).
std::size_t char_count(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
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

bool valid_string(const json::value& v, std::size_t max) {
    if (!v.is_string()) return false;
    auto n = char_count(v.get_string());
    return n >= 1 && n <= max;
}

// Checks a number against the spec's kind and bounds; normalises an integral double of an
// integer field to int64 in place.
bool check_number(json::value& v, const field_spec& spec) {
    double d = 0;
    if (v.is_int64()) {
        d = static_cast<double>(v.get_int64());
    } else if (v.is_uint64()) {
        if (spec.kind == field_kind::integer) return false;  // beyond int64: no reader could hold it
        d = static_cast<double>(v.get_uint64());
    } else if (v.is_double()) {
        d = v.get_double();
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

class item_checker {
public:
    item_checker(std::size_t index, const validation_limits& limits, std::vector<problem>& problems)
        : index_(index), limits_(limits), problems_(problems) {}

    void add(std::string field, std::string message) { problems_.push_back({index_, std::move(field), std::move(message)}); }

    void check_field(json::value& v, const field_spec& spec) {
        const std::string name(spec.name);
        switch (spec.kind) {
            case field_kind::string:
                if (!spec.one_of.empty()) {
                    bool found = false;
                    if (v.is_string())
                        for (auto allowed : spec.one_of) found = found || v.get_string() == allowed;
                    if (!found) add(name, one_of_message(spec.one_of));
                } else if (!valid_string(v, limits_.max_string)) {
                    add(name, string_message(limits_.max_string));
                }
                return;
            case field_kind::integer:
            case field_kind::number:
                if (!check_number(v, spec)) add(name, numeric_message(spec));
                return;
            case field_kind::boolean:
                if (!v.is_bool()) add(name, "must be true or false");
                return;
            case field_kind::time:
                if (!v.is_string() || !parse_rfc3339(v.get_string())) add(name, std::string(timestamp_message));
                return;
            case field_kind::string_list: {
                if (!v.is_array()) {
                    add(name, "must be an array of strings");
                    return;
                }
                const auto& items = v.get_array();
                if (items.size() > limits_.max_list) {
                    add(name, "must have at most " + std::to_string(limits_.max_list) + " items");
                    return;
                }
                for (std::size_t i = 0; i < items.size(); ++i)
                    if (!valid_string(items[i], limits_.max_string))
                        add(name + "[" + std::to_string(i) + "]", string_message(limits_.max_string));
                return;
            }
            case field_kind::object: {
                if (!v.is_object()) {
                    add(name, "must be an object of string, number or boolean values");
                    return;
                }
                const auto& members = v.get_object();
                if (members.size() > limits_.max_list) {
                    add(name, "must have at most " + std::to_string(limits_.max_list) + " members");
                    return;
                }
                for (const auto& kv : members) {
                    const auto& m = kv.value();
                    bool ok = m.is_number() || m.is_bool() || (m.is_string() && char_count(m.get_string()) <= limits_.max_string);
                    if (!ok)
                        add(name + "." + std::string(kv.key()),
                            "must be a string (at most " + std::to_string(limits_.max_string) + " characters), number or boolean");
                }
                return;
            }
        }
    }

private:
    std::size_t index_;
    const validation_limits& limits_;
    std::vector<problem>& problems_;
};

}  // namespace

validation_result validate(std::vector<decoded_item> items, timestamp received_at, const validation_limits& limits) {
    validation_result result;
    result.types.reserve(items.size());
    result.events.reserve(items.size());
    static const std::string types_message = "must be one of " + type_list();
    const std::string id_message = string_message(limits.max_id);

    for (auto& item : items) {
        item_checker check(item.index, limits, result.problems);
        if (!item.value.is_object()) {
            check.add("", "must be a JSON object");
            result.types.push_back(std::nullopt);
            continue;
        }
        auto& object = item.value.get_object();
        model::event event;

        // Common fields.
        std::optional<model::event_type> type;
        if (auto* v = object.if_contains("type"); v && !v->is_null()) {
            if (v->is_string()) type = model::event_type_from(v->get_string());
            if (!type) check.add("type", types_message);
        } else {
            check.add("type", "is required");
        }
        result.types.push_back(type);

        if (auto* v = object.if_contains("account"); v && !v->is_null()) {
            if (valid_string(*v, limits.max_id))
                event.account = v->get_string();
            else
                check.add("account", id_message);
        } else {
            check.add("account", "is required");
        }

        bool id_given = false;
        if (auto* v = object.if_contains("id"); v && !v->is_null()) {
            if (valid_string(*v, limits.max_id)) {
                event.id = v->get_string();
                id_given = true;
            } else {
                check.add("id", id_message);
            }
        }

        bool at_given = false;
        event.at = received_at;
        if (auto* v = object.if_contains("at"); v && !v->is_null()) {
            std::optional<timestamp> at;
            if (v->is_string()) at = parse_rfc3339(v->get_string());
            if (at) {
                event.at = *at;
                at_given = true;
            } else {
                check.add("at", std::string(timestamp_message));
            }
        }

        // Type-specific fields, in schema order.
        if (type) {
            event.type = *type;
            for (const auto& spec : model::fields_of(*type)) {
                auto* v = object.if_contains(spec.name);
                if (!v || v->is_null()) {
                    if (v) object.erase(spec.name);  // null counts as absent
                    if (spec.required) check.add(std::string(spec.name), "is required");
                    continue;
                }
                check.check_field(*v, spec);
            }
        }

        // Once the batch is refused, building events is wasted work.
        if (!result.problems.empty()) continue;

        for (auto& kv : object) {
            auto key = kv.key();
            if (key == "type" || key == "account" || key == "id" || key == "at") continue;
            event.fields.emplace(key, std::move(kv.value()));
        }
        if (!id_given) {
            event.id = content_id(event, at_given);
            event.id_derived = true;
        }
        result.events.push_back(std::move(event));
    }
    if (!result.problems.empty()) result.events.clear();
    return result;
}

}  // namespace redflag::ingest
