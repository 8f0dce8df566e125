// The checker's names: what a dotted name refers to, in this order: inside `where`, a
// field of the event or collection item (innermost scope first); `account.FIELD` and
// `account.attributes.KEY`; an event stream (`ticket`, `nps.score`, `usage.METRIC`); a
// collection; a let, classification or score (`NAME.score`, `.band`, `.COMPONENT`).
// Each resolution is written into the path (ast::resolution) for the compiler; a
// reference from a let, score or classification to another is an edge for cycles.
#include "rules/check/context.hpp"

#include "model/schema.hpp"

#include <span>

namespace redflag::rules::check {
namespace {

constexpr std::uint32_t at_field = 0xFFFFFFFF;

struct item_field_spec {
    std::string_view name;
    value_type type;
};
constexpr item_field_spec user_item_fields[] = {
    {"id", value_type::string},         {"email", value_type::string},  {"name", value_type::string},
    {"role", value_type::string},       {"active", value_type::boolean}, {"first_seen", value_type::time},
    {"last_seen", value_type::time},
};
constexpr item_field_spec ticket_item_fields[] = {
    {"id", value_type::string},      {"status", value_type::string},  {"priority", value_type::string},
    {"subject", value_type::string}, {"opened_at", value_type::time}, {"first_response_at", value_type::time},
};
constexpr item_field_spec product_item_fields[] = {{"product", value_type::string}};

std::span<const item_field_spec> item_fields(ast::collection_kind c) {
    switch (c) {
        case ast::collection_kind::users: return user_item_fields;
        case ast::collection_kind::tickets: return ticket_item_fields;
        case ast::collection_kind::products: return product_item_fields;
    }
    return {};
}

value_type profile_type(model::profile_field f) {
    using model::profile_field;
    switch (f) {
        case profile_field::seats:
        case profile_field::employees:
        case profile_field::locations:
        case profile_field::mrr: return value_type::number;
        case profile_field::signed_at:
        case profile_field::renewal_at: return value_type::time;
        case profile_field::products: return value_type::list;
        default: return value_type::string;
    }
}

}  // namespace

value_type field_type(model::field_kind k) {
    switch (k) {
        case model::field_kind::string: return value_type::string;
        case model::field_kind::integer:
        case model::field_kind::number: return value_type::number;
        case model::field_kind::boolean: return value_type::boolean;
        case model::field_kind::time: return value_type::time;
        case model::field_kind::string_list: return value_type::list;
        case model::field_kind::object: return value_type::dynamic;
    }
    return value_type::dynamic;
}

std::optional<value_type> element_type(const ast::path& p) {
    if (p.ref.kind != ast::ref_kind::stream || p.ref.key.empty()) return std::nullopt;
    if (p.ref.stream_type == model::event_type::usage) return value_type::number;
    const auto* f = model::find_field(p.ref.stream_type, p.ref.key);
    if (!f) return std::nullopt;
    return field_type(f->kind);
}

const ast::expr& strip_parens(const ast::expr& e) {
    const ast::expr* p = &e;
    while (auto* paren = std::get_if<ast::parenthesized>(&p->node)) {
        if (!paren->inner) break;
        p = paren->inner.get();
    }
    return *p;
}

std::string path_text(const ast::path& p) {
    std::string s;
    for (const auto& seg : p.segments) {
        if (!s.empty()) s += '.';
        s += seg.value;
    }
    return s;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string s;
    for (const auto& i : items) {
        if (!s.empty()) s += sep;
        s += i;
    }
    return s;
}

// ----------------------------------------------------------------- resolution

value_type checker::check_path(ast::expr& e, ast::path& p) {
    p.ref = ast::resolution{};
    const auto& segs = p.segments;
    const std::string& head = segs[0].value;
    if (segs.size() == 1)
        if (auto t = scoped_field(p)) return *t;
    if (head == "account" && segs.size() > 1) return account_path(e, p);
    if (auto type = model::event_type_from(head)) return stream_path(e, p, *type);
    if (head == "goals" && segs.size() == 2) return goals_path(e, p);
    if (head == "alerts" && segs.size() == 2) return alerts_path(e, p);
    if (segs.size() == 1) {
        for (std::size_t i = 0; i < std::size(collection_names); ++i) {
            if (collection_names[i] != head) continue;
            p.ref.kind = ast::ref_kind::collection;
            p.ref.collection = static_cast<ast::collection_kind>(i);
            return value_type::collection;
        }
    }
    return symbol_path(e, p);
}

// A bare name inside `where`: a field of the event or item, innermost scope first.
std::optional<value_type> checker::scoped_field(ast::path& p) {
    auto& r = p.ref;
    const std::string& head = p.segments[0].value;
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
        if (it->stream) {
            if (head == "at") {
                r.kind = ast::ref_kind::item_field;
                r.key = head;
                r.sub = at_field;
                r.stream_type = it->type;
                return value_type::time;
            }
            if (auto index = model::stream_field_index(it->type, head)) {
                r.kind = ast::ref_kind::item_field;
                r.key = head;
                r.sub = static_cast<std::uint32_t>(*index);
                r.stream_type = it->type;
                return field_type(model::find_field(it->type, head)->kind);
            }
        } else {
            auto fields = item_fields(it->collection);
            for (std::size_t i = 0; i < fields.size(); ++i) {
                if (fields[i].name != head) continue;
                r.kind = ast::ref_kind::item_field;
                r.key = head;
                r.sub = static_cast<std::uint32_t>(i);
                r.collection = it->collection;
                return fields[i].type;
            }
        }
    }
    return std::nullopt;
}

