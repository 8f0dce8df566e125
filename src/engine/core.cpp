#include "engine/core.hpp"

#include "alerts/facts.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace redflag::engine {
namespace {

// Grid indices may be negative (instants before the origin); the wheel counts unsigned
// ticks, so index k is wheel tick k + bias. Indices are clamped to ±bias.
constexpr std::int64_t bias = std::int64_t{1} << 62;

std::int64_t clamp_index(__int128 k) {
    if (k > bias - 1) return bias - 1;
    if (k < -bias) return -bias;
    return static_cast<std::int64_t>(k);
}

timer_wheel::tick_type to_wheel(std::int64_t k) { return static_cast<timer_wheel::tick_type>(k + bias); }
std::int64_t from_wheel(timer_wheel::tick_type w) { return static_cast<std::int64_t>(w) - bias; }

class account_repeats final : public alerts::repeat_source {
public:
    account_repeats(const rules::rule_set& rules, const model::account_state& account)
        : rules_(rules), account_(account) {}
    std::optional<duration> repeat_interval(std::size_t rule_index, timestamp now) const override {
        return rules_.repeat_interval(rule_index, account_, now);
    }

private:
    const rules::rule_set& rules_;
    const model::account_state& account_;
};

// Whether some rule reads alerts.* (only then are alert facts computed and followed).
bool reads_alerts(std::span<const rules::rule_definition> rules) {
    return std::any_of(rules.begin(), rules.end(), [](const rules::rule_definition& r) { return r.reads_alerts; });
}

}  // namespace

core::core(std::shared_ptr<const rules::rule_set> rules, core_options options)
    : rules_(std::move(rules)), options_(options), wheel_(0) {
    if (options_.tick <= duration::zero()) options_.tick = hour;
    if (rules_) scratch_ = rules_->make_evaluation();
    reads_alerts_ = rules_ && reads_alerts(rules_->rules());
    reset_statistics();
}

void core::reset_statistics() {
    stats_.evaluations = 0;
    stats_.runtime_errors.assign(rule_definitions().size(), 0);
    stats_.duration_buckets.assign(options_.eval_duration_buckets.empty() ? 0 : options_.eval_duration_buckets.size() + 1, 0);
    stats_.duration_sum = 0;
}

void core::clear_statistics() {
    if (stats_.empty()) return;
    stats_.evaluations = 0;
    std::fill(stats_.runtime_errors.begin(), stats_.runtime_errors.end(), 0);
    std::fill(stats_.duration_buckets.begin(), stats_.duration_buckets.end(), 0);
    stats_.duration_sum = 0;
}

void core::time_evaluation(std::chrono::steady_clock::time_point start, std::uint32_t rules_computed) {
    if (rules_computed == 0) return;  // everything reused: no rule was evaluated
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / rules_computed;
    const auto& bounds = options_.eval_duration_buckets;
    auto bucket = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
    stats_.duration_buckets[bucket] += rules_computed;
    stats_.duration_sum += seconds * rules_computed;
}

std::span<const rules::rule_definition> core::rule_definitions() const {
    if (!rules_) return {};
    return rules_->rules();
}

std::int64_t core::floor_index(timestamp t) const {
    __int128 diff = static_cast<__int128>(to_millis(t)) - to_millis(options_.grid_origin);
    __int128 step = options_.tick.count();
    __int128 q = diff / step;
    if (diff % step != 0 && diff < 0) --q;
    return clamp_index(q);
}

std::int64_t core::ceil_index(timestamp t) const {
    __int128 diff = static_cast<__int128>(to_millis(t)) - to_millis(options_.grid_origin);
    __int128 step = options_.tick.count();
    __int128 q = diff / step;
    if (diff % step != 0 && diff > 0) ++q;
    return clamp_index(q);
}

timestamp core::index_time(std::int64_t k) const {
    __int128 ms = static_cast<__int128>(to_millis(options_.grid_origin)) + static_cast<__int128>(k) * options_.tick.count();
    if (ms > std::numeric_limits<std::int64_t>::max()) return timestamp_max;
    if (ms < std::numeric_limits<std::int64_t>::min()) return timestamp_min;
    return from_millis(static_cast<std::int64_t>(ms));
}

