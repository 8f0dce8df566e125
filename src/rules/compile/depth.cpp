#include "rules/compile/depth.hpp"

#include "rules/limits.hpp"

#include <algorithm>
#include <type_traits>

namespace redflag::rules::compile {
namespace {

// Calls fn(child) for each sub-expression of `e`.
template <typename Fn>
void for_each_child(const ast::expr& e, Fn&& fn) {
    auto go = [&](const ast::expr_ptr& c) {
        if (c) fn(*c);
    };
    std::visit(
        [&](const auto& n) {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, ast::list_literal>) {
                for (const auto& i : n.items) go(i);
            } else if constexpr (std::is_same_v<T, ast::call>) {
                for (const auto& a : n.args) go(a);
            } else if constexpr (std::is_same_v<T, ast::filtered>) {
                go(n.source);
                go(n.condition);
            } else if constexpr (std::is_same_v<T, ast::unary>) {
                go(n.operand);
            } else if constexpr (std::is_same_v<T, ast::binary>) {
                go(n.lhs);
                go(n.rhs);
            } else if constexpr (std::is_same_v<T, ast::conditional>) {
                go(n.condition);
                go(n.then_branch);
                go(n.else_branch);
            } else if constexpr (std::is_same_v<T, ast::parenthesized>) {
                go(n.inner);
            }
        },
        e.node);
}

// Past this a tree was not built by the parser; measuring stops descending.
constexpr std::size_t walk_limit = max_nesting + 2;

}  // namespace

depth_meter::depth_meter(const ast::program& program) : program_(program) {
    const std::size_t n = program.lets.size() + program.scores.size() + program.classifies.size();
    depth_.assign(n, 0);
    std::vector<std::vector<std::size_t>> refs(n);
    for (std::size_t i = 0; i < n; ++i)
        for (const ast::expr* e : expressions(i)) references(*e, refs[i], 0);
    // Depth-first, post-order, with an explicit stack: each item after what it reads.
    std::vector<std::uint8_t> state(n, 0);  // 0 new, 1 on the stack, 2 measured
    struct frame {
        std::size_t item;
        std::size_t next = 0;
    };
    std::vector<frame> stack;
    for (std::size_t start = 0; start < n; ++start) {
        if (state[start]) continue;
        stack.push_back({start});
        state[start] = 1;
        while (!stack.empty()) {
            frame& top = stack.back();
            if (top.next < refs[top.item].size()) {
                std::size_t to = refs[top.item][top.next++];
                if (to < n && state[to] == 0) {
                    state[to] = 1;
                    stack.push_back({to});
                }
                continue;
            }
            std::size_t d = 0;
            for (const ast::expr* e : expressions(top.item)) d = std::max(d, measure(*e, 0));
            // A score or a classification is one more level: its components or cases.
            depth_[top.item] = top.item < program.lets.size() ? d : d + 1;
            state[top.item] = 2;
            stack.pop_back();
        }
    }
}

std::vector<const ast::expr*> depth_meter::expressions(std::size_t item) const {
    std::vector<const ast::expr*> out;
    const std::size_t lets = program_.lets.size(), scores = program_.scores.size();
    if (item < lets) {
        if (const auto& v = program_.lets[item].item->value) out.push_back(v.get());
    } else if (item < lets + scores) {
        for (const auto& c : program_.scores[item - lets].item->components)
            if (c.value) out.push_back(c.value.get());
    } else if (item - lets - scores < program_.classifies.size()) {
        for (const auto& c : program_.classifies[item - lets - scores].item->cases)
            if (c.condition) out.push_back(c.condition.get());
    }
    return out;
}

const std::string& depth_meter::name(std::size_t item) const {
    const std::size_t lets = program_.lets.size(), scores = program_.scores.size();
    if (item < lets) return program_.lets[item].item->name.value;
    if (item < lets + scores) return program_.scores[item - lets].item->name.value;
    return program_.classifies[item - lets - scores].item->name.value;
}

std::size_t depth_meter::item_of(const ast::path& p) const {
    const std::size_t lets = program_.lets.size(), scores = program_.scores.size();
    switch (p.ref.kind) {
        case ast::ref_kind::let: return p.ref.index < lets ? p.ref.index : none;
        case ast::ref_kind::score_value:
        case ast::ref_kind::score_band:
        case ast::ref_kind::score_component: return p.ref.index < scores ? lets + p.ref.index : none;
        case ast::ref_kind::classify:
            return p.ref.index < program_.classifies.size() ? lets + scores + p.ref.index : none;
        default: return none;
    }
}

void depth_meter::references(const ast::expr& e, std::vector<std::size_t>& out, std::size_t level) const {
    if (level > walk_limit) return;
    if (const auto* p = std::get_if<ast::path>(&e.node)) {
        if (std::size_t item = item_of(*p); item != none) out.push_back(item);
        return;
    }
    for_each_child(e, [&](const ast::expr& c) { references(c, out, level + 1); });
}