// account.FIELD, account.id, account.arr, account.first_seen, account.attributes.KEY.
value_type checker::account_path(ast::expr& e, ast::path& p) {
    auto& r = p.ref;
    const auto& segs = p.segments;
    const std::string& field = segs[1].value;
    if (field == "attributes") {
        if (segs.size() == 3) {
            r.kind = ast::ref_kind::account_attribute;
            r.key = segs[2].value;
            return value_type::dynamic;
        }
        return unknown_name(e, p, "write account.attributes.KEY");
    }
    if (segs.size() == 2) {
        if (field == "id") {
            r.kind = ast::ref_kind::account_id;
            return value_type::string;
        }
        if (field == "arr") {
            r.kind = ast::ref_kind::account_arr;
            return value_type::number;
        }
        if (field == "first_seen") {
            r.kind = ast::ref_kind::account_first_seen;
            return value_type::time;
        }
        if (auto f = model::profile_field_from(field)) {
            r.kind = ast::ref_kind::account_field;
            r.field = *f;
            return profile_type(*f);
        }
    }
    return unknown_name(e, p);
}

// goals.overdue, goals.achieved: the account's success-plan goals now (model/goals.hpp).
value_type checker::goals_path(ast::expr& e, ast::path& p) {
    const std::string& field = p.segments[1].value;
    for (std::uint32_t i = 0; i < std::size(goals_field_names); ++i) {
        if (goals_field_names[i] != field) continue;
        p.ref.kind = ast::ref_kind::goals;
        p.ref.sub = i;
        return value_type::number;
    }
    return unknown_name(e, p);
}

// alerts.unacked (a number), alerts.unacked_for (a duration, null when none): the
// account's own firing alerts that nobody acknowledged or snoozed (rules::alert_facts).
value_type checker::alerts_path(ast::expr& e, ast::path& p) {
    const std::string& field = p.segments[1].value;
    for (std::uint32_t i = 0; i < std::size(alerts_field_names); ++i) {
        if (alerts_field_names[i] != field) continue;
        p.ref.kind = ast::ref_kind::alerts;
        p.ref.sub = i;
        return i == 0 ? value_type::number : value_type::duration;
    }
    return unknown_name(e, p);
}

// `ticket`, `nps.score`, `usage.METRIC`.
value_type checker::stream_path(ast::expr& e, ast::path& p, model::event_type type) {
    auto& r = p.ref;
    const auto& segs = p.segments;
    if (segs.size() == 1) {
        r.kind = ast::ref_kind::stream;
        r.stream_type = type;
        return value_type::stream;
    }
    if (segs.size() == 2 && (type == model::event_type::usage || model::stream_field_index(type, segs[1].value))) {
        r.kind = ast::ref_kind::stream;
        r.stream_type = type;
        r.key = segs[1].value;
        return value_type::stream;
    }
    return unknown_name(e, p);
}

// A let, a classification, or a score's value, band or component.
value_type checker::symbol_path(ast::expr& e, ast::path& p) {
    const std::string& head = p.segments[0].value;
    auto it = names_.find(head);
    if (it == names_.end()) return unknown_name(e, p);
    const auto sym = it->second;
    switch (sym.kind) {
        case node_kind::let:
            if (p.segments.size() != 1) return unknown_name(e, p, head + " is a let and has no fields");
            p.ref.kind = ast::ref_kind::let;
            p.ref.index = sym.index;
            return reference(node_kind::let, sym.index);
        case node_kind::classify:
            if (p.segments.size() != 1)
                return unknown_name(e, p, head + " is a classification and has no fields: use " + head);
            p.ref.kind = ast::ref_kind::classify;
            p.ref.index = sym.index;
            reference(node_kind::classify, sym.index);
            return value_type::string;
        case node_kind::score: return score_path(e, p, sym);
    }
    return unknown_name(e, p);
}

