#include "rules/parse/parser.hpp"

#include "rules/grammar/errors.hpp"
#include "rules/grammar/grammar.hpp"
#include "rules/limits.hpp"

#include <tao/pegtl/contrib/parse_tree.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <unordered_map>

namespace redflag::rules::parse {
namespace {

namespace pegtl = tao::pegtl;
namespace pt = tao::pegtl::parse_tree;
namespace g = grammar;

// The nodes the parse tree keeps; everything else is folded into its parent.
template <typename Rule>
using selector = pt::selector<
    Rule,
    pt::store_content::on<g::number_literal, g::duration_literal, g::window_offset, g::expected_duration,
                          g::string_literal, g::expected_string, g::true_literal, g::false_literal, g::null_literal,
                          g::path_head, g::path_segment, g::function_name, g::mul_op, g::add_op, g::coalesce_op,
                          g::compare_op, g::in_op, g::let_name, g::rule_name, g::field_word, g::channel_name,
                          g::next_channel, g::inhibitor_name, g::next_inhibitor, g::escalate_channel, g::label_key, g::component_name, g::weight, g::band_name, g::threshold,
                          g::score_name, g::case_label, g::default_label, g::classify_name>,
    pt::remove_content::on<g::list_literal, g::parenthesized, g::path, g::window, g::where_clause, g::call,
                           g::negation, g::logical_not, g::conditional, g::let_item, g::rule_item, g::title_field,
                           g::when_field, g::for_field, g::severity_field, g::notify_field, g::message_field,
                           g::repeat_field, g::keep_firing_for_field, g::resolve_field, g::labels_field, g::inhibited_by_field, g::escalate_field, g::snooze_wake_if_field, g::label,
                           g::next_label, g::rule_close, g::component, g::band, g::score_item, g::score_close,
                           g::classify_case, g::default_case, g::classify_item, g::classify_close>,
    pt::fold_one::on<g::product, g::sum, g::coalescing, g::comparison, g::conjunction, g::disjunction>>;

// The tree's own bound: operator chains (`a + b + c ...`) are parsed by a loop, not by
// recursion, but build a tree as deep as they are long.
constexpr std::size_t max_tree_depth = max_nesting;

std::string too_deep_message() {
    return "expression nested too deeply: more than " + std::to_string(max_nesting) + " levels";
}
constexpr const char* too_deep_hint = "name parts of it with let, or use in [...] for long chains of or";

// Byte offsets of a text → 1-based line and column (in code points, so that the caret
// of a rendered diagnostic lines up under multi-byte characters).
class line_index {
public:
    explicit line_index(std::string_view text) : text_(text) {
        starts_.push_back(0);
        for (std::size_t i = 0; i < text.size(); ++i)
            if (text[i] == '\n') starts_.push_back(i + 1);
    }

    ast::position at(std::size_t byte) const {
        byte = std::min(byte, text_.size());
        auto it = std::upper_bound(starts_.begin(), starts_.end(), byte);
        auto line = static_cast<std::size_t>(it - starts_.begin());
        std::size_t start = starts_[line - 1];
        std::uint32_t column = 1;
        for (std::size_t i = start; i < byte; ++i)
            if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
        return {static_cast<std::uint32_t>(line), column};
    }

    std::string_view text() const { return text_; }

private:
    std::string_view text_;
    std::vector<std::size_t> starts_;
};

// Where the buffer being parsed lies in the file: the file itself (offsets empty), or a
// string literal's unescaped value whose byte i came from file byte offsets[i].
struct buffer_map {
    const char* base = nullptr;
    const std::vector<std::size_t>* offsets = nullptr;

    std::size_t file_offset(const char* p) const {
        auto i = static_cast<std::size_t>(p - base);
        if (!offsets) return i;
        if (offsets->empty()) return 0;
        return (*offsets)[std::min(i, offsets->size() - 1)];
    }
};

// Builds AST nodes from parse tree nodes; reports problems found on the way.
class builder {
public:
    builder(const std::string& file, const line_index& lines, diagnostics& out, buffer_map map)
        : file_(file), lines_(lines), out_(out), map_(map) {}