timestamp core::grid_ceil(timestamp t) const { return index_time(ceil_index(t)); }
timestamp core::grid_floor(timestamp t) const { return index_time(floor_index(t)); }

std::uint32_t core::lookup(std::string_view account) const {
    return index_.find(account, account_index::hash(account),
                       [this](std::uint32_t i) -> std::string_view { return accounts_[i].state.id; });
}

namespace {

void prefetch_bytes(const void* begin, std::size_t size) {
    constexpr std::size_t line = 64;
    const auto* p = static_cast<const char*>(begin);
    for (std::size_t at = 0; at < size; at += line) __builtin_prefetch(p + at);
}

// The first bytes of a vector or span.
template <class Contiguous>
void prefetch_front(const Contiguous& v) {
    if (!v.empty()) prefetch_bytes(v.data(), std::min<std::size_t>(v.size() * sizeof(v[0]), 256));
}

// The newest end of a vector sorted by time, which windows read.
template <class T>
void prefetch_tail(const std::vector<T>& v) {
    std::size_t bytes = std::min<std::size_t>(v.size() * sizeof(T), 256);
    prefetch_bytes(reinterpret_cast<const char*>(v.data() + v.size()) - bytes, bytes);
}

}  // namespace

std::uint64_t core::prefetch_slot(std::string_view account) const {
    std::uint64_t h = account_index::hash(account);
    if (const void* slot = index_.probe_start(h)) __builtin_prefetch(slot);
    return h;
}

std::uint32_t core::prefetch_record(std::uint64_t hash) const {
    std::uint32_t index = index_.find_hash(hash);
    if (index == account_index::none || index >= accounts_.size()) return no_account;
    prefetch_bytes(&accounts_[index], sizeof(account_record));
    return index;
}

void core::prefetch_contents(std::uint32_t index) const {
    if (index == no_account || index >= accounts_.size()) return;
    const account_record& r = accounts_[index];
    if (const void* memo = r.memo.data()) __builtin_prefetch(memo);
    prefetch_front(r.alerts.active());
    const model::account_state& s = r.state;
    prefetch_front(s.users);
    prefetch_front(s.tickets);
    for (const auto& stream : s.streams())
        if (!stream.records.empty()) __builtin_prefetch(&stream.records.back());
    if (!s.usage.empty()) __builtin_prefetch(&*s.usage.begin());  // the series' map node
}

void core::prefetch_series(std::uint32_t index) const {
    if (index == no_account || index >= accounts_.size()) return;
    const model::account_state& s = accounts_[index].state;
    if (!s.usage.empty()) prefetch_tail(s.usage.begin()->second.points);
}

std::uint32_t core::find_or_create(std::string_view account) {
    std::uint64_t h = account_index::hash(account);
    std::uint32_t found =
        index_.find(account, h, [this](std::uint32_t i) -> std::string_view { return accounts_[i].state.id; });
    if (found != account_index::none) return found;
    auto index = static_cast<std::uint32_t>(accounts_.size());
    auto& record = accounts_.emplace_back();
    record.state.id = std::string(account);
    index_.insert(h, index);
    return index;
}

const account_record& core::apply(const model::event& e) { return apply(e, e.at); }

const account_record& core::apply(const model::event& e, timestamp evaluate_at) {
    std::uint32_t index = find_or_create(e.account);
    journal(index, true);
    auto& record = accounts_[index];
    if (rules_) record.changed_inputs |= rules_->inputs_changed_by(e, record.state);
    record.state.apply(e);
    timestamp at = std::max(evaluate_at, now_);
    if (record.evaluated_at) at = std::max(at, *record.evaluated_at);
    now_ = at;
    evaluate_account(index, at);
    return record;
}

