#include "engine/service.hpp"

#include "alerts/codec.hpp"
#include "alerts/index.hpp"
#include "alerts/record.hpp"
#include "delivery/cards.hpp"
#include "engine/service_shard.hpp"

namespace redflag::engine {

bool service::write_alert_events(shard& s, store::write_batch& batch) {
    put_alert_events(s, batch);
    if (batch.empty()) return true;
    if (auto st = store_.write(batch); !st.ok()) {
        metrics_.store_write_failures(failure_reason(st)).Increment();
        // The alert events stay in the core and go with the next batch that is written.
        spdlog::error("shard {}: writing alert transitions failed (retried with the next write): {}", s.index,
                      st.message());
        s.outbox.clear();
        return false;
    }
    alert_events_durable(s);
    return true;
}

void service::set_delivery(std::shared_ptr<const alerts::notification_builder> builder, delivery::outbox_sink* sink) {
    outbox_sink_ = sink;
    set_notification_builder(std::move(builder));
}

void service::set_notification_builder(std::shared_ptr<const alerts::notification_builder> builder) {
    std::lock_guard lock(rules_mutex_);
    builder_ = std::move(builder);
    ++builder_generation_;
}

void service::hand_off_outbox(shard& s) {
    if (s.outbox.empty()) return;
    if (outbox_sink_) outbox_sink_->enqueue(std::move(s.outbox));
    s.outbox.clear();
}

void service::put_alert_events(shard& s, store::write_batch& batch) {
    auto& events = s.engine->events();
    s.index_entries.clear();  // those of a batch that failed: its events are put again
    if (events.empty()) return;
    const auto rules = s.engine->rules();
    if (auto generation = builder_generation_.load(std::memory_order_acquire); generation != s.builder_generation) {
        std::lock_guard lock(rules_mutex_);
        s.builder = builder_;
        s.builder_generation = builder_generation_.load();
    }
    const auto created_at = clock_.now();
    for (const auto& e : events) {
        const auto* record = s.engine->find(e.record.account);
        auto made = alerts::make_record(e, record ? &record->state : nullptr);
        batch.put(store::column::alerts, e.record.id, alerts::encode_record(made));
        if (alert_index_) s.index_entries.push_back(alerts::index_entry::of(made));
        // Its notifications, in the same batch: no transition without them.
        if (s.builder && rules && e.record.rule_index < rules->rules().size() &&
            rules->rules()[e.record.rule_index].name == e.record.rule &&
            (!notifies_for_ || notifies_for_(e.record.account))) {
            if (s.builder->build(e, rules->rules()[e.record.rule_index], record ? &record->state : nullptr,
                                 created_at, s.notification, s.targets))
                delivery::put_records(s.notification, s.targets, batch, s.outbox, s.record_scratch);
        }
        // A resolve that notifies nobody (`resolve silent`, a rule a reload removed or
        // changed, a recovery held by an inhibition) still rewrites the cards it had.
        if (e.kind == alerts::event_kind::transition && e.from == alerts::alert_state::firing &&
            e.to == alerts::alert_state::resolved && !e.notify && outbox_sink_ &&
            (!notifies_for_ || notifies_for_(e.record.account)))
            put_silent_resolve(s, e, created_at, batch);
    }
}

void service::put_silent_resolve(shard& s, const alerts::alert_event& e, timestamp created_at,
                                 store::write_batch& batch) {
    auto cards = delivery::posted_cards(store_, e.record.id);
    if (!cards.ok()) {
        spdlog::error("alert {}: reading its Slack cards failed; they are not rewritten as resolved: {}", e.record.id,
                      cards.error().message());
        return;
    }
    for (const auto& card : cards.value()) {
        auto entry = delivery::card_rewrite(card, delivery::notice_kind::resolved_silently,
                                            e.record.id + "-resolved-silently", e.at, created_at);
        entry.n.resolved_at = e.at;
        batch.put(store::column::outbox, entry.storage_key, delivery::serialize(entry));
        s.outbox.push_back(delivery::ref_of(entry));
    }
}

void service::alert_events_durable(shard& s) {
    refresh_rule_handles(s);
    for (const auto& e : s.engine->events()) {
        if (e.kind != alerts::event_kind::transition) continue;
        // The rule's handles; an alert of a rule a reload removed has none (rare: by labels).
        const auto* rules = s.handles_for;
        const shard::rule_handles* h = nullptr;
        if (rules && e.record.rule_index < s.handles.size() && rules->rules()[e.record.rule_index].name == e.record.rule)
            h = &s.handles[e.record.rule_index];
        auto severity = [&] { return std::string(alerts::name_of(e.record.severity)); };
        auto gauge = [&](alerts::alert_state state) -> prometheus::Gauge& {
            if (h) return state == alerts::alert_state::pending ? *h->pending : *h->firing;
            return metrics_.alerts(e.record.rule, severity(), std::string(alerts::name_of(state)));
        };
        if (e.from == alerts::alert_state::pending || e.from == alerts::alert_state::firing) gauge(e.from).Decrement();
        if (e.to == alerts::alert_state::pending || e.to == alerts::alert_state::firing) gauge(e.to).Increment();
        if (e.to == alerts::alert_state::firing) (h ? *h->fired : metrics_.alerts_fired(e.record.rule, severity())).Increment();
        // Firing and resolving are what an operator follows; pending and its cancellation
        // (often within one batch of a new account's events) are detail.
        bool detail = e.to == alerts::alert_state::pending || e.to == alerts::alert_state::inactive;
        spdlog::log(detail ? spdlog::level::debug : spdlog::level::info, "alert {} {} → {}: rule {} account {} at {}{}{}",
                    e.record.id, alerts::name_of(e.from), alerts::name_of(e.to), e.record.rule, e.record.account,
                    format_rfc3339(e.at), e.message.empty() ? "" : ": ", e.message);
    }
    s.engine->clear_events();
    if (alert_index_) alert_index_->put_all(s.index_entries);
    s.index_entries.clear();
    hand_off_outbox(s);
}

void service::refresh_rule_handles(shard& s) {
    const auto* rules = s.engine->rules().get();
    if (rules == s.handles_for && (rules || s.handles.empty())) return;
    s.handles_for = rules;
    s.handles.clear();
    if (!rules) return;
    for (const auto& r : rules->rules()) {
        auto severity = std::string(alerts::name_of(r.severity));
        s.handles.push_back({&metrics_.rule_evaluations(r.name), &metrics_.rule_runtime_errors(r.name),
                             &metrics_.alerts(r.name, severity, "pending"), &metrics_.alerts(r.name, severity, "firing"),
                             &metrics_.alerts_fired(r.name, severity)});
    }
}

void service::publish_rule_statistics(shard& s) {
    const auto& stats = s.engine->statistics();
    if (stats.empty()) return;
    refresh_rule_handles(s);
    // Every evaluation of an account evaluates its rule set: each rule counts it, whether
    // its condition was computed or reused because none of its inputs changed.
    for (std::size_t r = 0; r < s.handles.size(); ++r) {
        s.handles[r].evaluations->Increment(double(stats.evaluations));
        if (r < stats.runtime_errors.size() && stats.runtime_errors[r])
            s.handles[r].runtime_errors->Increment(double(stats.runtime_errors[r]));
    }
    if (stats.duration_sum > 0) {
        s.bucket_scratch.assign(stats.duration_buckets.begin(), stats.duration_buckets.end());
        metrics_.rule_eval_duration().ObserveMultiple(s.bucket_scratch, stats.duration_sum);
    }
    s.engine->clear_statistics();
}

}  // namespace redflag::engine
