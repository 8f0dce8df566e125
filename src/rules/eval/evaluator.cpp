#include "rules/eval/evaluator.hpp"

#include "model/goals.hpp"
#include "rules/eval/format.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace redflag::rules::eval {
namespace {

constexpr double ms_per_day = 86'400'000.0;
constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

// A window evaluated at `now`: items with lo < at <= hi (no lower bound without a window).
struct bounds {
    bool has_lower = false;
    timestamp lo{};
    timestamp hi{};
};

bounds bounds_of(const window_spec& w, timestamp now) {
    bounds b;
    b.hi = now - w.offset;
    if (w.present) {
        b.has_lower = true;
        b.lo = b.hi - w.length;
    }
    return b;
}

// The first element of a sequence sorted by `at` whose `at` is after `t`. Windows end at
// or near now and sequences grow at their end, so "none" (the newest is not after `t`) is
// checked first, without a binary search.
template <typename Seq>
auto first_after(const Seq& seq, timestamp t) {
    if (seq.empty() || !(t < seq.back().at)) return seq.end();
    return std::upper_bound(seq.begin(), seq.end(), t, [](timestamp x, const auto& e) { return x < e.at; });
}

bool orderable(kind k) { return k == kind::number || k == kind::duration || k == kind::time || k == kind::string; }

// a < b for two values of one orderable kind.
bool less(const value& a, const value& b) {
    switch (a.k) {
        case kind::number: return a.num < b.num;
        case kind::duration:
        case kind::time: return a.ms < b.ms;
        case kind::string: return a.str < b.str;
        default: return false;
    }
}

value with_time(value v, double slope, bool nonlinear) {
    v.slope = slope;
    v.nonlinear = nonlinear;
    if (!std::isfinite(v.slope)) {
        v.slope = 0;
        v.nonlinear = true;
    }
    return v;
}

double magnitude(const value& v) { return v.k == kind::number ? v.num : static_cast<double>(v.ms); }

std::int64_t to_ms(double x) {
    if (!(x > -9.2e18 && x < 9.2e18)) return x > 0 ? int64_max : -int64_max;
    return std::llround(x);
}

value nonempty_string(const std::string& s) { return s.empty() ? value::null() : value::string(s); }

thread_local frame thread_frame;

}  // namespace

void frame::reset(const program& p) {
    std::size_t n = p.cached_count();
    scratch_used = 0;
    if (state.size() == n && components.size() == p.component_count && bands.size() == p.scores.size() &&
        classes.size() == p.classifies.size()) {
        // Sized for this program already: every other member is written before it is read
        // (a slot's value, errors and next change once its state is 2).
        std::fill(state.begin(), state.end(), 0);
        return;
    }
    cached.assign(n, value{});
    state.assign(n, 0);
    own_errors.assign(n, 0);
    slot_next.assign(n, timestamp_max);
    components.assign(p.component_count, value{});
    component_next.assign(p.component_count, timestamp_max);
    bands.assign(p.scores.size(), -1);
    classes.assign(p.classifies.size(), 0);
}

frame_lease::frame_lease() {
    if (!thread_frame.busy) {
        frame_ = &thread_frame;
    } else {
        own_ = std::make_unique<frame>();
        frame_ = own_.get();
    }
    frame_->busy = true;
}

frame_lease::~frame_lease() { frame_->busy = false; }

evaluator::evaluator(const program& p, const model::account_state& account, timestamp now, duration tick, frame& f)
    : program_(p), account_(account), now_(now), tick_(tick), frame_(f) {
    frame_.reset(p);
}

void evaluator::note(timestamp t) {
    if (t > now_ && t < next_) next_ = t;
}

// A comparison of a and b whose operands move with `now`: the instant their difference
// crosses zero is when the comparison may flip. Never late: when the crossing is not an
// exact millisecond, the millisecond before it is noted.
void evaluator::note_crossing(const value& a, const value& b) {
    if (!a.time_dependent() && !b.time_dependent()) return;
    if (a.nonlinear || b.nonlinear) {
        fallback();
        return;
    }
    double ds = a.slope - b.slope;
    if (ds == 0) return;
    double diff = magnitude(a) - magnitude(b);
    if (diff == 0) {
        note(now_ + duration{1});
        return;
    }
    double tc = -diff / ds;  // milliseconds from now
    if (tc <= 0) return;
    bool exact = a.k != kind::number && ds == std::round(ds);
    std::int64_t step = to_ms(std::floor(tc)) - (exact ? 0 : 1);
    if (step < 1) step = 1;
    if (step > to_millis(timestamp_max) - to_millis(now_)) return;
    note(now_ + duration{step});
}

std::string_view evaluator::scratch_copy(std::string_view s) {
    if (frame_.scratch_used == frame_.scratch.size()) frame_.scratch.emplace_back();
    std::string& slot = frame_.scratch[frame_.scratch_used++];
    slot.assign(s);
    return slot;
}

// ---------------------------------------------------------------------------------------
// Cached items

