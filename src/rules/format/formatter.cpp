#include "rules/format/formatter.hpp"

#include "rules/diagnostic.hpp"

#include <algorithm>
#include <cstdio>

namespace redflag::rules::format {
namespace {

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::string_view op_text(ast::binary_op op) {
    switch (op) {
        case ast::binary_op::logical_or: return "or";
        case ast::binary_op::logical_and: return "and";
        case ast::binary_op::eq: return "==";
        case ast::binary_op::ne: return "!=";
        case ast::binary_op::lt: return "<";
        case ast::binary_op::le: return "<=";
        case ast::binary_op::gt: return ">";
        case ast::binary_op::ge: return ">=";
        case ast::binary_op::in: return "in";
        case ast::binary_op::coalesce: return "??";
        case ast::binary_op::add: return "+";
        case ast::binary_op::sub: return "-";
        case ast::binary_op::mul: return "*";
        case ast::binary_op::div: return "/";
    }
    return "?";
}

void print(std::string& out, const ast::expr* e) {
    if (!e) {
        out += "null";
        return;
    }
    std::visit(
        [&](const auto& n) {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, ast::number_literal>) {
                out += n.text;
            } else if constexpr (std::is_same_v<T, ast::string_literal>) {
                out += quote(n.value);
            } else if constexpr (std::is_same_v<T, ast::bool_literal>) {
                out += n.value ? "true" : "false";
            } else if constexpr (std::is_same_v<T, ast::null_literal>) {
                out += "null";
            } else if constexpr (std::is_same_v<T, ast::duration_literal>) {
                out += n.text;
            } else if constexpr (std::is_same_v<T, ast::list_literal>) {
                out += '[';
                for (std::size_t i = 0; i < n.items.size(); ++i) {
                    if (i) out += ", ";
                    print(out, n.items[i].get());
                }
                out += ']';
            } else if constexpr (std::is_same_v<T, ast::path>) {
                for (std::size_t i = 0; i < n.segments.size(); ++i) {
                    if (i) out += '.';
                    out += n.segments[i].value;
                }
            } else if constexpr (std::is_same_v<T, ast::call>) {
                out += n.name.value;
                out += '(';
                for (std::size_t i = 0; i < n.args.size(); ++i) {
                    if (i) out += ", ";
                    print(out, n.args[i].get());
                }
                out += ')';
            } else if constexpr (std::is_same_v<T, ast::filtered>) {
                print(out, n.source.get());
                out += " where ";
                print(out, n.condition.get());
            } else if constexpr (std::is_same_v<T, ast::window>) {
                out += n.length_text;
                out += " offset ";
                out += n.offset_text;
            } else if constexpr (std::is_same_v<T, ast::unary>) {
                out += n.op == ast::unary_op::logical_not ? "not " : "-";
                print(out, n.operand.get());
            } else if constexpr (std::is_same_v<T, ast::binary>) {
                print(out, n.lhs.get());
                out += ' ';
                out += op_text(n.op);
                out += ' ';
                print(out, n.rhs.get());
            } else if constexpr (std::is_same_v<T, ast::conditional>) {
                out += "if ";
                print(out, n.condition.get());
                out += " then ";
                print(out, n.then_branch.get());
                out += " else ";
                print(out, n.else_branch.get());
            } else if constexpr (std::is_same_v<T, ast::parenthesized>) {
                out += '(';
                print(out, n.inner.get());
                out += ')';
            }
        },
        e->node);
}

std::string padded(std::string_view s, std::size_t width) {
    std::string out(s);
    if (out.size() < width) out.append(width - out.size(), ' ');
    return out;
}

// Prints units (lines of output, each tied to the source line it came from) with the
// comments that came before or after them. Fields are printed in canonical order, not
// source order, so a comment at the end of a unit's line is claimed by that unit and
// printed with it wherever it goes; other comments come out, in order, before the first
// unit printed after them.
class printer {
public:
    explicit printer(const ast::source_file& file) : file_(file), emitted_(file.comments.size(), false) {
        for (const auto& c : file.comments) {
            auto line = source_line(file.text, c.pos.line);
            bool code_before = false;
            std::uint32_t col = 1;
            for (std::size_t i = 0; i < line.size() && col < c.pos.column; ++i) {
                auto ch = static_cast<unsigned char>(line[i]);
                if ((ch & 0xC0) == 0x80) continue;
                if (ch != ' ' && ch != '\t') code_before = true;
                ++col;
            }
            trailing_.push_back(code_before);
        }
    }