    ast::position pos_of(const char* p) const { return lines_.at(map_.file_offset(p)); }
    ast::position pos_of(const pt::node& n) const { return pos_of(n.m_begin.data); }

    void report(ast::position pos, std::string code, std::string message, std::string hint = {}) {
        diagnostic d;
        d.code = std::move(code);
        d.message = std::move(message);
        d.file = file_;
        d.line = pos.line;
        d.column = pos.column;
        d.snippet = std::string(source_line(lines_.text(), pos.line));
        d.hint = std::move(hint);
        out_.push_back(std::move(d));
    }

    void add_item(const pt::node& n, ast::source_file& file) {
        if (n.is_type<g::let_item>()) file.items.emplace_back(let(n));
        else if (n.is_type<g::rule_item>()) file.items.emplace_back(rule(n));
        else if (n.is_type<g::score_item>()) file.items.emplace_back(score(n));
        else if (n.is_type<g::classify_item>()) file.items.emplace_back(classify(n));
    }

    ast::expr_ptr expression(const pt::node& n) { return to_expr(n); }

    ast::message_template message(const pt::node& string_node);

private:
    static ast::located<std::string> text_of(const pt::node& n, const builder& b) {
        return {n.string(), b.pos_of(n)};
    }

    ast::expr_ptr make(ast::position pos) {
        auto e = std::make_unique<ast::expr>();
        e->pos = pos;
        return e;
    }

    std::size_t depth_of(const ast::expr_ptr& e) const { return e ? depth_.at(e.get()) : 0; }

    ast::expr_ptr finish(ast::expr_ptr e, std::size_t depth) {
        if (depth > max_tree_depth) {
            if (!too_deep_reported_) report(e->pos, "too-deep", too_deep_message(), too_deep_hint);
            too_deep_reported_ = true;
            auto pos = e->pos;
            forget(*e);
            e = make(pos);
            e->node = ast::null_literal{};
            depth = 1;
        }
        depth_[e.get()] = depth;
        return e;
    }

    void forget(const ast::expr& e);

    ast::expr_ptr to_expr(const pt::node& n);
    ast::expr_ptr fold(const pt::node& n);
    double number_value(const pt::node& n);
    duration duration_value(const pt::node& n);
    std::string unescape(const pt::node& n, std::vector<std::size_t>* offsets);

    ast::let_item let(const pt::node& n);
    ast::rule_item rule(const pt::node& n);
    ast::score_item score(const pt::node& n);
    ast::classify_item classify(const pt::node& n);