void core::evaluate_account(std::uint32_t index, timestamp at, bool again) {
    journal(index, false);
    auto& record = accounts_[index];
    record.evaluated_at = at;
    ++evaluations_;
    ++stats_.evaluations;
    // The company's internal account (model::company_account: spend) is no customer: no
    // rule reads it and it raises no alert; the observer still sees it (the KPIs' spend).
    if (!rules_ || model::is_company(record.state.id)) {
        record.next_change = timestamp_max;
        observe(index, at);
        reschedule(index, at);
        return;
    }
    const auto& memo = record.memo;
    rules::previous_evaluation previous{record.changed_inputs, memo.conditions(), memo.scores(), memo.bands(), memo.classes(), memo.item_next(), memo.components()};
    // alerts.unacked / alerts.unacked_for: from the alerts as they are before this evaluation.
    const bool facts_read = reads_alerts_;
    rules::alert_facts facts;
    if (facts_read) facts = alerts::unacked_facts(record.alerts.active(), rules_->rules(), at);
    const bool timed = !options_.eval_duration_buckets.empty();
    const auto started = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    rules_->evaluate(record.state, at, options_.tick, scratch_, &previous, facts_read ? &facts : nullptr);
    if (timed) time_evaluation(started, scratch_.items_evaluated);
    for (std::size_t r = 0; r < scratch_.runtime_errors.size() && r < stats_.runtime_errors.size(); ++r)
        stats_.runtime_errors[r] += scratch_.runtime_errors[r];
    // assign() reuses the record's block once it has the set's sizes.
    record.memo.assign(scratch_);
    record.changed_inputs = 0;
    record.next_change = scratch_.next_change;
    items_evaluated_ += scratch_.items_evaluated;

    auto definitions = rules_->rules();
    std::size_t first_new = events_.size();
    std::size_t count = std::min(definitions.size(), scratch_.conditions.size());
    if (!record.alerts.empty() || std::any_of(scratch_.conditions.begin(), scratch_.conditions.begin() + count,
                                              [](std::uint8_t c) { return c != 0; })) {
        account_repeats repeats(*rules_, record.state);
        for (std::size_t i = 0; i < count; ++i) {
            bool condition = scratch_.conditions[i] != 0;
            if (condition || record.alerts.has(i))
                record.alerts.evaluate(i, definitions[i], record.state.id, condition, at, repeats, events_);
        }
        wake_snoozed(record.alerts, record.state, at, repeats);
        // After the wakes, so that a woken alert's notice is held like any while inhibited.
        record.alerts.apply_inhibitions(definitions, at, first_new, events_);
    }
    if (options_.render_messages) {
        for (std::size_t i = first_new; i < events_.size(); ++i) {
            auto& e = events_[i];
            if (e.kind == alerts::event_kind::acknowledged || e.kind == alerts::event_kind::snoozed) continue;
            e.message = rules_->render_message(e.record.rule_index, record.state, e.at, facts_read ? &facts : nullptr);
            if (e.kind == alerts::event_kind::woke && !e.record.snoozes.empty())
                e.message = "Woke from snooze: " + e.record.snoozes.back().woke_why +
                            (e.message.empty() ? std::string() : ". " + e.message);
        }
    }
    // An alert that began firing, resolved or woke changes the facts: the rules reading
    // them are evaluated again at the same instant. Once is enough: their own alerts are
    // not counted (alerts/facts.hpp), so that second pass cannot change the facts again.
    if (facts_read && !again && alerts::unacked_facts(record.alerts.active(), rules_->rules(), at) != facts) {
        record.changed_inputs |= rules::alert_facts::changed_input;
        evaluate_account(index, at, true);
        return;
    }
    observe(index, at);
    reschedule(index, at);
}

const rules::condition* core::wake_condition(const std::string& text) {
    if (wake_rules_ != rules_) {
        wake_conditions_.clear();
        wake_rules_ = rules_;
    }
    auto it = wake_conditions_.find(text);
    if (it == wake_conditions_.end()) {
        auto compiled = rules::compile_condition(text, "wake_if", rules_.get());
        if (!compiled.compiled)
            spdlog::warn("a snooze's wake_if \"{}\" no longer compiles against the rules ({}); it will not wake early",
                         text, compiled.problems.empty() ? "?" : compiled.problems.front().message);
        // Bounded: snoozes with distinct conditions are few; a flood must not grow it without end.
        if (wake_conditions_.size() >= 10000) wake_conditions_.clear();
        it = wake_conditions_.emplace(text, std::shared_ptr<const rules::condition>(std::move(compiled.compiled))).first;
    }
    return it->second.get();
}

