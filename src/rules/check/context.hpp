// The checker's shared state and the declarations of its parts (internal to
// rules/check; the interface is checker.hpp). One class, its member functions split by
// concern into files:
//   checker.cpp  the driver: the order in which items are checked, let resolution
//   items.cpp    declarations, rules' fields, scores, classifications, templates, cycles
//   names.cpp    what a dotted name refers to (`where` scopes, the account, streams, lets,
//                scores, classifications) and "did you mean" candidates
//   types.cpp    the types of expressions: literals, operators, conditionals, `where`
//   calls.cpp    the builtin functions, by family (rules/builtins.hpp)
// Not thread-safe: one checker checks one program on one thread.
#pragma once

#include "model/schema.hpp"
#include "rules/ast/ast.hpp"
#include "rules/builtins.hpp"
#include "rules/check/checker.hpp"
#include "rules/check/suggest.hpp"
#include "rules/diagnostic.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redflag::rules::check {

using ast::value_type;

// ----------------------------------------------------------------- type helpers

// Types that are compatible with every type: already reported, null, or typed at run time.
inline bool is_absorbing(value_type t) {
    return t == value_type::error || t == value_type::null || t == value_type::dynamic;
}

// Two types that may meet in a comparison, a list, the branches of an if, ...
inline bool like(value_type a, value_type b) { return a == b || is_absorbing(a) || is_absorbing(b); }

// The type of two like types together (error wins; null and dynamic yield to the other).
inline value_type unify(value_type a, value_type b) {
    if (a == value_type::error || b == value_type::error) return value_type::error;
    if (a == value_type::null || a == value_type::dynamic) return b == value_type::null ? a : b;
    return a;
}

inline std::string tn(value_type t) { return std::string(type_name(t)); }

// The collections, in the order of ast::collection_kind; their names cannot be redefined.
inline constexpr std::string_view collection_names[] = {"users", "tickets", "products"};
// goals.FIELD, in the order of ast::resolution::sub for ref_kind::goals.
inline constexpr std::string_view goals_field_names[] = {"overdue", "achieved"};
// alerts.FIELD, in the order of ast::resolution::sub for ref_kind::alerts.
inline constexpr std::string_view alerts_field_names[] = {"unacked", "unacked_for"};

const ast::expr& strip_parens(const ast::expr& e);
value_type field_type(model::field_kind k);
// The type of the field a stream path names (nps.score: number, usage.X: number); none
// for a stream without a field.
std::optional<value_type> element_type(const ast::path& p);
std::string path_text(const ast::path& p);
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

// ----------------------------------------------------------------- the checker

class checker {
public:
    checker(const ast::program& program, diagnostics& out) : program_(program), out_(out) {}

    // Full check of a program (fills its tables).
    void run(ast::program& program, const check_options& options);

    // A template against an already checked program.
    void run_template(ast::message_template& tpl, const std::string& origin);

private:
    enum class node_kind : std::uint8_t { let, score, classify };
    struct symbol {
        node_kind kind;
        std::uint32_t index;
    };
    struct where_scope {
        bool stream = true;
        model::event_type type{};
        ast::collection_kind collection{};
    };
    struct source {
        const std::string* file = nullptr;
        std::string_view text;
    };

