// The checker's driver: which items are checked in which order, and the entry points.
// The parts are declared in context.hpp.
#include "rules/check/checker.hpp"

#include "rules/check/context.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace redflag::rules::check {

std::string_view type_name(value_type t) {
    switch (t) {
        case value_type::unknown: return "unknown";
        case value_type::error: return "error";
        case value_type::null: return "null";
        case value_type::boolean: return "bool";
        case value_type::number: return "number";
        case value_type::string: return "string";
        case value_type::duration: return "duration";
        case value_type::time: return "time";
        case value_type::list: return "list";
        case value_type::stream: return "stream";
        case value_type::collection: return "collection";
        case value_type::dynamic: return "dynamic";
    }
    return "unknown";
}

void checker::report(ast::position pos, std::string code, std::string message, std::string hint) {
    diagnostic d;
    d.code = std::move(code);
    d.message = std::move(message);
    d.file = source_.file ? *source_.file : std::string();
    d.line = pos.line;
    d.column = pos.column;
    d.snippet = std::string(source_line(source_.text, pos.line));
    d.hint = std::move(hint);
    out_.push_back(std::move(d));
}

std::string checker::did_you_mean(std::string_view word, const std::vector<std::string>& candidates) const {
    if (auto best = closest(word, candidates)) return "did you mean " + *best + "?";
    return {};
}

void checker::run(ast::program& program, const check_options& options) {
    declare(program);
    let_state_.assign(lets_.size(), state::unvisited);
    edges_.assign(lets_.size() + scores_.size() + classifies_.size(), {});

    std::uint32_t let_index = 0, score_index = 0, classify_index = 0;
    for (std::size_t f = 0; f < program.files.size(); ++f) {
        for (auto& item : program.files[f].items) {
            enter_file(f);
            bool duplicate = std::any_of(duplicates_.begin(), duplicates_.end(),
                                         [&](const auto& d) { return d.first == &item; });
            if (auto* let = std::get_if<ast::let_item>(&item)) {
                if (duplicate) {
                    owner_.reset();
                    if (let->value) check_value(*let->value);
                } else {
                    check_let(let_index++);
                }
            } else if (auto* score = std::get_if<ast::score_item>(&item)) {
                owner_ = duplicate ? std::nullopt : std::optional<std::size_t>(node_id(node_kind::score, score_index++));
                check_score_item(*score);
            } else if (auto* cl = std::get_if<ast::classify_item>(&item)) {
                owner_ = duplicate ? std::nullopt
                                   : std::optional<std::size_t>(node_id(node_kind::classify, classify_index++));
                check_classify_item(*cl);
            } else if (auto* rule = std::get_if<ast::rule_item>(&item)) {
                owner_.reset();
                check_rule(*rule, options);
            }
        }
    }
    check_cycles();
    check_inhibition_cycles(program);
}

void checker::run_template(ast::message_template& tpl, const std::string& origin) {
    frozen_ = true;
    for (const auto& l : program_.lets) lets_.push_back(const_cast<ast::let_item*>(l.item));
    for (const auto& s : program_.scores) scores_.push_back(const_cast<ast::score_item*>(s.item));
    for (const auto& c : program_.classifies) classifies_.push_back(const_cast<ast::classify_item*>(c.item));
    for (std::uint32_t i = 0; i < lets_.size(); ++i) names_.emplace(lets_[i]->name.value, symbol{node_kind::let, i});
    for (std::uint32_t i = 0; i < scores_.size(); ++i)
        names_.emplace(scores_[i]->name.value, symbol{node_kind::score, i});
    for (std::uint32_t i = 0; i < classifies_.size(); ++i)
        names_.emplace(classifies_[i]->name.value, symbol{node_kind::classify, i});
    let_state_.assign(lets_.size(), state::done);
    edges_.assign(lets_.size() + scores_.size() + classifies_.size(), {});
    source_ = {&origin, tpl.raw};
    check_template_parts(tpl);
}

namespace {

// Diagnostics in file order (files in load order, then line and column).
void sort_by_position(diagnostics& all, const ast::program& program) {
    std::map<std::string, std::size_t> order;
    for (std::size_t i = 0; i < program.files.size(); ++i) order.emplace(program.files[i].path, i);
    std::stable_sort(all.begin(), all.end(), [&](const diagnostic& a, const diagnostic& b) {
        auto fa = order.count(a.file) ? order[a.file] : SIZE_MAX;
        auto fb = order.count(b.file) ? order[b.file] : SIZE_MAX;
        return std::tie(fa, a.line, a.column) < std::tie(fb, b.line, b.column);
    });
}

}  // namespace

diagnostics check(ast::program& program, const check_options& options) {
    diagnostics out;
    try {
        checker c(program, out);
        c.run(program, options);
    } catch (const std::exception& e) {
        diagnostic d;
        d.code = "internal";
        d.message = std::string("internal checker error: ") + e.what();
        out.push_back(std::move(d));
    }
    sort_by_position(out, program);
    return out;
}

diagnostics check_template(ast::message_template& tpl, const std::string& origin, const ast::program& checked) {
    diagnostics out;
    try {
        checker c(checked, out);
        c.run_template(tpl, origin);
    } catch (const std::exception& e) {
        diagnostic d;
        d.code = "internal";
        d.file = origin;
        d.message = std::string("internal checker error: ") + e.what();
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace redflag::rules::check