value_type checker::score_path(ast::expr& e, ast::path& p, symbol sym) {
    auto& r = p.ref;
    const auto& segs = p.segments;
    const std::string& head = segs[0].value;
    if (segs.size() != 2) {
        if (segs.size() == 1) {
            report(e.pos, "unknown-name",
                   head + " is a score: use " + head + ".score, " + head + ".band or " + head + ".COMPONENT");
            return value_type::error;
        }
        return unknown_name(e, p);
    }
    r.index = sym.index;
    const auto& part = segs[1].value;
    const auto& score = *scores_[sym.index];
    if (part == "score") {
        r.kind = ast::ref_kind::score_value;
    } else if (part == "band") {
        r.kind = ast::ref_kind::score_band;
    } else {
        bool found = false;
        for (std::size_t i = 0; i < score.components.size(); ++i) {
            if (score.components[i].name.value != part) continue;
            r.kind = ast::ref_kind::score_component;
            r.sub = static_cast<std::uint32_t>(i);
            found = true;
            break;
        }
        if (!found) return unknown_name(e, p);
    }
    reference(node_kind::score, sym.index);
    return r.kind == ast::ref_kind::score_band ? value_type::string : value_type::number;
}

value_type checker::unknown_name(ast::expr& e, const ast::path& p, std::string hint) {
    auto text = path_text(p);
    if (hint.empty()) hint = did_you_mean(text, candidates());
    report(e.pos, "unknown-name", "unknown name " + text, hint);
    return value_type::error;
}

// A reference from the item being checked (owner_) to a let, score or classification:
// an edge for cycles. A let's type is its expression's, checked first if it was not yet;
// a score's or classification's type is known from the reference's form.
value_type checker::reference(node_kind kind, std::uint32_t index) {
    if (owner_) edges_[*owner_].push_back(node_id(kind, index));
    if (kind != node_kind::let) return value_type::unknown;  // the caller knows the type
    if (!frozen_) {
        if (let_state_[index] == state::unvisited) {
            if (attempting_) {  // inside another let: check this one first (check_let)
                needed_.push_back(index);
                return value_type::error;
            }
            check_let(index);
        }
        if (let_state_[index] != state::done) return value_type::error;  // a cycle, reported later
    }
    const auto& value = lets_[index]->value;
    if (!value) return value_type::error;
    auto t = value->type;
    if (t == value_type::stream || t == value_type::collection || t == value_type::unknown) return value_type::error;
    return t;
}

// ----------------------------------------------------------------- suggestions

std::vector<std::string> checker::candidates() const {
    std::vector<std::string> all;
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
        if (it->stream) {
            for (const auto& f : model::fields_of(it->type))
                if (f.in_stream) all.emplace_back(f.name);
            all.emplace_back("at");
        } else {
            for (const auto& f : item_fields(it->collection)) all.emplace_back(f.name);
        }
    }
    // The global names do not change once declared: computed once.
    if (global_candidates_.empty()) global_candidates_ = global_names();
    all.insert(all.end(), global_candidates_.begin(), global_candidates_.end());
    return all;
}

std::vector<std::string> checker::global_names() const {
    std::vector<std::string> all;
    for (const auto* l : lets_) all.push_back(l->name.value);
    for (const auto* c : classifies_) all.push_back(c->name.value);
    for (const auto* s : scores_) {
        all.push_back(s->name.value + ".score");
        all.push_back(s->name.value + ".band");
        for (const auto& c : s->components) all.push_back(s->name.value + "." + c.name.value);
    }
    for (auto f : model::profile_field_names) all.push_back("account." + std::string(f));
    all.emplace_back("account.id");
    all.emplace_back("account.arr");
    all.emplace_back("account.first_seen");
    all.emplace_back("account.attributes");
    for (auto g : goals_field_names) all.push_back("goals." + std::string(g));
    for (auto a : alerts_field_names) all.push_back("alerts." + std::string(a));
    for (auto t : model::event_type_names) {
        all.emplace_back(t);
        auto type = *model::event_type_from(t);
        if (type == model::event_type::usage) continue;
        for (const auto& f : model::fields_of(type))
            if (f.in_stream) all.push_back(std::string(t) + "." + std::string(f.name));
    }
    for (auto c : collection_names) all.emplace_back(c);
    return all;
}

// ----------------------------------------------------------------- definitions

std::string checker::where_defined(const symbol& s) const {
    std::size_t f = 0;
    switch (s.kind) {
        case node_kind::let: f = let_files_[s.index]; break;
        case node_kind::score: f = score_files_[s.index]; break;
        case node_kind::classify: f = classify_files_[s.index]; break;
    }
    auto pos = pos_of(s);
    return *file_paths_[f] + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

ast::position checker::pos_of(const symbol& s) const {
    switch (s.kind) {
        case node_kind::let: return lets_[s.index]->name.pos;
        case node_kind::score: return scores_[s.index]->name.pos;
        case node_kind::classify: return classifies_[s.index]->name.pos;
    }
    return {};
}

const std::string& checker::name_of(std::size_t node) const {
    if (node < lets_.size()) return lets_[node]->name.value;
    node -= lets_.size();
    if (node < scores_.size()) return scores_[node]->name.value;
    node -= scores_.size();
    return classifies_[node]->name.value;
}

}  // namespace redflag::rules::check