void core::wake_snoozed(alerts::alert_set& alerts, const model::account_state& state, timestamp at,
                        const alerts::repeat_source& repeats) {
    if (!rules_) return;
    auto definitions = rules_->rules();
    for (const auto& a : alerts.active()) {
        const auto* snooze = a.snoozed_at(at);
        if (!snooze || snooze->wake_if.empty() || a.rule_index >= definitions.size()) continue;
        const auto* condition = wake_condition(snooze->wake_if);
        if (!condition || !condition->holds(state, at)) continue;
        std::string id = a.id;  // wake() changes the alert
        // wake() changes the alert's fields in place, never the set: the walk goes on.
        alerts.wake(id, definitions[a.rule_index], at, "wake_if " + snooze->wake_if + " turned true", repeats, events_);
    }
}

void core::observe(std::uint32_t index, timestamp at) {
    if (!options_.observer) return;
    auto& record = accounts_[index];
    record.next_change = std::min(record.next_change, options_.observer->evaluated(index, record, rules_.get(), at));
}

void core::reschedule(std::uint32_t index, timestamp after) {
    auto& record = accounts_[index];
    timestamp wake = std::min(record.next_change, record.alerts.next_deadline(rule_definitions()));
    if (wake == timestamp_max) {
        record.wake = timestamp_max;
        wheel_.cancel(index);
        return;
    }
    // Always strictly later than the evaluation just made, so a wake can never fire at
    // the same instant again and again.
    if (wake <= after) wake = after + duration{1};
    std::int64_t k = ceil_index(wake);
    timestamp at = index_time(k);
    if (record.wake == at && wheel_.scheduled(index)) return;
    record.wake = at;
    wheel_.schedule(index, to_wheel(k));
}

void core::advance_to(timestamp t) {
    if (t < now_) return;
    auto target = to_wheel(floor_index(t));
    // Woken accounts are as cold as those of events: the next two in the slot are
    // prefetched as replay prefetches the accounts of the next lines.
    auto look_ahead = [this](timer_wheel::id_type soon, timer_wheel::id_type later) {
        prefetch_contents(soon);
        if (later < accounts_.size()) prefetch_bytes(&accounts_[later], sizeof(account_record));
    };
    wheel_.poll(target, [&](timer_wheel::id_type id, timer_wheel::tick_type when) {
        auto& record = accounts_[id];
        record.wake = timestamp_max;
        timestamp at = std::max(index_time(from_wheel(when)), now_);
        if (record.evaluated_at) at = std::max(at, *record.evaluated_at);
        now_ = at;
        evaluate_account(id, at);
    }, look_ahead);
    now_ = std::max(now_, t);
}

std::optional<timestamp> core::next_wake() const {
    auto next = wheel_.next_expiration();
    if (!next) return std::nullopt;
    // Above level 0 the wheel gives a slot's first tick: an instant at or before the
    // earliest wake, which is what a sleeping driver needs.
    return index_time(from_wheel(*next));
}

void core::swap_rules(std::shared_ptr<const rules::rule_set> next) {
    auto old_rules = rule_definitions();
    std::span<const rules::rule_definition> new_rules;
    if (next) new_rules = next->rules();
    // Old index → new index, or -1 when the rule is gone or changed.
    std::vector<std::int64_t> mapping(old_rules.size(), -1);
    for (std::size_t i = 0; i < old_rules.size(); ++i) {
        if (!next) break;
        auto j = next->find_rule(old_rules[i].name);
        if (j && new_rules[*j].fingerprint == old_rules[i].fingerprint) mapping[i] = static_cast<std::int64_t>(*j);
    }
    timestamp at = now_;
    for (auto& record : accounts_) {
        if (record.alerts.empty()) continue;
        std::vector<std::uint32_t> gone;
        for (auto& a : record.alerts.active_mutable()) {
            if (a.rule_index < mapping.size() && mapping[a.rule_index] >= 0) continue;
            gone.push_back(a.rule_index);
        }
        for (auto index : gone) {
            std::size_t first_new = events_.size();
            record.alerts.resolve_silently(index, std::max(at, record.evaluated_at.value_or(at)), events_);
            // Messages cannot be rendered with a rule set that no longer has the rule.
            for (std::size_t i = first_new; i < events_.size(); ++i) events_[i].message.clear();
        }
        for (auto& a : record.alerts.active_mutable()) a.rule_index = static_cast<std::uint32_t>(mapping[a.rule_index]);
    }
    rules_ = std::move(next);
    reads_alerts_ = rules_ && reads_alerts(rules_->rules());
    scratch_ = rules_ ? rules_->make_evaluation() : rules::evaluation{};
    reset_statistics();
    for (auto& record : accounts_) {
        record.memo.clear();
        record.changed_inputs = ~std::uint64_t{0};
    }
    reevaluate_all();
}