std::size_t depth_meter::measure(const ast::expr& e, std::size_t level) const {
    if (level > walk_limit) return walk_limit;
    if (const auto* p = std::get_if<ast::path>(&e.node)) {
        std::size_t item = item_of(*p);
        return 1 + (item == none ? 0 : depth_[item]);
    }
    std::size_t deepest = 0;
    for_each_child(e, [&](const ast::expr& c) { deepest = std::max(deepest, measure(c, level + 1)); });
    return 1 + deepest;
}

std::size_t depth_meter::of(const ast::expr& e) const { return measure(e, 0); }

// Down the deepest child until a reference to an item (or a leaf).
depth_meter::deepest depth_meter::deepest_path(const ast::expr& root) const {
    deepest d{measure(root, 0), &root, none};
    const ast::expr* e = &root;
    for (std::size_t level = 0; level <= walk_limit; ++level) {
        if (const auto* p = std::get_if<ast::path>(&e->node)) {
            d.at = e;
            d.target = item_of(*p);
            return d;
        }
        const ast::expr* next = nullptr;
        std::size_t best = 0;
        for_each_child(*e, [&](const ast::expr& c) {
            std::size_t m = measure(c, 0);
            if (!next || m > best) {
                next = &c;
                best = m;
            }
        });
        if (!next) break;
        e = next;
    }
    d.at = &root;
    return d;
}

diagnostic depth_meter::too_deep(const deepest& d, std::string what, const std::string& file,
                                 std::string_view text) const {
    diagnostic out;
    out.code = "too-deep";
    out.file = file;
    out.line = d.at->pos.line;
    out.column = d.at->pos.column;
    out.snippet = std::string(source_line(text, out.line));
    out.message = what + " nests too deeply: ";
    if (d.target != none) out.message += "counting " + name(d.target) + " and what it reads, ";
    out.message += "evaluating it goes " + std::to_string(d.depth) + " levels deep (at most " +
                   std::to_string(max_nesting) + ")";
    out.hint = "each operator, call, parenthesis and reference to a let, score or classification is a level: "
               "shorten the chain of lets it reads";
    return out;
}

// One diagnostic when the deepest of `roots` is past the bound while every item they
// read is within it.
diagnostics depth_meter::report(std::string what, const std::vector<const ast::expr*>& roots,
                                const std::string& file, std::string_view text) const {
    const ast::expr* worst = nullptr;
    std::size_t worst_depth = 0;
    std::vector<std::size_t> read;
    for (const ast::expr* e : roots) {
        references(*e, read, 0);
        std::size_t d = measure(*e, 0);
        if (d > worst_depth) {
            worst = e;
            worst_depth = d;
        }
    }
    if (!worst || worst_depth <= max_nesting) return {};
    for (std::size_t item : read)
        if (depth_[item] > max_nesting) return {};  // reported where that item crosses the bound
    return {too_deep(deepest_path(*worst), std::move(what), file, text)};
}

diagnostics depth_meter::problems() const {
    diagnostics out;
    auto add = [&](diagnostics more) { out.insert(out.end(), more.begin(), more.end()); };
    auto file = [&](std::size_t f) -> const ast::source_file* {
        return f < program_.files.size() ? &program_.files[f] : nullptr;
    };
    static const std::string no_path;
    auto report_item = [&](std::string what, const std::vector<const ast::expr*>& roots, std::size_t f) {
        const auto* sf = file(f);
        add(report(std::move(what), roots, sf ? sf->path : no_path, sf ? std::string_view(sf->text) : std::string_view{}));
    };
    const std::size_t lets = program_.lets.size(), scores = program_.scores.size();
    for (std::size_t i = 0; i < depth_.size(); ++i) {
        if (depth_[i] <= max_nesting) continue;
        std::string kind = i < lets ? "let " : i < lets + scores ? "score " : "classify ";
        std::size_t f = i < lets ? program_.lets[i].file
                        : i < lets + scores ? program_.scores[i - lets].file
                                            : program_.classifies[i - lets - scores].file;
        report_item(kind + name(i), expressions(i), f);
    }
    for (const auto& r : program_.rules) {
        std::vector<const ast::expr*> roots;
        if (r.item->when) roots.push_back(r.item->when.get());
        if (r.item->repeat) roots.push_back(r.item->repeat.get());
        if (r.item->snooze_wake_if) roots.push_back(r.item->snooze_wake_if.get());
        if (r.item->message)
            for (const auto& part : r.item->message->parts)
                if (part.expression) roots.push_back(part.expression.get());
        report_item("rule " + r.item->name.value, roots, r.file);
    }
    return out;
}

diagnostics depth_meter::template_problems(const ast::message_template& tpl, const std::string& origin) const {
    std::vector<const ast::expr*> roots;
    for (const auto& part : tpl.parts)
        if (part.expression) roots.push_back(part.expression.get());
    return report("the template", roots, origin, tpl.raw);
}

}  // namespace redflag::rules::compile