    // The source lines of the units of the item about to be printed.
    void claim(std::vector<std::uint32_t> lines) { claimed_ = std::move(lines); }

    // Comments that come before `line`, each on its own line.
    void comments_before(std::uint32_t line, std::string_view indent, bool top_level) {
        const auto& cs = file_.comments;
        for (std::size_t i = 0; i < cs.size(); ++i) {
            if (emitted_[i] || cs[i].pos.line >= line) continue;
            if (trailing_[i] && std::find(claimed_.begin(), claimed_.end(), cs[i].pos.line) != claimed_.end())
                continue;
            out_ += indent;
            out_ += cs[i].text;
            out_ += '\n';
            emitted_[i] = true;
            if (top_level && blank_after(cs[i].pos.line, line)) out_ += '\n';
        }
    }

    void unit(std::string_view indent, std::string_view text, std::uint32_t line, bool top_level = false) {
        comments_before(line, indent, top_level);
        out_ += indent;
        out_ += text;
        const auto& cs = file_.comments;
        for (std::size_t i = 0; i < cs.size(); ++i) {
            if (emitted_[i] || cs[i].pos.line != line || !trailing_[i]) continue;
            out_ += "  ";
            out_ += cs[i].text;
            emitted_[i] = true;
            break;
        }
        out_ += '\n';
    }

    void blank() { out_ += '\n'; }

    void rest() {
        claimed_.clear();
        bool any = std::find(emitted_.begin(), emitted_.end(), false) != emitted_.end();
        if (any && !out_.empty()) out_ += '\n';
        comments_before(UINT32_MAX, "", true);
    }

    std::string take() { return std::move(out_); }

private:
    // Whether the line after `line` is blank and comes before `until`.
    bool blank_after(std::uint32_t line, std::uint32_t until) const {
        if (line + 1 >= until) return false;
        if (until == UINT32_MAX && line + 1 >= last_line()) return false;
        auto next = source_line(file_.text, line + 1);
        return next.find_first_not_of(" \t\r") == std::string_view::npos;
    }
    std::uint32_t last_line() const {
        return static_cast<std::uint32_t>(std::count(file_.text.begin(), file_.text.end(), '\n')) + 1;
    }