    const std::string& file_;
    const line_index& lines_;
    diagnostics& out_;
    buffer_map map_;
    std::unordered_map<const ast::expr*, std::size_t> depth_;
    bool too_deep_reported_ = false;
};

void builder::forget(const ast::expr& e) { depth_.erase(&e); }

double builder::number_value(const pt::node& n) {
    auto text = n.string_view();
    bool negative = false;
    if (!text.empty() && text.front() == '-') {
        negative = true;
        text.remove_prefix(1);
    }
    bool percent = !text.empty() && text.back() == '%';
    if (percent) text.remove_suffix(1);
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{}) report(pos_of(n), "parse", "invalid number " + n.string());
    (void)end;
    if (percent) value /= 100;
    return negative ? -value : value;
}

duration builder::duration_value(const pt::node& n) {
    auto parsed = parse_duration(n.string_view());
    if (!parsed) {
        report(pos_of(n), "parse", "invalid duration " + n.string(),
               "units go largest first, each at most once: w d h m s ms, e.g. 1d12h");
        return duration{0};
    }
    return *parsed;
}

std::string builder::unescape(const pt::node& n, std::vector<std::size_t>* offsets) {
    auto text = n.string_view();
    std::size_t base = map_.file_offset(n.m_begin.data);
    std::string out;
    // Between the quotes; the grammar guarantees both are there and escapes are valid.
    for (std::size_t i = 1; i + 1 < text.size(); ++i) {
        std::size_t at = base + i;
        if (text[i] == '\\' && i + 2 < text.size()) ++i;
        out += text[i];
        if (offsets) offsets->push_back(at);
    }
    if (offsets) offsets->push_back(base + (text.empty() ? 0 : text.size() - 1));  // the closing quote
    return out;
}

ast::expr_ptr builder::to_expr(const pt::node& n) {
    auto e = make(pos_of(n));
    std::size_t depth = 1;
    if (n.is_type<g::number_literal>()) {
        e->node = ast::number_literal{number_value(n), n.string()};
    } else if (n.is_type<g::duration_literal>()) {
        e->node = ast::duration_literal{duration_value(n), n.string()};
    } else if (n.is_type<g::string_literal>()) {
        e->node = ast::string_literal{unescape(n, nullptr)};
    } else if (n.is_type<g::true_literal>()) {
        e->node = ast::bool_literal{true};
    } else if (n.is_type<g::false_literal>()) {
        e->node = ast::bool_literal{false};
    } else if (n.is_type<g::null_literal>()) {
        e->node = ast::null_literal{};
    } else if (n.is_type<g::list_literal>()) {
        ast::list_literal list;
        for (const auto& c : n.children) {
            list.items.push_back(to_expr(*c));
            depth = std::max(depth, depth_of(list.items.back()) + 1);
        }
        e->node = std::move(list);
    } else if (n.is_type<g::parenthesized>()) {
        auto inner = to_expr(*n.children.at(0));
        depth = depth_of(inner) + 1;
        e->node = ast::parenthesized{std::move(inner)};
    } else if (n.is_type<g::path>()) {
        ast::path p;
        for (const auto& c : n.children) p.segments.push_back(text_of(*c, *this));
        e->node = std::move(p);
    } else if (n.is_type<g::window>()) {
        ast::window w;
        w.length = {duration_value(*n.children.at(0)), pos_of(*n.children.at(0))};
        w.length_text = n.children.at(0)->string();
        w.offset = {duration_value(*n.children.at(1)), pos_of(*n.children.at(1))};
        w.offset_text = n.children.at(1)->string();
        e->node = std::move(w);
    } else if (n.is_type<g::call>()) {
        ast::call c;
        c.name = text_of(*n.children.at(0), *this);
        for (std::size_t i = 1; i < n.children.size(); ++i) {
            const auto& child = *n.children[i];
            if (child.is_type<g::where_clause>() && !c.args.empty()) {
                auto source = std::move(c.args.back());
                auto condition = to_expr(*child.children.at(0));
                auto f = make(source->pos);
                auto d = std::max(depth_of(source), depth_of(condition)) + 1;
                forget(*source);
                f->node = ast::filtered{std::move(source), std::move(condition)};
                c.args.back() = finish(std::move(f), d);
            } else {
                c.args.push_back(to_expr(child));
            }
            depth = std::max(depth, depth_of(c.args.back()) + 1);
        }
        e->node = std::move(c);
    } else if (n.is_type<g::negation>() || n.is_type<g::logical_not>()) {
        auto operand = to_expr(*n.children.at(0));
        depth = depth_of(operand) + 1;
        e->node = ast::unary{n.is_type<g::negation>() ? ast::unary_op::negate : ast::unary_op::logical_not,
                             std::move(operand)};
    } else if (n.is_type<g::conditional>()) {
        ast::conditional c;
        c.condition = to_expr(*n.children.at(0));
        c.then_branch = to_expr(*n.children.at(1));
        c.else_branch = to_expr(*n.children.at(2));
        depth = std::max({depth_of(c.condition), depth_of(c.then_branch), depth_of(c.else_branch)}) + 1;
        e->node = std::move(c);
    } else if (n.is_type<g::product>() || n.is_type<g::sum>() || n.is_type<g::coalescing>() ||
               n.is_type<g::comparison>() || n.is_type<g::conjunction>() || n.is_type<g::disjunction>()) {
        return fold(n);
    } else {
        // Not reachable for trees the grammar builds; keep the tree well-formed anyway.
        report(e->pos, "parse", "unexpected syntax");
        e->node = ast::null_literal{};
    }
    return finish(std::move(e), depth);
}

// A binary level: operands, with operator nodes between them except for and/or.
ast::expr_ptr builder::fold(const pt::node& n) {
    const bool logical = n.is_type<g::conjunction>() || n.is_type<g::disjunction>();
    auto acc = to_expr(*n.children.at(0));
    std::size_t i = 1;
    while (i < n.children.size()) {
        ast::binary_op op{};
        if (logical) {
            op = n.is_type<g::conjunction>() ? ast::binary_op::logical_and : ast::binary_op::logical_or;
        } else {
            auto text = n.children[i]->string_view();
            ++i;
            if (text == "*") op = ast::binary_op::mul;
            else if (text == "/") op = ast::binary_op::div;
            else if (text == "+") op = ast::binary_op::add;
            else if (text == "-") op = ast::binary_op::sub;
            else if (text == "??") op = ast::binary_op::coalesce;
            else if (text == "==") op = ast::binary_op::eq;
            else if (text == "!=") op = ast::binary_op::ne;
            else if (text == "<") op = ast::binary_op::lt;
            else if (text == "<=") op = ast::binary_op::le;
            else if (text == ">") op = ast::binary_op::gt;
            else if (text == ">=") op = ast::binary_op::ge;
            else op = ast::binary_op::in;
        }
        if (i >= n.children.size()) break;
        auto rhs = to_expr(*n.children[i]);
        ++i;
        auto e = make(acc->pos);
        auto d = std::max(depth_of(acc), depth_of(rhs)) + 1;
        forget(*acc);
        forget(*rhs);
        e->node = ast::binary{op, std::move(acc), std::move(rhs)};
        acc = finish(std::move(e), d);
    }
    return acc;
}

ast::let_item builder::let(const pt::node& n) {
    ast::let_item item;
    item.pos = pos_of(n);
    item.name = text_of(*n.children.at(0), *this);
    item.value = to_expr(*n.children.at(1));
    return item;
}

ast::rule_item builder::rule(const pt::node& n) {
    ast::rule_item item;
    item.pos = pos_of(n);
    item.name = text_of(*n.children.at(0), *this);
    std::vector<std::string> seen;
    auto once = [&](const pt::node& field, std::string_view keyword) {
        if (std::find(seen.begin(), seen.end(), keyword) != seen.end()) {
            report(pos_of(field), "duplicate-field",
                   std::string(keyword) + " is given twice in rule " + item.name.value);
            return false;
        }
        seen.emplace_back(keyword);
        return true;
    };
    for (std::size_t i = 1; i < n.children.size(); ++i) {
        const auto& f = *n.children[i];
        if (f.is_type<g::rule_close>()) {
            item.close = pos_of(f);
        } else if (f.is_type<g::title_field>()) {
            if (once(f, "title")) item.title = {unescape(*f.children.at(0), nullptr), pos_of(*f.children.at(0))};
        } else if (f.is_type<g::when_field>()) {
            if (once(f, "when")) item.when = to_expr(*f.children.at(0));
        } else if (f.is_type<g::for_field>()) {
            if (once(f, "for")) {
                item.for_duration = {duration_value(*f.children.at(0)), pos_of(*f.children.at(0))};
                item.for_text = f.children.at(0)->string();
            }
        } else if (f.is_type<g::severity_field>()) {
            if (once(f, "severity")) item.severity = text_of(*f.children.at(0), *this);
        } else if (f.is_type<g::notify_field>()) {
            if (once(f, "notify"))
                for (const auto& c : f.children) item.notify.push_back(text_of(*c, *this));
        } else if (f.is_type<g::message_field>()) {
            if (once(f, "message")) item.message = message(*f.children.at(0));
        } else if (f.is_type<g::repeat_field>()) {
            if (once(f, "repeat")) item.repeat = to_expr(*f.children.at(0));
        } else if (f.is_type<g::keep_firing_for_field>()) {
            if (once(f, "keep_firing_for")) {
                item.keep_firing_for = {duration_value(*f.children.at(0)), pos_of(*f.children.at(0))};
                item.keep_firing_for_text = f.children.at(0)->string();
            }
        } else if (f.is_type<g::resolve_field>()) {
            if (once(f, "resolve")) item.resolve = text_of(*f.children.at(0), *this);
        } else if (f.is_type<g::inhibited_by_field>()) {
            if (once(f, "inhibited_by"))
                for (const auto& c : f.children) item.inhibited_by.push_back(text_of(*c, *this));
        } else if (f.is_type<g::escalate_field>()) {
            if (once(f, "escalate")) {
                item.escalate_after = {duration_value(*f.children.at(0)), pos_of(*f.children.at(0))};
                item.escalate_after_text = f.children.at(0)->string();
                item.escalate_to = text_of(*f.children.at(1), *this);
            }
        } else if (f.is_type<g::snooze_wake_if_field>()) {
            if (once(f, "snooze_wake_if")) item.snooze_wake_if = to_expr(*f.children.at(0));
        } else if (f.is_type<g::labels_field>()) {
            if (once(f, "labels"))
                for (const auto& l : f.children)
                    item.labels.push_back(ast::label{text_of(*l->children.at(0), *this),
                                                     {unescape(*l->children.at(1), nullptr),
                                                      pos_of(*l->children.at(1))}});
        }
    }
    return item;
}

ast::score_item builder::score(const pt::node& n) {
    ast::score_item item;
    item.pos = pos_of(n);
    item.name = text_of(*n.children.at(0), *this);
    for (std::size_t i = 1; i < n.children.size(); ++i) {
        const auto& c = *n.children[i];
        if (c.is_type<g::score_close>()) {
            item.close = pos_of(c);
        } else if (c.is_type<g::component>()) {
            ast::component comp;
            comp.pos = pos_of(c);
            comp.name = text_of(*c.children.at(0), *this);
            comp.weight = {number_value(*c.children.at(1)), pos_of(*c.children.at(1))};
            comp.weight_text = c.children.at(1)->string();
            comp.value = to_expr(*c.children.at(2));
            item.components.push_back(std::move(comp));
        } else if (c.is_type<g::band>()) {
            ast::band b;
            b.pos = pos_of(c);
            b.name = text_of(*c.children.at(0), *this);
            if (c.children.size() > 1) {
                b.threshold = ast::located<double>{number_value(*c.children[1]), pos_of(*c.children[1])};
                b.threshold_text = c.children[1]->string();
            }
            item.bands.push_back(std::move(b));
        }
    }
    return item;
}

ast::classify_item builder::classify(const pt::node& n) {
    ast::classify_item item;
    item.pos = pos_of(n);
    item.name = text_of(*n.children.at(0), *this);
    for (std::size_t i = 1; i < n.children.size(); ++i) {
        const auto& c = *n.children[i];
        if (c.is_type<g::classify_close>()) {
            item.close = pos_of(c);
        } else if (c.is_type<g::classify_case>()) {
            ast::classify_case cc;
            cc.pos = pos_of(c);
            cc.label = text_of(*c.children.at(0), *this);
            cc.condition = to_expr(*c.children.at(1));
            item.cases.push_back(std::move(cc));
        } else if (c.is_type<g::default_case>()) {
            item.default_label = text_of(*c.children.at(0), *this);
        }
    }
    return item;
}

// Splits a template's text into literal parts and `{EXPR [| FORMAT]}` interpolations and
// parses each expression. `offsets[i]` is the offset in `lines` of raw[i] (one extra entry
// for the end), or, when null, raw itself is the text `lines` indexes.
void split_template(ast::message_template& tpl, const std::vector<std::size_t>* offsets, const std::string& file,
                    const line_index& lines, diagnostics& out) {
    const std::string& raw = tpl.raw;
    buffer_map map{raw.data(), offsets};
    builder b(file, lines, out, map);
    auto pos_at = [&](std::size_t i) { return b.pos_of(raw.data() + i); };

    // Where the pending literal text starts in raw; npos when there is none. (Not an
    // std::optional: GCC 12 wrongly warns that it may be used uninitialised.)
    constexpr std::size_t none = std::string::npos;
    std::string literal;
    std::size_t literal_start = none;
    auto flush = [&] {
        if (literal_start == none) return;
        ast::template_part part;
        part.text = std::move(literal);
        part.pos = pos_at(literal_start);
        tpl.parts.push_back(std::move(part));
        literal.clear();
        literal_start = none;
    };
    auto add_literal = [&](char c, std::size_t at) {
        if (literal_start == none) literal_start = at;
        literal += c;
    };

    std::size_t i = 0;
    const std::size_t n = raw.size();
    while (i < n) {
        char c = raw[i];
        if (c == '{' && i + 1 < n && raw[i + 1] == '{') {
            add_literal('{', i);
            i += 2;
            continue;
        }
        if (c == '}') {
            if (i + 1 < n && raw[i + 1] == '}') {
                add_literal('}', i);
                i += 2;
                continue;
            }
            b.report(pos_at(i), "template", "unmatched } in template", "write }} for a literal brace");
            ++i;
            continue;
        }
        if (c != '{') {
            add_literal(c, i);
            ++i;
            continue;
        }
        // An interpolation: find its closing brace outside string literals.
        std::size_t j = i + 1;
        bool in_string = false;
        std::optional<std::size_t> bar;
        bool nested = false;
        for (; j < n; ++j) {
            char d = raw[j];
            if (in_string) {
                if (d == '\\') ++j;
                else if (d == '"') in_string = false;
                continue;
            }
            if (d == '"') in_string = true;
            else if (d == '|') bar = j;
            else if (d == '}') break;
            else if (d == '{') nested = true;
        }
        if (j >= n) {
            b.report(pos_at(i), "template", "unclosed { in template", "write {{ for a literal brace");
            break;
        }
        flush();
        ast::template_part part;
        part.pos = pos_at(i);
        std::size_t expr_end = bar.value_or(j);
        if (bar) {
            std::size_t f = *bar + 1;
            while (f < j && (raw[f] == ' ' || raw[f] == '\t')) ++f;
            std::size_t e = j;
            while (e > f && (raw[e - 1] == ' ' || raw[e - 1] == '\t')) --e;
            part.format = {raw.substr(f, e - f), pos_at(f < j ? f : *bar)};
            if (part.format.value.empty())
                b.report(pos_at(*bar), "template", "expected a format after |", "formats: round, pct, money, days, date");
        }
        if (nested) {
            b.report(pos_at(i), "template", "{ inside an interpolation", "write {{ for a literal brace");
        } else {
            std::string_view expr_text(raw.data() + i + 1, expr_end - i - 1);
            if (expr_text.find_first_not_of(" \t") == std::string_view::npos) {
                b.report(pos_at(i), "template", "empty interpolation {} in template", "write {{}} for literal braces");
            } else {
                pegtl::memory_input<> in(expr_text.data(), expr_text.data() + expr_text.size(), file);
                g::depth_guard guard;
                try {
                    auto root = pt::parse<g::embedded_expression, pt::node, selector, pegtl::nothing, g::control>(
                        in, guard);
                    if (root && !root->children.empty()) part.expression = b.expression(*root->children.front());
                } catch (const pegtl::parse_error& e) {
                    std::size_t at = i + 1 + (e.positions().empty() ? 0 : e.positions().front().byte);
                    const bool deep = dynamic_cast<const g::too_deep*>(&e) != nullptr;
                    b.report(pos_at(at), deep ? "too-deep" : "parse", std::string(e.message()),
                             deep ? too_deep_hint : "");
                }
            }
        }
        if (!part.expression) {  // keep the part, so that the template still lists it
            part.expression = std::make_unique<ast::expr>();
            part.expression->pos = part.pos;
            part.expression->node = ast::null_literal{};
        }
        tpl.parts.push_back(std::move(part));
        i = j + 1;
    }
    flush();
}

ast::message_template builder::message(const pt::node& string_node) {
    ast::message_template tpl;
    tpl.pos = pos_of(string_node);
    std::vector<std::size_t> offsets;
    tpl.raw = unescape(string_node, &offsets);
    split_template(tpl, &offsets, file_, lines_, out_);
    return tpl;
}

bool starts_item(std::string_view line) {
    for (std::string_view kw : {"let", "rule", "score", "classify"}) {
        if (line.size() > kw.size() && line.substr(0, kw.size()) == kw) {
            char after = line[kw.size()];
            if (after == ' ' || after == '\t') return true;
        }
    }
    return false;
}

// Where to resume after a syntax error at `at` in the item that began at `item_start`:
// the line of the error or a later one that starts with an item keyword in column 1.
std::optional<std::size_t> resume_point(std::string_view text, std::size_t item_start, std::size_t at) {
    // The item itself begins after white space and comments.
    while (item_start < text.size()) {
        char c = text[item_start];
        if (c == '#') {
            auto end = text.find('\n', item_start);
            item_start = end == std::string_view::npos ? text.size() : end;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
            ++item_start;
        } else {
            break;
        }
    }
    auto nl = at == 0 ? std::string_view::npos : text.rfind('\n', at - 1);
    std::size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    if (start > item_start && starts_item(text.substr(start))) return start;
    nl = text.find('\n', at);
    while (nl != std::string_view::npos) {
        start = nl + 1;
        if (starts_item(text.substr(start))) return start;
        nl = text.find('\n', start);
    }
    return std::nullopt;
}

// Every comment, found lexically: '#' outside a string literal, to the end of the line.
std::vector<ast::comment> scan_comments(std::string_view text, const line_index& lines) {
    std::vector<ast::comment> out;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"' || c == '\n') in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '#') {
            auto end = text.find_first_of("\r\n", i);
            if (end == std::string_view::npos) end = text.size();
            out.push_back(ast::comment{lines.at(i), std::string(text.substr(i, end - i))});
            i = end - 1;
        }
    }
    return out;
}

}  // namespace