    // ------------------------------------------------------------- reporting (checker.cpp)
    void report(ast::position pos, std::string code, std::string message, std::string hint = {});
    std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) const;

    // ------------------------------------------------------------- items (items.cpp)
    void declare(ast::program& program);
    void check_let(std::uint32_t index);
    std::vector<std::uint32_t> attempt_let(std::uint32_t index);
    void forget_types(ast::expr& e, std::size_t depth = 0);
    void check_rule(ast::rule_item& rule, const check_options& options);
    void check_channels(const ast::rule_item& rule, const check_options& options);
    void check_channel_name(const ast::located<std::string>& ch, const check_options& options);
    void check_inhibitor_names(const ast::rule_item& rule);
    void check_inhibition_cycles(const ast::program& program);
    void check_score_item(ast::score_item& score);
    void check_components(ast::score_item& score);
    void check_bands(ast::score_item& score);
    void check_classify_item(ast::classify_item& cl);
    void check_cycles();
    void report_cycle(std::vector<std::size_t> cycle);
    void check_template_parts(ast::message_template& tpl);

    // ------------------------------------------------------------- names (names.cpp)
    value_type check_path(ast::expr& e, ast::path& p);
    std::optional<value_type> scoped_field(ast::path& p);
    value_type account_path(ast::expr& e, ast::path& p);
    value_type stream_path(ast::expr& e, ast::path& p, model::event_type type);
    value_type goals_path(ast::expr& e, ast::path& p);
    value_type alerts_path(ast::expr& e, ast::path& p);
    value_type symbol_path(ast::expr& e, ast::path& p);
    value_type score_path(ast::expr& e, ast::path& p, symbol sym);
    value_type unknown_name(ast::expr& e, const ast::path& p, std::string hint = {});
    value_type reference(node_kind kind, std::uint32_t index);
    std::vector<std::string> candidates() const;
    std::vector<std::string> global_names() const;
    std::string where_defined(const symbol& s) const;
    ast::position pos_of(const symbol& s) const;
    const std::string& name_of(std::size_t node) const;

    // ------------------------------------------------------------- types (types.cpp)
    value_type check(ast::expr& e);
    value_type check_node(ast::expr& e);
    value_type check_value(ast::expr& e);  // also rejects streams, collections and windows
    value_type check_bool(ast::expr& e, std::string_view what);
    value_type check_list(ast::list_literal& list);
    value_type check_conditional(ast::conditional& c);
    value_type check_unary(ast::unary& u);
    value_type check_binary(ast::binary& b);
    value_type check_logical(ast::binary& b, value_type lt, value_type rt);
    value_type check_comparison(ast::binary& b, value_type lt, value_type rt);
    value_type check_membership(ast::binary& b, value_type lt, value_type rt);
    value_type check_arithmetic(ast::binary& b, value_type lt, value_type rt);
    value_type check_filtered(ast::filtered& f);
    bool check_window(ast::expr& e);
    void check_label_literal(const ast::expr& side, const ast::expr& other);

    // ------------------------------------------------------------- calls (calls.cpp)
    // One call being checked: its node, its builtin and helpers for the common checks.
    struct call_site;
    value_type check_call(ast::call& c);
    value_type check_aggregate(call_site& call);
    value_type check_stream_aggregate(call_site& call);
    value_type check_collection_count(call_site& call);
    value_type check_values_min_max(call_site& call, value_type first);
    value_type check_quantifier(call_site& call);
    value_type check_history(call_site& call);
    value_type check_scalar(call_site& call);
    value_type check_coalesce(call_site& call);
    void check_rest(ast::call& c, std::size_t from);

    // ------------------------------------------------------------- state
    const ast::program& program_;
    diagnostics& out_;
    source source_;
    std::map<std::string, symbol, std::less<>> names_;
    std::map<std::string, std::size_t, std::less<>> rule_names_;

    std::vector<ast::let_item*> lets_;
    std::vector<std::size_t> let_files_;
    std::vector<ast::score_item*> scores_;
    std::vector<std::size_t> score_files_;
    std::vector<ast::classify_item*> classifies_;
    std::vector<std::size_t> classify_files_;
    std::vector<const std::string*> file_paths_;
    std::vector<std::string_view> file_texts_;

    // A let is in_progress while its expression is walked, waiting while the lets it
    // needs are checked first (check_let), done once checked.
    enum class state : std::uint8_t { unvisited, in_progress, waiting, done };
    std::vector<state> let_state_;
    bool frozen_ = false;  // checking a template against a finished program

    // Dependency graph among lets, scores and classifies, for cycles: node ids are lets,
    // then scores, then classifies.
    std::size_t node_id(node_kind k, std::uint32_t i) const {
        switch (k) {
            case node_kind::let: return i;
            case node_kind::score: return lets_.size() + i;
            case node_kind::classify: return lets_.size() + scores_.size() + i;
        }
        return 0;
    }
    std::size_t node_order(std::size_t node) const {
        if (node < lets_.size()) return let_seq_[node];
        node -= lets_.size();
        if (node < scores_.size()) return score_seq_[node];
        return classify_seq_[node - scores_.size()];
    }
    std::pair<std::size_t, ast::position> definition_of(std::size_t node) const {
        if (node < lets_.size()) return {let_files_[node], lets_[node]->name.pos};
        node -= lets_.size();
        if (node < scores_.size()) return {score_files_[node], scores_[node]->name.pos};
        node -= scores_.size();
        return {classify_files_[node], classifies_[node]->name.pos};
    }
    void enter_file(std::size_t f) { source_ = {file_paths_[f], file_texts_[f]}; }

    std::vector<std::vector<std::size_t>> edges_;
    std::vector<std::pair<ast::item*, std::size_t>> duplicates_;  // second definitions, still checked
    std::size_t next_seq_ = 0;
    std::vector<std::size_t> let_seq_, score_seq_, classify_seq_;
    std::optional<std::size_t> owner_;  // the let, score or classify being checked (for edges_)
    std::vector<where_scope> scopes_;
    // While a let's expression is walked by attempt_let: the unchecked lets it reads.
    bool attempting_ = false;
    std::vector<std::uint32_t> needed_;
    // How deep check() is in the expression being walked (rules/limits.hpp).
    std::size_t depth_ = 0;
    bool too_deep_reported_ = false;
    mutable std::vector<std::string> global_candidates_;
};

}  // namespace redflag::rules::check