void core::restore(model::account_state state, std::vector<alerts::alert> active) {
    std::uint32_t index = find_or_create(state.id);
    auto& record = accounts_[index];
    record.state = std::move(state);
    record.changed_inputs = ~std::uint64_t{0};
    auto definitions = rule_definitions();
    for (auto& a : active) {
        std::optional<std::size_t> rule;
        if (rules_) rule = rules_->find_rule(a.rule);
        if (rule && definitions[*rule].fingerprint == a.rule_fingerprint && a.active()) {
            a.rule_index = static_cast<std::uint32_t>(*rule);
            record.alerts.erase(*rule);
            record.alerts.restore(std::move(a));
            continue;
        }
        if (!a.active()) continue;
        // Its rule is gone or changed: finish it silently, as a reload would.
        timestamp at = std::max(now_, record.state.latest_at);
        alerts::alert_state to = a.state == alerts::alert_state::pending ? alerts::alert_state::inactive
                                                                         : alerts::alert_state::resolved;
        auto& e = events_.emplace_back();
        e.kind = alerts::event_kind::transition;
        e.from = a.state;
        e.to = to;
        e.at = at;
        e.notify = false;
        a.transitions.push_back({a.state, to, at});
        a.state = to;
        if (to == alerts::alert_state::resolved) a.resolved_at = at;
        a.next_repeat.reset();
        e.record = std::move(a);
    }
}

void core::expire_before(timestamp cutoff) {
    for (auto& record : accounts_) {
        record.state.expire(cutoff);
        record.changed_inputs = ~std::uint64_t{0};  // unwindowed aggregates may have lost items
    }
}

void core::reevaluate_all() {
    for (std::uint32_t i = 0; i < accounts_.size(); ++i) {
        auto& record = accounts_[i];
        timestamp at = now_ == timestamp_min ? record.state.latest_at : now_;
        if (record.evaluated_at) at = std::max(at, *record.evaluated_at);
        evaluate_account(i, at);
    }
}

bool core::acknowledge(std::string_view account, std::string_view alert_id, alerts::acknowledgement ack) {
    std::uint32_t index = lookup(account);
    if (index == account_index::none) return false;
    journal(index, false);
    auto& record = accounts_[index];
    const timestamp acked_at = ack.at;
    if (!record.alerts.acknowledge(alert_id, std::move(ack), events_)) return false;
    if (reevaluate_for_alerts(index, acked_at)) return true;
    // The KPIs count acknowledgements (redflag_alert_ack_seconds, redflag_alerts_unacked).
    observe(index, record.evaluated_at.value_or(now_));
    reschedule(index, record.evaluated_at.value_or(now_));
    return true;
}

bool core::snooze(std::string_view account, std::string_view alert_id, alerts::snooze s) {
    std::uint32_t index = lookup(account);
    if (index == account_index::none) return false;
    journal(index, false);
    auto& record = accounts_[index];
    const timestamp snoozed_at = s.at;
    if (!record.alerts.snooze(alert_id, std::move(s), events_)) return false;
    if (reevaluate_for_alerts(index, snoozed_at)) return true;
    reschedule(index, record.evaluated_at.value_or(now_));
    return true;
}

bool core::reevaluate_for_alerts(std::uint32_t index, timestamp acted_at) {
    if (!rules_ || !reads_alerts_) return false;
    auto& record = accounts_[index];
    // An ack or snooze answers the alert: rules reading alerts.* (the team lead's
    // "unresponsive CSM") see it now, not at the account's next wake. Never back in time.
    timestamp at = std::max(acted_at, now_);
    if (record.evaluated_at) at = std::max(at, *record.evaluated_at);
    now_ = at;
    record.changed_inputs |= rules::alert_facts::changed_input;
    evaluate_account(index, at);
    return true;
}

