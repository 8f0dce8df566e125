// How deep evaluating an expression goes: its nesting as written, where a reference to a
// let, score or classification counts that item's own depth (the evaluator computes it
// there, on first use; so do the input analysis and the fingerprint). The compiler
// refuses a rule set in which that exceeds rules::max_nesting (rules/limits.hpp), so
// everything downstream recurses within the bound however the items chain.
//
// Works on a checked program (resolutions filled); cycles (which the checker rejects)
// count as depth 0 where they close. Never recurses along a chain of items: items are
// measured in dependency order with an explicit stack. Not thread-safe per instance.
#pragma once

#include "rules/ast/ast.hpp"
#include "rules/diagnostic.hpp"

#include <cstddef>
#include <vector>

namespace redflag::rules::compile {

class depth_meter {
public:
    // Measures every let, score and classification of `program`.
    explicit depth_meter(const ast::program& program);

    // The evaluation depth of one expression against the program's items.
    std::size_t of(const ast::expr& e) const;

    // A "too-deep" diagnostic for each item or rule past max_nesting whose own references
    // are all within it (where the chain crosses the bound: one report per chain),
    // positioned at the reference on its deepest path.
    diagnostics problems() const;

    // The same for a template outside rule files, naming `origin`.
    diagnostics template_problems(const ast::message_template& tpl, const std::string& origin) const;

private:
    struct deepest {
        std::size_t depth = 0;
        const ast::expr* at = nullptr;  // the first reference on the deepest path, or the root
        std::size_t target = none;      // the item it refers to
    };
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    std::size_t item_of(const ast::path& p) const;  // none when not an item reference
    std::size_t measure(const ast::expr& e, std::size_t level) const;
    deepest deepest_path(const ast::expr& e) const;
    std::vector<const ast::expr*> expressions(std::size_t item) const;
    void references(const ast::expr& e, std::vector<std::size_t>& out, std::size_t level) const;
    const std::string& name(std::size_t item) const;
    diagnostic too_deep(const deepest& d, std::string what, const std::string& file, std::string_view text) const;
    diagnostics report(std::string what, const std::vector<const ast::expr*>& roots, const std::string& file,
                       std::string_view text) const;

    const ast::program& program_;
    std::vector<std::size_t> depth_;  // per item: lets, then scores, then classifications
};

}  // namespace redflag::rules::compile