parse_result parse_file(std::string path, std::string text) {
    parse_result result;
    result.file.path = std::move(path);
    result.file.text = std::move(text);
    const std::string& file = result.file.path;
    const std::string& t = result.file.text;
    line_index lines(t);
    builder b(file, lines, result.problems, buffer_map{t.data(), nullptr});

    std::size_t offset = 0;
    while (offset <= t.size()) {
        pegtl::memory_input<> in(t.data() + offset, t.data() + t.size(), file);
        g::depth_guard guard;
        try {
            auto root = pt::parse<g::item_step, pt::node, selector, pegtl::nothing, g::control>(in, guard);
            if (!root) break;
            for (const auto& child : root->children) b.add_item(*child, result.file);
            if (in.empty()) break;
            offset = static_cast<std::size_t>(in.current() - t.data());
        } catch (const pegtl::parse_error& e) {
            std::size_t at = offset + (e.positions().empty() ? 0 : e.positions().front().byte);
            // At the end of a file that ends with a newline, point after the last line's
            // text rather than at an empty line past it.
            std::size_t shown = at;
            if (shown >= t.size()) {
                shown = t.size();
                while (shown > 0 && (t[shown - 1] == '\n' || t[shown - 1] == '\r')) --shown;
            }
            const bool deep = dynamic_cast<const g::too_deep*>(&e) != nullptr;
            b.report(lines.at(shown), deep ? "too-deep" : "parse", std::string(e.message()), deep ? too_deep_hint : "");
            auto next = resume_point(t, offset, at);
            if (!next) break;
            offset = *next;
        } catch (const std::exception& e) {
            b.report(lines.at(offset), "parse", std::string("internal parser error: ") + e.what());
            break;
        }
    }
    result.file.comments = scan_comments(t, lines);
    return result;
}

ast::message_template parse_template_text(std::string_view text, const std::string& origin, diagnostics& problems) {
    ast::message_template tpl;
    tpl.raw = std::string(text);
    tpl.pos = {1, 1};
    line_index lines(tpl.raw);
    builder outer(origin, lines, problems, buffer_map{tpl.raw.data(), nullptr});
    try {
        split_template(tpl, nullptr, origin, lines, problems);
    } catch (const std::exception& e) {
        outer.report({1, 1}, "template", std::string("internal parser error: ") + e.what());
    }
    return tpl;
}

}  // namespace redflag::rules::parse