bool evaluator::begin_cached(std::uint32_t slot, saved_scope& saved) {
    if (frame_.state[slot] == 2) {
        note(frame_.slot_next[slot]);  // the caller's value depends on it: so does its next change
        return false;
    }
    if (frame_.state[slot] != 0) return false;  // a cycle (the checker rejects those)
    frame_.state[slot] = 1;
    saved.errors = errors_;
    saved.next = next_;
    errors_ = 0;
    next_ = timestamp_max;
    return true;
}

void evaluator::end_cached(std::uint32_t slot, saved_scope saved) {
    frame_.own_errors[slot] = errors_;
    frame_.slot_next[slot] = next_;
    errors_ = saved.errors;
    next_ = std::min(saved.next, next_);
    frame_.state[slot] = 2;
}

value evaluator::let(std::uint32_t i) {
    std::uint32_t slot = program_.let_slot(i);
    saved_scope saved;
    if (begin_cached(slot, saved)) {
        const item* scope = item_;
        item_ = nullptr;
        frame_.cached[slot] = eval(*program_.lets[i]);
        item_ = scope;
        end_cached(slot, saved);
    }
    return frame_.cached[slot];
}

void evaluator::compute_score(std::uint32_t i) {
    std::uint32_t slot = program_.score_slot(i);
    saved_scope saved;
    if (!begin_cached(slot, saved)) return;
    const item* scope = item_;
    item_ = nullptr;
    const compiled_score& s = program_.scores[i];
    double weighted = 0, weights = 0;
    for (std::size_t c = 0; c < s.components.size(); ++c) {
        const std::size_t k = s.first_component + c;
        value& out = frame_.components[k];
        if (previous_ && (program_.component_inputs[k] & previous_->changed_inputs) == 0 &&
            previous_->components[k].next > now_) {
            // Unaffected since the last evaluation: its value and next change stand.
            const component_memo& kept = previous_->components[k];
            out = std::isnan(kept.value) ? value::null() : value::number(kept.value);
            frame_.component_next[k] = kept.next;
            note(kept.next);
        } else {
            timestamp outer = next_;
            next_ = timestamp_max;
            value v = eval(*s.components[c].expr);
            if (v.k != kind::number || !std::isfinite(v.num)) {
                out = value::null();
            } else {
                // A component moving with now (e.g. days(since(x)) / 90) moves the score
                // continuously; rounding and clamping are not inverted, so wake on the tick.
                if (v.time_dependent()) fallback();
                out = value::number(std::clamp(v.num, 0.0, 1.0));
            }
            frame_.component_next[k] = next_;
            next_ = std::min(outer, next_);
        }
        if (out.is_null()) continue;
        weighted += s.components[c].weight * out.num;
        weights += s.components[c].weight;
    }
    value score = weights > 0 ? value::number(round_half_away(100 * weighted / weights)) : value::null();
    std::int16_t band = -1;
    if (!score.is_null()) {
        for (std::size_t b = 0; b < s.bands.size(); ++b) {
            if (!s.bands[b].threshold || score.num >= *s.bands[b].threshold) {
                band = static_cast<std::int16_t>(b);
                break;
            }
        }
    }
    frame_.cached[slot] = score;
    frame_.bands[i] = band;
    item_ = scope;
    end_cached(slot, saved);
}

value evaluator::score(std::uint32_t i) {
    compute_score(i);
    return frame_.cached[program_.score_slot(i)];
}

std::int16_t evaluator::band(std::uint32_t i) {
    compute_score(i);
    return frame_.bands[i];
}

value evaluator::component(std::uint32_t s, std::uint32_t c) {
    compute_score(s);
    return frame_.components[program_.scores[s].first_component + c];
}

void evaluator::compute_classify(std::uint32_t i) {
    std::uint32_t slot = program_.classify_slot(i);
    saved_scope saved;
    if (!begin_cached(slot, saved)) return;
    const item* scope = item_;
    item_ = nullptr;
    const compiled_classify& c = program_.classifies[i];
    std::uint16_t index = static_cast<std::uint16_t>(c.cases.size());
    value label = c.default_label ? value::string(*c.default_label) : value::null();
    for (std::size_t k = 0; k < c.cases.size(); ++k) {
        if (holds(eval(*c.cases[k].second))) {
            index = static_cast<std::uint16_t>(k);
            label = value::string(c.cases[k].first);
            break;
        }
    }
    if (index == c.cases.size() && !c.default_label) index = 0xFFFF;
    frame_.classes[i] = index;
    frame_.cached[slot] = label;
    item_ = scope;
    end_cached(slot, saved);
}

value evaluator::classification(std::uint32_t i) {
    compute_classify(i);
    return frame_.cached[program_.classify_slot(i)];
}

std::uint16_t evaluator::class_index(std::uint32_t i) {
    compute_classify(i);
    return frame_.classes[i];
}

