// The compiler: turns a checked, annotated ast::program into a compiled_rule_set, the
// rule_set the engine evaluates. Every name is resolved here, once: profile fields to
// their enum, lets / scores / classifications to cache slots, streams to their event
// type and stream field index, `where` fields to item field indices, usage metrics kept
// as the one key looked up per evaluation. The compiled set keeps the AST it came from
// (templates outside rule files are checked against it).
//
// compile() is not thread-safe with respect to its input; the compiled_rule_set it
// returns is immutable and safe to evaluate from any number of threads. It fails by
// returning diagnostics (an unresolved name or a misplaced stream, which the checker
// normally rejects first), never by throwing.
#pragma once

#include "rules/ast/ast.hpp"
#include "rules/diagnostic.hpp"
#include "rules/eval/program.hpp"
#include "rules/rule_set.hpp"

#include <memory>
#include <vector>

namespace redflag::rules::compile {

class compiled_rule_set final : public rule_set {
public:
    std::span<const rule_definition> rules() const override { return rules_; }
    std::span<const score_definition> scores() const override { return scores_; }
    std::span<const classify_definition> classifications() const override { return classifies_; }

    evaluation make_evaluation() const override;
    void evaluate(const model::account_state& account, timestamp now, duration tick,
                  evaluation& out, const previous_evaluation* previous = nullptr,
                  const alert_facts* alerts = nullptr) const override;
    std::uint64_t inputs_changed_by(const model::event& e, const model::account_state& before) const override;
    std::string render_message(std::size_t rule, const model::account_state& account,
                               timestamp now, const alert_facts* alerts = nullptr) const override;
    std::optional<duration> repeat_interval(std::size_t rule, const model::account_state& account,
                                            timestamp now) const override;
    std::optional<bool> snooze_wake_if_holds(std::size_t rule, const model::account_state& account,
                                             timestamp now) const override;

    // The checked AST the set was compiled from, and its compiled form.
    const ast::program& source() const { return source_; }
    const eval::program& code() const { return code_; }

private:
    friend class compiler;
    ast::program source_;
    eval::program code_;
    std::vector<rule_definition> rules_;
    std::vector<score_definition> scores_;
    std::vector<classify_definition> classifies_;
};

struct compile_result {
    std::shared_ptr<const compiled_rule_set> rules;  // null when there were errors
    diagnostics problems;
};

// Compiles a program the checker has annotated without errors. Takes the program over.
compile_result compile(ast::program program);

// A template checked against `names` (may be null: then only account fields and
// functions are available). The template reads `names`'s lets, scores and classes, so
// `names` must outlive it. render() is thread-safe.
struct template_compile_result {
    std::unique_ptr<compiled_template> compiled;
    diagnostics problems;
};
template_compile_result compile_message(const ast::message_template& message, std::string_view origin,
                                        const compiled_rule_set* names);

// The rule's fingerprint: a structural hash of its definition and of the lets, scores and
// classifications it reads (transitively), independent of layout and comments, stable
// across runs and builds (FNV-1a over a canonical walk, not std::hash).
std::uint64_t fingerprint(const ast::rule_item& rule, const ast::program& program);

}  // namespace redflag::rules::compile