void core::begin_round() {
    journal_.clear();
    round_ = ++rounds_begun_;
    round_accounts_ = accounts_.size();
    round_events_ = events_.size();
}

void core::commit_round() {
    round_ = 0;
    journal_.clear();
}

void core::journal_slow(std::uint32_t index, bool state) {
    auto& record = accounts_[index];
    if (record.journal_round != round_) {
        record.journal_round = round_;
        record.journal_slot = static_cast<std::uint32_t>(journal_.size());
        journal_.push_back({index, state, record.alerts});
        return;
    }
    if (state) journal_[record.journal_slot].state_changed = true;
}

void core::make_due(std::uint32_t index) {
    auto& record = accounts_[index];
    // Nothing of the last evaluation may be reused, and it is evaluated at the next
    // advance_to() (a deadline in the wheel's past fires at its next poll).
    record.memo.clear();
    record.changed_inputs = ~std::uint64_t{0};
    std::int64_t k = now_ == timestamp_min ? floor_index(record.state.latest_at) : floor_index(now_);
    record.wake = index_time(k);
    wheel_.schedule(index, to_wheel(k));
}

void core::forget_created(std::size_t first_created) {
    while (accounts_.size() > first_created) {
        auto index = static_cast<std::uint32_t>(accounts_.size() - 1);
        auto& record = accounts_.back();
        wheel_.cancel(index);
        index_.erase(account_index::hash(record.state.id), index);
        if (options_.observer) options_.observer->forgotten(index);
        accounts_.pop_back();
    }
}

std::vector<std::string> core::rollback_round(const durable_state& durable) {
    std::vector<std::string> unreadable;
    if (round_ == 0) return unreadable;
    if (events_.size() > round_events_) events_.resize(round_events_);
    for (auto& entry : journal_) {
        if (entry.index >= round_accounts_) continue;  // created by the round: removed below
        auto& record = accounts_[entry.index];
        record.alerts = std::move(entry.alerts);
        record.journal_round = 0;
        if (entry.state_changed) {
            auto state = durable(record.state.id);
            if (state) record.state = std::move(*state);
            else unreadable.push_back(record.state.id);
        }
        make_due(entry.index);
    }
    forget_created(round_accounts_);
    round_ = 0;
    journal_.clear();
    return unreadable;
}

bool core::reload(model::account_state state) {
    std::uint32_t index = lookup(state.id);
    if (index == account_index::none) return false;
    accounts_[index].state = std::move(state);
    make_due(index);
    return true;
}

const account_record* core::find(std::string_view account) const {
    std::uint32_t index = lookup(account);
    return index == account_index::none ? nullptr : &accounts_[index];
}

std::optional<score_reading> core::score(std::string_view account, std::string_view score_name) const {
    const auto* record = find(account);
    if (record == nullptr || !rules_) return std::nullopt;
    auto scores = rules_->scores();
    for (std::size_t i = 0; i < scores.size(); ++i) {
        if (scores[i].name != score_name) continue;
        if (i >= record->scores().size()) return std::nullopt;  // never evaluated
        score_reading reading;
        if (!std::isnan(record->scores()[i])) reading.value = record->scores()[i];
        auto band = record->bands()[i];
        reading.band = band >= 0 && static_cast<std::size_t>(band) < scores[i].bands.size()
                           ? std::string_view(scores[i].bands[static_cast<std::size_t>(band)])
                           : std::string_view("unknown");
        return reading;
    }
    return std::nullopt;
}

std::optional<std::string_view> core::classification(std::string_view account, std::string_view name) const {
    const auto* record = find(account);
    if (record == nullptr || !rules_) return std::nullopt;
    auto classes = rules_->classifications();
    for (std::size_t i = 0; i < classes.size(); ++i) {
        if (classes[i].name != name) continue;
        if (i >= record->classes().size()) return std::nullopt;
        auto label = record->classes()[i];
        if (label >= classes[i].labels.size()) return std::nullopt;
        return std::string_view(classes[i].labels[label]);
    }
    return std::nullopt;
}

}  // namespace redflag::engine