void evaluator::evaluate_all(evaluation& out, const previous_evaluation* previous) {
    const std::size_t rule_count = program_.rules.size();
    const std::size_t score_count = program_.scores.size();
    // Item k (rules, then scores, then classifications) may keep its previous value when
    // none of its inputs changed and its own next change has not come.
    auto reusable = [&](std::size_t k, input_mask reads) {
        return previous && (reads & previous->changed_inputs) == 0 && previous->item_next[k] > now_;
    };
    // Computes one top-level item with its own next-change instant.
    auto computed = [&](std::size_t k, auto&& compute) {
        timestamp outer = next_;
        next_ = timestamp_max;
        compute();
        out.item_next[k] = next_;
        next_ = std::min(outer, next_);
        ++out.items_evaluated;
    };
    auto reused = [&](std::size_t k) {
        out.item_next[k] = previous->item_next[k];
        next_ = std::min(next_, out.item_next[k]);
    };
    out.items_evaluated = 0;
    previous_ = previous;

    for (std::uint32_t i = 0; i < score_count; ++i) {
        std::size_t k = rule_count + i;
        const compiled_score& definition = program_.scores[i];
        if (reusable(k, program_.slot_inputs[program_.score_slot(i)])) {
            out.scores[i] = previous->scores[i];
            out.bands[i] = previous->bands[i];
            for (std::size_t c = 0; c < definition.components.size(); ++c)
                out.components[definition.first_component + c] = previous->components[definition.first_component + c];
            reused(k);
            // Rules that are recomputed read the reused value too, unless they read a
            // component, which is not kept: then the score is computed on demand.
            if (!program_.score_components_read[i]) {
                std::uint32_t slot = program_.score_slot(i);
                frame_.cached[slot] = std::isnan(out.scores[i]) ? value::null() : value::number(out.scores[i]);
                frame_.bands[i] = out.bands[i];
                frame_.slot_next[slot] = out.item_next[k];
                frame_.own_errors[slot] = 0;
                frame_.state[slot] = 2;
            }
            continue;
        }
        computed(k, [&] {
            value s = score(i);
            out.scores[i] = s.is_null() ? std::numeric_limits<double>::quiet_NaN() : s.num;
            out.bands[i] = frame_.bands[i];
        });
        for (std::size_t c = 0; c < definition.components.size(); ++c) {
            const std::size_t f = definition.first_component + c;
            const value& v = frame_.components[f];
            out.components[f] = {v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.num, frame_.component_next[f]};
        }
    }
    for (std::uint32_t i = 0; i < program_.classifies.size(); ++i) {
        std::size_t k = rule_count + score_count + i;
        if (reusable(k, program_.slot_inputs[program_.classify_slot(i)])) {
            out.classes[i] = previous->classes[i];
            reused(k);
            const compiled_classify& c = program_.classifies[i];
            std::uint32_t slot = program_.classify_slot(i);
            std::uint16_t index = out.classes[i];
            if (index < c.cases.size()) frame_.cached[slot] = value::string(c.cases[index].first);
            else if (index == c.cases.size() && c.default_label) frame_.cached[slot] = value::string(*c.default_label);
            else frame_.cached[slot] = value::null();
            frame_.classes[i] = index;
            frame_.slot_next[slot] = out.item_next[k];
            frame_.own_errors[slot] = 0;
            frame_.state[slot] = 2;
            continue;
        }
        computed(k, [&] { out.classes[i] = class_index(i); });
    }
    for (std::size_t r = 0; r < rule_count; ++r) {
        if (reusable(r, program_.rule_inputs[r])) {
            out.conditions[r] = previous->conditions[r];
            out.evaluated[r] = 0;
            out.runtime_errors[r] = 0;  // counted when it was computed
            reused(r);
            continue;
        }
        computed(r, [&] {
            const compiled_rule& rule = program_.rules[r];
            errors_ = 0;
            out.conditions[r] = rule.when && holds(eval(*rule.when)) ? 1 : 0;
            std::uint32_t errors = errors_;
            for (std::uint32_t slot : rule.depends_on)
                if (frame_.state[slot] == 2) errors += frame_.own_errors[slot];
            out.runtime_errors[r] = errors;
            out.evaluated[r] = 1;
        });
    }
    errors_ = 0;
    previous_ = nullptr;
    out.next_change = next_;
}

