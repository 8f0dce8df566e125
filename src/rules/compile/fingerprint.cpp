// Structural hash of a rule and of what it reads (see compiler.hpp, fingerprint()).
#include "rules/compile/compiler.hpp"

#include <bit>
#include <cstring>
#include <set>

namespace redflag::rules::compile {
namespace {

// FNV-1a, 64 bits: fixed constants, so a fingerprint is the same in every run and build.
class hasher {
public:
    explicit hasher(const ast::program& program) : program_(program) {}

    std::uint64_t value() const { return h_; }

    void byte(std::uint8_t b) {
        h_ ^= b;
        h_ *= 0x100000001b3ULL;
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void tag(char c) { byte(static_cast<std::uint8_t>(c)); }
    void str(std::string_view s) {
        u64(s.size());
        for (char c : s) byte(static_cast<std::uint8_t>(c));
    }
    void num(double d) { u64(std::bit_cast<std::uint64_t>(d == 0 ? 0.0 : d)); }

    void expr(const ast::expr* e) {
        if (!e) {
            tag('_');
            return;
        }
        std::visit([&](const auto& n) { node(n); }, e->node);
    }

    void rule(const ast::rule_item& r) {
        tag('R');
        str(r.name.value);
        expr(r.when.get());
        tag('t');
        str(r.title ? r.title->value : std::string{});
        tag('f');
        u64(static_cast<std::uint64_t>(r.for_duration ? r.for_duration->value.count() : 0));
        tag('s');
        str(r.severity ? r.severity->value : std::string{});
        tag('n');
        u64(r.notify.size());
        for (const auto& n : r.notify) str(n.value);
        tag('m');
        if (r.message) str(r.message->raw);
        else tag('_');
        tag('r');
        expr(r.repeat.get());
        tag('k');
        u64(static_cast<std::uint64_t>(r.keep_firing_for ? r.keep_firing_for->value.count() : 0));
        tag('v');
        str(r.resolve ? r.resolve->value : std::string{});
        tag('l');
        u64(r.labels.size());
        for (const auto& l : r.labels) {
            str(l.key.value);
            str(l.value.value);
        }
        // Later clauses hash only when present, so that rules without them keep the
        // fingerprints they had before the clauses existed (and their alerts on upgrade).
        if (!r.inhibited_by.empty()) {
            tag('i');
            u64(r.inhibited_by.size());
            for (const auto& n : r.inhibited_by) str(n.value);
        }
        if (r.escalate_after) {
            tag('e');
            u64(static_cast<std::uint64_t>(r.escalate_after->value.count()));
            str(r.escalate_to ? r.escalate_to->value : std::string{});
        }
        if (r.snooze_wake_if) {
            tag('w');
            expr(r.snooze_wake_if.get());
        }
    }

private:
    void node(const ast::number_literal& n) {
        tag('N');
        num(n.value);
    }
    void node(const ast::string_literal& n) {
        tag('S');
        str(n.value);
    }
    void node(const ast::bool_literal& n) {
        tag('B');
        byte(n.value ? 1 : 0);
    }
    void node(const ast::null_literal&) { tag('0'); }
    void node(const ast::duration_literal& n) {
        tag('D');
        u64(static_cast<std::uint64_t>(n.value.count()));
    }
    void node(const ast::list_literal& n) {
        tag('[');
        u64(n.items.size());
        for (const auto& i : n.items) expr(i.get());
    }
    void node(const ast::path& p) {
        tag('P');
        u64(p.segments.size());
        for (const auto& s : p.segments) str(s.value);
        // What the name stands for is part of the rule's meaning: hash it once.
        using k = ast::ref_kind;
        switch (p.ref.kind) {
            case k::let:
                if (p.ref.index < program_.lets.size() && seen_.insert({'l', p.ref.index}).second) {
                    tag('L');
                    expr(program_.lets[p.ref.index].item->value.get());
                }
                break;
            case k::score_value:
            case k::score_band:
            case k::score_component:
                if (p.ref.index < program_.scores.size() && seen_.insert({'s', p.ref.index}).second)
                    score(*program_.scores[p.ref.index].item);
                break;
            case k::classify:
                if (p.ref.index < program_.classifies.size() && seen_.insert({'c', p.ref.index}).second)
                    classify(*program_.classifies[p.ref.index].item);
                break;
            default: break;
        }
    }
    void node(const ast::call& c) {
        tag('C');
        str(c.name.value);
        u64(c.args.size());
        for (const auto& a : c.args) expr(a.get());
    }
    void node(const ast::filtered& f) {
        tag('W');
        expr(f.source.get());
        expr(f.condition.get());
    }
    void node(const ast::window& w) {
        tag('O');
        u64(static_cast<std::uint64_t>(w.length.value.count()));
        u64(static_cast<std::uint64_t>(w.offset.value.count()));
    }
    void node(const ast::unary& u) {
        tag('U');
        byte(static_cast<std::uint8_t>(u.op));
        expr(u.operand.get());
    }
    void node(const ast::binary& b) {
        tag('2');
        byte(static_cast<std::uint8_t>(b.op));
        expr(b.lhs.get());
        expr(b.rhs.get());
    }
    void node(const ast::conditional& c) {
        tag('?');
        expr(c.condition.get());
        expr(c.then_branch.get());
        expr(c.else_branch.get());
    }
    void node(const ast::parenthesized& p) { expr(p.inner.get()); }

    void score(const ast::score_item& s) {
        tag('K');
        str(s.name.value);
        for (const auto& c : s.components) {
            str(c.name.value);
            num(c.weight.value);
            expr(c.value.get());
        }
        for (const auto& b : s.bands) {
            str(b.name.value);
            if (b.threshold) num(b.threshold->value);
            else tag('_');
        }
    }
    void classify(const ast::classify_item& c) {
        tag('Y');
        str(c.name.value);
        for (const auto& cs : c.cases) {
            str(cs.label.value);
            expr(cs.condition.get());
        }
        str(c.default_label ? c.default_label->value : std::string{});
    }

    const ast::program& program_;
    std::set<std::pair<char, std::uint32_t>> seen_;
    std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::uint64_t fingerprint(const ast::rule_item& rule, const ast::program& program) {
    hasher h(program);
    h.rule(rule);
    return h.value();
}

}  // namespace redflag::rules::compile