    const ast::source_file& file_;
    std::vector<bool> trailing_;
    std::vector<bool> emitted_;
    std::vector<std::uint32_t> claimed_;
    std::string out_;
};

std::string expr_text(const ast::expr* e) {
    std::string s;
    print(s, e);
    return s;
}

std::uint32_t line_of(const ast::expr_ptr& e, std::uint32_t fallback) { return e ? e->pos.line : fallback; }

void format_let(printer& p, const ast::let_item& let) {
    p.claim({let.pos.line});
    p.unit("", "let " + let.name.value + " = " + expr_text(let.value.get()), let.pos.line, true);
}

void format_rule(printer& p, const ast::rule_item& rule) {
    std::vector<std::uint32_t> lines{rule.pos.line, rule.close.line};
    if (rule.title) lines.push_back(rule.title->pos.line);
    if (rule.when) lines.push_back(rule.when->pos.line);
    if (rule.for_duration) lines.push_back(rule.for_duration->pos.line);
    if (rule.severity) lines.push_back(rule.severity->pos.line);
    if (!rule.notify.empty()) lines.push_back(rule.notify.front().pos.line);
    if (rule.message) lines.push_back(rule.message->pos.line);
    if (rule.repeat) lines.push_back(rule.repeat->pos.line);
    if (rule.keep_firing_for) lines.push_back(rule.keep_firing_for->pos.line);
    if (rule.resolve) lines.push_back(rule.resolve->pos.line);
    if (!rule.labels.empty()) lines.push_back(rule.labels.front().key.pos.line);
    if (!rule.inhibited_by.empty()) lines.push_back(rule.inhibited_by.front().pos.line);
    if (rule.escalate_after) lines.push_back(rule.escalate_after->pos.line);
    if (rule.snooze_wake_if) lines.push_back(rule.snooze_wake_if->pos.line);
    p.claim(std::move(lines));
    p.unit("", "rule " + rule.name.value + " {", rule.pos.line, true);
    auto field = [&](std::string_view keyword, const std::string& value, std::uint32_t line) {
        p.unit("  ", padded(keyword, std::max<std::size_t>(keyword.size() + 1, 9)) + value, line);
    };
    if (rule.title) field("title", quote(rule.title->value), rule.title->pos.line);
    if (rule.when) field("when", expr_text(rule.when.get()), rule.when->pos.line);
    if (rule.for_duration) field("for", rule.for_text, rule.for_duration->pos.line);
    if (rule.severity) field("severity", rule.severity->value, rule.severity->pos.line);
    if (!rule.notify.empty()) {
        std::string names;
        for (const auto& n : rule.notify) names += (names.empty() ? "" : ", ") + n.value;
        field("notify", names, rule.notify.front().pos.line);
    }
    if (rule.message) field("message", quote(rule.message->raw), rule.message->pos.line);
    if (rule.repeat) field("repeat", expr_text(rule.repeat.get()), line_of(rule.repeat, rule.pos.line));
    if (rule.keep_firing_for) field("keep_firing_for", rule.keep_firing_for_text, rule.keep_firing_for->pos.line);
    if (rule.resolve) field("resolve", rule.resolve->value, rule.resolve->pos.line);
    if (!rule.labels.empty()) {
        std::string text = "{ ";
        for (std::size_t i = 0; i < rule.labels.size(); ++i) {
            if (i) text += ", ";
            text += rule.labels[i].key.value + " = " + quote(rule.labels[i].value.value);
        }
        text += " }";
        field("labels", text, rule.labels.front().key.pos.line);
    }
    if (!rule.inhibited_by.empty()) {
        std::string names;
        for (const auto& n : rule.inhibited_by) names += (names.empty() ? "" : ", ") + n.value;
        field("inhibited_by", "[" + names + "]", rule.inhibited_by.front().pos.line);
    }
    if (rule.escalate_after && rule.escalate_to)
        field("escalate", "after " + rule.escalate_after_text + " to " + rule.escalate_to->value,
              rule.escalate_after->pos.line);
    if (rule.snooze_wake_if)
        field("snooze_wake_if", expr_text(rule.snooze_wake_if.get()), rule.snooze_wake_if->pos.line);
    p.unit("", "}", rule.close.line);
}

void format_score(printer& p, const ast::score_item& score) {
    std::vector<std::uint32_t> lines{score.pos.line, score.close.line};
    for (const auto& c : score.components) lines.push_back(c.pos.line);
    for (const auto& b : score.bands) lines.push_back(b.pos.line);
    p.claim(std::move(lines));
    p.unit("", "score " + score.name.value + " {", score.pos.line, true);
    std::size_t name_width = 0, weight_width = 0, band_width = 0;
    for (const auto& c : score.components) {
        name_width = std::max(name_width, c.name.value.size());
        weight_width = std::max(weight_width, c.weight_text.size());
    }
    for (const auto& b : score.bands)
        if (b.threshold) band_width = std::max(band_width, b.name.value.size());
    for (const auto& c : score.components)
        p.unit("  ",
               "component " + padded(c.name.value, name_width) + " weight " + padded(c.weight_text, weight_width) +
                   " = " + expr_text(c.value.get()),
               c.pos.line);
    for (const auto& b : score.bands) {
        if (b.threshold) p.unit("  ", "band " + padded(b.name.value, band_width) + " >= " + b.threshold_text, b.pos.line);
        else p.unit("  ", "band " + b.name.value, b.pos.line);
    }
    p.unit("", "}", score.close.line);
}

void format_classify(printer& p, const ast::classify_item& cl) {
    std::vector<std::uint32_t> lines{cl.pos.line, cl.close.line};
    for (const auto& c : cl.cases) lines.push_back(c.pos.line);
    if (cl.default_label) lines.push_back(cl.default_label->pos.line);
    p.claim(std::move(lines));
    p.unit("", "classify " + cl.name.value + " {", cl.pos.line, true);
    // As in the spec's example: two spaces after the longest label, and `when` no further
    // left than a default's label.
    std::size_t width = 8;
    for (const auto& c : cl.cases) width = std::max(width, c.label.value.size() + 2);
    for (const auto& c : cl.cases)
        p.unit("  ", padded(c.label.value, width) + "when " + expr_text(c.condition.get()), c.pos.line);
    if (cl.default_label) p.unit("  ", "default " + cl.default_label->value, cl.default_label->pos.line);
    p.unit("", "}", cl.close.line);
}

// ----------------------------------------------------------------- dump

void dump(std::string& out, const ast::expr* e) {
    if (!e) {
        out += "<none>";
        return;
    }
    std::visit(
        [&](const auto& n) {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, ast::number_literal>) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.17g", n.value);
                out += "(num " + std::string(buf) + " " + n.text + ")";
            } else if constexpr (std::is_same_v<T, ast::string_literal>) {
                out += "(str " + quote(n.value) + ")";
            } else if constexpr (std::is_same_v<T, ast::bool_literal>) {
                out += n.value ? "(true)" : "(false)";
            } else if constexpr (std::is_same_v<T, ast::null_literal>) {
                out += "(null)";
            } else if constexpr (std::is_same_v<T, ast::duration_literal>) {
                out += "(dur " + std::to_string(n.value.count()) + " " + n.text + ")";
            } else if constexpr (std::is_same_v<T, ast::list_literal>) {
                out += "(list";
                for (const auto& i : n.items) {
                    out += ' ';
                    dump(out, i.get());
                }
                out += ')';
            } else if constexpr (std::is_same_v<T, ast::path>) {
                out += "(path";
                for (const auto& s : n.segments) out += " " + s.value;
                out += ')';
            } else if constexpr (std::is_same_v<T, ast::call>) {
                out += "(call " + n.name.value;
                for (const auto& a : n.args) {
                    out += ' ';
                    dump(out, a.get());
                }
                out += ')';
            } else if constexpr (std::is_same_v<T, ast::filtered>) {
                out += "(where ";
                dump(out, n.source.get());
                out += ' ';
                dump(out, n.condition.get());
                out += ')';
            } else if constexpr (std::is_same_v<T, ast::window>) {
                out += "(window " + std::to_string(n.length.value.count()) + " " +
                       std::to_string(n.offset.value.count()) + ")";
            } else if constexpr (std::is_same_v<T, ast::unary>) {
                out += n.op == ast::unary_op::logical_not ? "(not " : "(neg ";
                dump(out, n.operand.get());
                out += ')';
            } else if constexpr (std::is_same_v<T, ast::binary>) {
                out += "(" + std::string(op_text(n.op)) + " ";
                dump(out, n.lhs.get());
                out += ' ';
                dump(out, n.rhs.get());
                out += ')';
            } else if constexpr (std::is_same_v<T, ast::conditional>) {
                out += "(if ";
                dump(out, n.condition.get());
                out += ' ';
                dump(out, n.then_branch.get());
                out += ' ';
                dump(out, n.else_branch.get());
                out += ')';
            } else if constexpr (std::is_same_v<T, ast::parenthesized>) {
                out += "(paren ";
                dump(out, n.inner.get());
                out += ')';
            }
        },
        e->node);
}