std::string evaluator::render(const std::vector<message_part>& parts) {
    std::string out;
    for (const message_part& p : parts) {
        if (p.expr) append_formatted(out, eval(*p.expr), p.fmt);
        else out += p.text;
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// Streams and collections

value evaluator::field_of(const item& it, std::uint32_t field) const {
    switch (it.kind) {
        case source_kind::records:
            if (field == field_at) return value::of_time(it.record->at);
            if (field < it.record->values.size()) return from_scalar(it.record->values[field]);
            return value::null();
        case source_kind::usage_metric:
        case source_kind::usage_all:
            switch (field) {
                case field_at: return value::of_time(it.point->at);
                case usage_fields::metric: return value::string(it.metric);
                case usage_fields::value: return value::number(it.point->sum);
                default: return value::null();  // points merge events: user_id is not kept
            }
        case source_kind::users: {
            const model::user_state& u = *it.user;
            switch (field) {
                case user_fields::id: return value::string(u.id);
                case user_fields::email: return nonempty_string(u.email);
                case user_fields::name: return nonempty_string(u.name);
                case user_fields::role: return nonempty_string(u.role);
                case user_fields::active: return value::boolean(u.active);
                case user_fields::first_seen: return value::of_time(u.first_seen);
                case user_fields::last_seen: return u.last_seen ? value::of_time(*u.last_seen) : value::null();
                default: return value::null();
            }
        }
        case source_kind::tickets: {
            const model::ticket_state& t = *it.ticket;
            switch (field) {
                case ticket_fields::id: return value::string(t.id);
                case ticket_fields::status: return value::string(t.status);
                case ticket_fields::priority: return nonempty_string(t.priority);
                case ticket_fields::subject: return nonempty_string(t.subject);
                case ticket_fields::opened_at: return value::of_time(t.opened_at);
                case ticket_fields::first_response_at:
                    return t.first_response_at ? value::of_time(*t.first_response_at) : value::null();
                default: return value::null();
            }
        }
        case source_kind::products: return value::string(*it.product);
    }
    return value::null();
}

bool evaluator::passes(const source_spec& s, const item& it) {
    if (!s.filter) return true;
    const item* scope = item_;
    item_ = &it;
    bool ok = holds(eval(*s.filter));
    item_ = scope;
    return ok;
}

value evaluator::item_value(const source_spec& s, const item& it) const {
    switch (it.kind) {
        case source_kind::records:
            if (s.field >= 0 && static_cast<std::size_t>(s.field) < it.record->values.size())
                return from_scalar(it.record->values[static_cast<std::size_t>(s.field)]);
            return value::null();
        case source_kind::usage_metric:
        case source_kind::usage_all: return value::number(it.point->sum);
        default: return field_of(it, product_item);
    }
}

// The elements of `seq` inside the window, [first, last); and notes when an item next
// enters or leaves it: the earliest item after the window's end enters at at + offset;
// the oldest item inside leaves at at + offset + length.
template <typename Seq>
auto evaluator::window_range(const Seq& seq, const window_spec& w) {
    bounds b = bounds_of(w, now_);
    auto last = first_after(seq, b.hi);
    if (last != seq.end()) note(last->at + w.offset);
    auto first = b.has_lower ? first_after(seq, b.lo) : seq.begin();
    if (b.has_lower && first != seq.end() && first->at <= b.hi) note(first->at + w.offset + w.length);
    return std::pair{first, last};
}

// Calls fn(item) for each element of a sorted sequence inside the window that passes the
// source's filter (every element when `filtered` is false); stops when fn returns false.
template <typename Seq, typename Fn>
bool evaluator::scan(const Seq& seq, const window_spec& w, item base, Fn& fn) {
    auto [first, last] = window_range(seq, w);
    for (auto it = first; it < last; ++it) {
        item x = base;
        if constexpr (std::is_same_v<std::decay_t<decltype(*it)>, model::stream_record>) x.record = &*it;
        else x.point = &*it;
        if (!fn(x)) return false;
    }
    return true;
}

template <typename Fn>
void evaluator::for_each(const source_spec& s, const window_spec& w, Fn&& fn) {
    item base;
    base.kind = s.kind;
    switch (s.kind) {
        case source_kind::records:
            scan(account_.stream(s.type), w, base, fn);
            return;
        case source_kind::usage_metric: {
            // One map find per usage stream per evaluation: series are keyed by metric
            // name in account_state, a small map (a handful of metrics per account).
            auto found = account_.usage.find(s.metric);
            if (found == account_.usage.end()) return;
            base.metric = found->first;
            scan(found->second.points, w, base, fn);
            return;
        }
        case source_kind::usage_all:
            for (const auto& [metric, series] : account_.usage) {
                base.metric = metric;
                if (!scan(series.points, w, base, fn)) return;
            }
            return;
        case source_kind::users:
            for (const model::user_state& u : account_.users) {
                item x = base;
                x.user = &u;
                if (!fn(x)) return;
            }
            return;
        case source_kind::tickets:
            for (const model::ticket_state& t : account_.tickets) {
                if (!t.is_open()) continue;
                item x = base;
                x.ticket = &t;
                if (!fn(x)) return;
            }
            return;
        case source_kind::products: {
            const auto* list = std::get_if<string_list>(&account_.get(model::profile_field::products));
            if (!list) return;
            for (const std::string& p : *list) {
                item x = base;
                x.product = &p;
                if (!fn(x)) return;
            }
            return;
        }
    }
}

value evaluator::aggregate(const node& n) {
    const source_spec& s = n.source_;
    const window_spec& w = n.window_;
    bool usage = s.kind == source_kind::usage_metric || s.kind == source_kind::usage_all;
    switch (n.code) {
        case op::any: {
            bool found = false;
            for_each(s, w, [&](const item& it) {
                found = passes(s, it);
                return !found;
            });
            return value::boolean(found);
        }
        case op::all: {
            bool every = true;
            for_each(s, w, [&](const item& it) {
                every = passes(s, it);
                return every;
            });
            return value::boolean(every);
        }
        case op::count:
        case op::sum:
        case op::avg:
        case op::rate: {
            double count = 0, sum = 0, values = 0;
            if (s.kind == source_kind::usage_metric && !s.filter) {
                // The common case (avg(usage.active_users, 28d)): a tight loop over the points.
                auto found = account_.usage.find(s.metric);
                if (found != account_.usage.end()) {
                    const auto& points = found->second.points;
                    auto [first, last] = window_range(points, w);
                    for (auto it = first; it < last; ++it) {
                        count += it->count;
                        sum += it->sum;
                    }
                    values = count;
                }
            } else {
                for_each(s, w, [&](const item& it) {
                if (!passes(s, it)) return true;
                if (usage) {
                    count += it.point->count;
                    sum += it.point->sum;
                    values += it.point->count;
                    return true;
                }
                count += 1;
                value v = item_value(s, it);
                if (v.k == kind::number) {
                    sum += v.num;
                    values += 1;
                }
                return true;
                });
            }
            bool has_field = usage ? s.kind == source_kind::usage_metric : s.field >= 0;
            switch (n.code) {
                case op::count: return value::number(count);
                case op::sum: return value::number(has_field ? sum : count);
                case op::avg: return values > 0 ? value::number(sum / values) : value::null();
                default: {
                    if (!w.present || w.length.count() <= 0) return value::null();
                    return value::number((has_field ? sum : count) / (static_cast<double>(w.length.count()) / ms_per_day));
                }
            }
        }
        case op::min:
        case op::max:
        case op::first:
        case op::last: {
            value best;
            for_each(s, w, [&](const item& it) {
                if (!passes(s, it)) return true;
                value v = item_value(s, it);
                if (v.is_null()) return true;
                if (best.is_null() || n.code == op::last) best = v;
                else if (n.code == op::min && v.k == best.k && orderable(v.k) && less(v, best)) best = v;
                else if (n.code == op::max && v.k == best.k && orderable(v.k) && less(best, v)) best = v;
                else if (n.code == op::first) return false;
                return true;
            });
            return best;
        }
        case op::distinct: {
            // No allocation: each value is compared with the ones before it (windows hold
            // few distinct records; usage points merge per minute).
            double distinct = 0;
            std::size_t outer = 0;
            for_each(s, w, [&](const item& it) {
                std::size_t position = outer++;
                if (!passes(s, it)) return true;
                value v = item_value(s, it);
                if (v.is_null()) return true;
                bool seen = false;
                std::size_t inner = 0;
                for_each(s, w, [&](const item& other) {
                    if (inner++ >= position) return false;
                    if (passes(s, other) && equal(item_value(s, other), v)) seen = true;
                    return !seen;
                });
                if (!seen) distinct += 1;
                return true;
            });
            return value::number(distinct);
        }
        default: return value::null();
    }
}

value evaluator::since_stream(const node& n) {
    const source_spec& s = n.source_;
    std::optional<timestamp> latest;
    auto consider = [&](const auto& seq, item base) {
        auto after = first_after(seq, now_);
        if (after != seq.end()) note(after->at);  // a later event makes since() drop
        for (auto it = after; it != seq.begin();) {
            --it;
            if (latest && it->at <= *latest) return;
            item x = base;
            if constexpr (std::is_same_v<std::decay_t<decltype(*it)>, model::stream_record>) x.record = &*it;
            else x.point = &*it;
            if (passes(s, x)) {
                latest = it->at;
                return;
            }
        }
    };
    item base;
    base.kind = s.kind;
    switch (s.kind) {
        case source_kind::records: {
            const auto known = account_.latest_of(s.type);
            if (!s.filter && known && *known <= now_) {
                latest = *known;  // nothing of this type after now: nothing to note either
                break;
            }
            consider(account_.stream(s.type), base);
            break;
        }
        case source_kind::usage_metric: {
            auto found = account_.usage.find(s.metric);
            if (found != account_.usage.end()) {
                base.metric = found->first;
                consider(found->second.points, base);
            }
            break;
        }
        case source_kind::usage_all: {
            const auto known = account_.latest_of(model::event_type::usage);
            if (!s.filter && known && *known <= now_) {
                latest = *known;
                break;
            }
            for (const auto& [metric, series] : account_.usage) {
                base.metric = metric;
                consider(series.points, base);
            }
            break;
        }
        default: break;
    }
    if (!latest) latest = account_.first_seen;
    if (!latest) return value::null();
    return with_time(value::of_duration(now_ - *latest), 1, false);
}

value evaluator::changed(const node& n) {
    const auto& history = account_.history_of(n.field_);
    auto [first, last] = window_range(history, n.window_);
    return value::boolean(first < last);
}

value evaluator::previous(const node& n) {
    const auto& history = account_.history_of(n.field_);
    auto after = first_after(history, now_);
    if (after != history.end()) note(after->at);
    if (after == history.begin()) return value::null();
    return from_scalar(std::prev(after)->before);
}

// ---------------------------------------------------------------------------------------
// Operators

value evaluator::attribute(const node& n) {
    // One look-up by name: attributes are free-form, keyed by string in account_state.
    auto found = account_.attributes.find(n.key_);
    value v = found == account_.attributes.end() ? value::null() : from_scalar(found->second);
    v.dynamic = true;
    return v;
}

value evaluator::alert_fact(const node& n) {
    if (!alerts_) return n.sub_ == 0 ? value::number(0) : value::null();
    // A snooze in force ending changes both with no new event.
    note(alerts_->next_change);
    if (n.sub_ == 0) return value::number(alerts_->unacked);
    if (!alerts_->unacked_since) return value::null();
    // Grows with now, like since(t): a comparison notes the instant it crosses.
    return with_time(value::of_duration(duration{to_millis(now_) - to_millis(*alerts_->unacked_since)}), 1, false);
}

value evaluator::compare(const node& n, const value& a, const value& b) {
    bool dynamic = a.dynamic || b.dynamic;
    bool mismatched = a.k != b.k && !a.is_null() && !b.is_null();
    if (n.code == op::eq || n.code == op::ne) {
        if (mismatched && dynamic) {
            mismatch();
            return value::boolean(false);
        }
        if (a.k == b.k && orderable(a.k) && a.k != kind::string) note_crossing(a, b);
        bool same = equal(a, b);
        return value::boolean(n.code == op::eq ? same : !same);
    }
    if (a.is_null() || b.is_null()) return value::boolean(false);
    if (mismatched || !orderable(a.k)) {
        if (dynamic) mismatch();
        return value::boolean(false);
    }
    if (a.k != kind::string) note_crossing(a, b);
    switch (n.code) {
        case op::lt: return value::boolean(less(a, b));
        case op::le: return value::boolean(!less(b, a));
        case op::gt: return value::boolean(less(b, a));
        case op::ge: return value::boolean(!less(a, b));
        default: return value::boolean(false);
    }
}

value evaluator::membership(const node& n) {
    value x = eval(*n.args[0]);
    if (x.is_null()) return value::boolean(false);
    if (x.time_dependent()) fallback();
    const node& rhs = *n.args[1];
    if (rhs.code == op::list && rhs.strings_.empty()) {
        if (rhs.args.empty()) return value::boolean(false);
        bool mismatched = false;
        for (const node* item : rhs.args) {
            value v = eval(*item);
            if (v.is_null()) continue;  // a null item matches nothing (x is not null here)
            if (v.k != x.k) mismatched = true;
            else if (equal(x, v)) return value::boolean(true);
        }
        if (mismatched && x.dynamic) mismatch();
        return value::boolean(false);
    }
    value list = eval(rhs);
    if (list.is_null()) return value::boolean(false);
    if (list.k != kind::list || x.k != kind::string) {
        if (x.dynamic || list.dynamic) mismatch();
        return value::boolean(false);
    }
    for (const std::string& s : *list.list)
        if (s == x.str) return value::boolean(true);
    return value::boolean(false);
}

value evaluator::arithmetic(op code, const value& a, const value& b) {
    if (a.is_null() || b.is_null()) return value::null();
    bool both_move = a.time_dependent() && b.time_dependent();
    bool nonlinear = a.nonlinear || b.nonlinear;
    auto bad = [&] {
        if (a.dynamic || b.dynamic) mismatch();
        return value::null();
    };
    switch (code) {
        case op::add:
        case op::sub: {
            double sign = code == op::add ? 1 : -1;
            double slope = a.slope + sign * b.slope;
            if (a.k == kind::number && b.k == kind::number)
                return with_time(value::number(a.num + sign * b.num), slope, nonlinear);
            if (a.k == kind::duration && b.k == kind::duration)
                return with_time(value::of_duration(duration{a.ms + static_cast<std::int64_t>(sign) * b.ms}), slope,
                                 nonlinear);
            if (a.k == kind::time && b.k == kind::duration) {
                value r = value::of_time(from_millis(a.ms + static_cast<std::int64_t>(sign) * b.ms));
                return with_time(r, slope, nonlinear);
            }
            if (code == op::add && a.k == kind::duration && b.k == kind::time)
                return with_time(value::of_time(from_millis(a.ms + b.ms)), slope, nonlinear);
            if (code == op::sub && a.k == kind::time && b.k == kind::time)
                return with_time(value::of_duration(duration{a.ms - b.ms}), slope, nonlinear);
            return bad();
        }
        case op::mul: {
            nonlinear = nonlinear || both_move;
            if (a.k == kind::number && b.k == kind::number)
                return with_time(value::number(a.num * b.num), a.slope * b.num + b.slope * a.num, nonlinear);
            if (a.k == kind::duration && b.k == kind::number)
                return with_time(value::of_duration(duration{to_ms(static_cast<double>(a.ms) * b.num)}),
                                 a.slope * b.num + b.slope * static_cast<double>(a.ms), nonlinear);
            if (a.k == kind::number && b.k == kind::duration)
                return with_time(value::of_duration(duration{to_ms(a.num * static_cast<double>(b.ms))}),
                                 b.slope * a.num + a.slope * static_cast<double>(b.ms), nonlinear);
            return bad();
        }
        case op::div: {
            nonlinear = nonlinear || b.time_dependent();
            double divisor;
            if (b.k == kind::number) divisor = b.num;
            else if (b.k == kind::duration && a.k == kind::duration) divisor = static_cast<double>(b.ms);
            else return bad();
            if (divisor == 0) return value::null();
            if (a.k == kind::number) return with_time(value::number(a.num / divisor), a.slope / divisor, nonlinear);
            if (a.k == kind::duration && b.k == kind::number)
                return with_time(value::of_duration(duration{to_ms(static_cast<double>(a.ms) / divisor)}),
                                 a.slope / divisor, nonlinear);
            if (a.k == kind::duration)
                return with_time(value::number(static_cast<double>(a.ms) / divisor), a.slope / divisor, nonlinear);
            return bad();
        }
        default: return value::null();
    }
}

value evaluator::scalar_fn(const node& n) {
    auto arg = [&](std::size_t i) { return i < n.args.size() ? eval(*n.args[i]) : value::null(); };
    auto moving = [](value v, bool nonlinear) {
        if (nonlinear) {
            v.slope = 0;
            v.nonlinear = true;
        }
        return v;
    };
    switch (n.code) {
        case op::min_of:
        case op::max_of: {
            value best;
            bool nonlinear = false;
            for (std::size_t i = 0; i < n.args.size(); ++i) {
                value v = eval(*n.args[i]);
                if (v.is_null()) return value::null();
                nonlinear = nonlinear || v.time_dependent();
                if (i == 0) best = v;
                else if (v.k != best.k || !orderable(v.k)) {
                    if (v.dynamic || best.dynamic) mismatch();
                    return value::null();
                } else if (n.code == op::min_of ? less(v, best) : less(best, v)) best = v;
            }
            return moving(best, nonlinear);
        }
        case op::abs: {
            value v = arg(0);
            if (v.k == kind::number) return moving(value::number(std::fabs(v.num)), v.time_dependent());
            if (v.k == kind::duration) return moving(value::of_duration(duration{v.ms < 0 ? -v.ms : v.ms}), v.time_dependent());
            mistyped(v);
            return value::null();
        }
        case op::clamp: {
            value x = arg(0), lo = arg(1), hi = arg(2);
            if (x.is_null() || lo.is_null() || hi.is_null()) return value::null();
            if (x.k != lo.k || x.k != hi.k || !orderable(x.k)) {
                if (x.dynamic || lo.dynamic || hi.dynamic) mismatch();
                return value::null();
            }
            bool nonlinear = x.time_dependent() || lo.time_dependent() || hi.time_dependent();
            value r = less(x, lo) ? lo : less(hi, x) ? hi : x;
            return moving(r, nonlinear);
        }
        case op::round:
        case op::floor:
        case op::ceil: {
            value v = arg(0);
            if (v.k != kind::number) {
                if (v.dynamic && !v.is_null()) mismatch();
                return value::null();
            }
            double r = n.code == op::round ? round_half_away(v.num) : n.code == op::floor ? std::floor(v.num) : std::ceil(v.num);
            return moving(value::number(r), v.time_dependent());
        }
        case op::pct_change: {
            value now_v = arg(0), old = arg(1);
            if (now_v.k != kind::number || old.k != kind::number) {
                mistyped(now_v, kind::number);
                mistyped(old, kind::number);
                return value::null();
            }
            if (old.num == 0) return value::null();
            return moving(value::number((now_v.num - old.num) / old.num), now_v.time_dependent() || old.time_dependent());
        }
        case op::days: {
            value v = arg(0);
            if (v.k != kind::duration) {
                mistyped(v);
                return value::null();
            }
            return with_time(value::number(static_cast<double>(v.ms) / ms_per_day), v.slope / ms_per_day, v.nonlinear);
        }
        case op::coalesce_fn:
            for (const node* a : n.args) {
                value v = eval(*a);
                if (!v.is_null()) return v;
            }
            return value::null();
        case op::count_of: {
            // count(LIST) is its length; count(a, b, ...) of plain values counts the non-null.
            if (n.args.size() == 1) {
                value v = eval(*n.args[0]);
                if (v.k == kind::list) return value::number(static_cast<double>(v.list->size()));
                if (v.is_null()) return value::number(0);
            }
            double c = 0;
            for (const node* a : n.args) c += eval(*a).is_null() ? 0 : 1;
            return value::number(c);
        }
        case op::lower:
        case op::upper: {
            value v = arg(0);
            if (v.k != kind::string) {
                mistyped(v);
                return value::null();
            }
            std::string_view copy = scratch_copy(v.str);
            std::string& s = frame_.scratch[frame_.scratch_used - 1];
            for (char& c : s)
                c = static_cast<char>(n.code == op::lower ? std::tolower(static_cast<unsigned char>(c))
                                                          : std::toupper(static_cast<unsigned char>(c)));
            return value::string(copy);
        }
        case op::contains: {
            value a = arg(0), b = arg(1);
            if (a.is_null() || b.is_null()) return value::boolean(false);
            if (b.k != kind::string || (a.k != kind::string && a.k != kind::list)) {
                if (a.k != kind::list) mistyped(a, kind::string);
                mistyped(b, kind::string);
                return value::boolean(false);
            }
            if (a.k == kind::string) return value::boolean(a.str.find(b.str) != std::string_view::npos);
            return value::boolean(std::find(a.list->begin(), a.list->end(), b.str) != a.list->end());
        }
        case op::starts_with: {
            value a = arg(0), b = arg(1);
            if (a.k != kind::string || b.k != kind::string) {
                mistyped(a, kind::string);
                mistyped(b, kind::string);
                return value::boolean(false);
            }
            return value::boolean(a.str.substr(0, b.str.size()) == b.str);
        }
        default: return value::null();
    }
}

value evaluator::eval(const node& n) {
    switch (n.code) {
        case op::constant: return n.value_;
        case op::list: return n.value_;
        case op::account_field: return from_scalar(account_.get(n.field_));
        case op::account_id: return value::string(account_.id);
        case op::account_arr: {
            const auto* mrr = std::get_if<double>(&account_.get(model::profile_field::mrr));
            return mrr ? value::number(12 * *mrr) : value::null();
        }
        case op::account_first_seen:
            return account_.first_seen ? value::of_time(*account_.first_seen) : value::null();
        case op::account_attribute: return attribute(n);
        case op::goals_count: {
            // Changes with no new event when an open goal's due_at passes: noted.
            timestamp next;
            const auto goals = model::count_goals(account_, now_, next);
            note(next);
            return value::number(n.sub_ == 0 ? goals.overdue : goals.of(model::goal_status::achieved));
        }
        case op::alert_facts: return alert_fact(n);
        case op::let_ref: return let(n.index_);
        case op::score_value: return score(n.index_);
        case op::score_band: {
            std::int16_t b = band(n.index_);
            if (b < 0) return value::string("unknown");
            return value::string(program_.scores[n.index_].bands[static_cast<std::size_t>(b)].name);
        }
        case op::score_component: return component(n.index_, n.sub_);
        case op::classify_ref: return classification(n.index_);
        case op::item_field: return item_ ? field_of(*item_, n.sub_) : value::null();
        case op::now: return with_time(value::of_time(now_), 1, false);
        case op::logical_not: return value::boolean(!holds(eval(*n.args[0])));
        case op::negate: {
            value v = eval(*n.args[0]);
            if (v.k == kind::number) v.num = -v.num;
            else if (v.k == kind::duration) v.ms = -v.ms;
            else {
                if (v.dynamic && !v.is_null()) mismatch();
                return value::null();
            }
            v.slope = -v.slope;
            return v;
        }
        case op::logical_and: return value::boolean(holds(eval(*n.args[0])) && holds(eval(*n.args[1])));
        case op::logical_or: return value::boolean(holds(eval(*n.args[0])) || holds(eval(*n.args[1])));
        case op::eq:
        case op::ne:
        case op::lt:
        case op::le:
        case op::gt:
        case op::ge: {
            value a = eval(*n.args[0]);
            value b = eval(*n.args[1]);
            return compare(n, a, b);
        }
        case op::in: return membership(n);
        case op::coalesce: {
            value a = eval(*n.args[0]);
            return a.is_null() ? eval(*n.args[1]) : a;
        }
        case op::add:
        case op::sub:
        case op::mul:
        case op::div: {
            value a = eval(*n.args[0]);
            value b = eval(*n.args[1]);
            return arithmetic(n.code, a, b);
        }
        case op::conditional: return holds(eval(*n.args[0])) ? eval(*n.args[1]) : eval(*n.args[2]);
        case op::count:
        case op::sum:
        case op::avg:
        case op::min:
        case op::max:
        case op::first:
        case op::last:
        case op::distinct:
        case op::rate:
        case op::any:
        case op::all: return aggregate(n);
        case op::since_stream: return since_stream(n);
        case op::since_value: {
            value t = eval(*n.args[0]);
            if (t.k != kind::time) {
                if (t.dynamic && !t.is_null()) mismatch();
                return value::null();
            }
            return with_time(value::of_duration(duration{to_millis(now_) - t.ms}), 1 - t.slope, t.nonlinear);
        }
        case op::changed: return changed(n);
        case op::previous: return previous(n);
        default: return scalar_fn(n);
    }
}

}  // namespace redflag::rules::eval