void dump_template(std::string& out, const ast::message_template& t) {
    out += "(template " + quote(t.raw);
    for (const auto& p : t.parts) {
        if (p.expression) {
            out += " {";
            dump(out, p.expression.get());
            out += " | " + p.format.value + "}";
        } else {
            out += " " + quote(p.text);
        }
    }
    out += ')';
}

}  // namespace

std::string format_expr(const ast::expr& e) { return expr_text(&e); }

std::string format_file(const ast::source_file& file) {
    printer p(file);
    bool first = true;
    for (const auto& item : file.items) {
        if (!first) p.blank();
        first = false;
        std::visit(
            [&](const auto& i) {
                using T = std::decay_t<decltype(i)>;
                if constexpr (std::is_same_v<T, ast::let_item>) format_let(p, i);
                else if constexpr (std::is_same_v<T, ast::rule_item>) format_rule(p, i);
                else if constexpr (std::is_same_v<T, ast::score_item>) format_score(p, i);
                else format_classify(p, i);
            },
            item);
    }
    p.rest();
    return p.take();
}

std::string dump_tree(const ast::source_file& file) {
    std::string out;
    for (const auto& item : file.items) {
        std::visit(
            [&](const auto& i) {
                using T = std::decay_t<decltype(i)>;
                if constexpr (std::is_same_v<T, ast::let_item>) {
                    out += "let " + i.name.value + " = ";
                    dump(out, i.value.get());
                } else if constexpr (std::is_same_v<T, ast::rule_item>) {
                    out += "rule " + i.name.value + " when=";
                    dump(out, i.when.get());
                    if (i.title) out += " title=" + quote(i.title->value);
                    if (i.for_duration) out += " for=" + std::to_string(i.for_duration->value.count());
                    if (i.severity) out += " severity=" + i.severity->value;
                    for (const auto& n : i.notify) out += " notify=" + n.value;
                    if (i.message) {
                        out += " message=";
                        dump_template(out, *i.message);
                    }
                    if (i.repeat) {
                        out += " repeat=";
                        dump(out, i.repeat.get());
                    }
                    if (i.keep_firing_for) out += " keep=" + std::to_string(i.keep_firing_for->value.count());
                    if (i.resolve) out += " resolve=" + i.resolve->value;
                    for (const auto& l : i.labels) out += " label=" + l.key.value + ":" + quote(l.value.value);
                    for (const auto& n : i.inhibited_by) out += " inhibited_by=" + n.value;
                    if (i.escalate_after) out += " escalate=" + std::to_string(i.escalate_after->value.count());
                    if (i.escalate_to) out += " escalate_to=" + i.escalate_to->value;
                    if (i.snooze_wake_if) {
                        out += " snooze_wake_if=";
                        dump(out, i.snooze_wake_if.get());
                    }
                } else if constexpr (std::is_same_v<T, ast::score_item>) {
                    out += "score " + i.name.value;
                    for (const auto& c : i.components) {
                        char buf[64];
                        std::snprintf(buf, sizeof buf, "%.17g", c.weight.value);
                        out += " component " + c.name.value + " " + buf + " ";
                        dump(out, c.value.get());
                    }
                    for (const auto& b : i.bands) {
                        out += " band " + b.name.value;
                        if (b.threshold) {
                            char buf[64];
                            std::snprintf(buf, sizeof buf, "%.17g", b.threshold->value);
                            out += std::string(" >= ") + buf;
                        }
                    }
                } else {
                    out += "classify " + i.name.value;
                    for (const auto& c : i.cases) {
                        out += " case " + c.label.value + " ";
                        dump(out, c.condition.get());
                    }
                    if (i.default_label) out += " default " + i.default_label->value;
                }
            },
            item);
        out += '\n';
    }
    // The formatter may move a comment relative to others (fields are reordered), so
    // comments compare as a sorted list.
    std::vector<std::string> comments;
    for (const auto& c : file.comments) comments.push_back(c.text);
    std::sort(comments.begin(), comments.end());
    out += "comments";
    for (const auto& c : comments) out += " " + c;
    out += '\n';
    return out;
}

}  // namespace redflag::rules::format
