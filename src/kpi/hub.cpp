#include "kpi/hub.hpp"

#include <spdlog/spdlog.h>

namespace redflag::kpi {

// What a tracker last published; read by the hub at scrape.
struct shard_tracker::slot {
    mutable std::mutex mutex;
    aggregate published;
};

shard_tracker::shard_tracker(hub& owner) : hub_(owner), labels_(owner.labels_) {}

shard_tracker::inputs shard_tracker::inputs_of(const model::account_state& state) {
    using model::event_type;
    // Every type whose records a contribution reads (contribution.cpp).
    static constexpr std::array<event_type, 9> read{event_type::account,  event_type::contract, event_type::ticket,
                                                    event_type::nps,      event_type::csat,     event_type::milestone,
                                                    event_type::activity, event_type::goal,     event_type::spend};
    inputs in;
    for (std::size_t i = 0; i < read.size(); ++i)
        in.records[i] = static_cast<std::uint32_t>(state.stream(read[i]).size());
    in.first_seen = state.first_seen.value_or(timestamp{});
    return in;
}

bool shard_tracker::only_scores_may_differ(const inputs& memo, const model::account_state& state, timestamp at) const {
    if (memo.layout != layout_generation_ || at >= memo.next_change) return false;
    const auto now = inputs_of(state);
    return now.records == memo.records && now.first_seen == memo.first_seen;
}

bool shard_tracker::same_scores(const contribution& c, const account_input& account) const {
    if (layout_.health && *layout_.health < account.bands.size()) {
        auto b = account.bands[*layout_.health];
        auto id = b >= 0 && static_cast<std::size_t>(b) + 1 < layout_.health_bands.size()
                      ? layout_.health_bands[static_cast<std::size_t>(b) + 1]
                      : layout_.health_bands[0];
        if (id != c.band) return false;
    }
    for (std::size_t i = 0; i < c.score_bands.size() && i < account.bands.size(); ++i) {
        const auto& ids = layout_.score_bands[i];
        auto b = account.bands[i];
        auto id = b >= 0 && static_cast<std::size_t>(b) + 1 < ids.size() ? ids[static_cast<std::size_t>(b) + 1] : ids[0];
        if (id != c.score_bands[i]) return false;
    }
    for (std::size_t i = 0; i < c.class_labels.size() && i < account.classes.size(); ++i)
        if (account.classes[i] >= layout_.class_labels[i].size() ||
            layout_.class_labels[i][account.classes[i]] != c.class_labels[i])
            return false;
    if (hub_.per_account_series() && layout_.effort && *layout_.effort < account.scores.size()) {
        const double effort = account.scores[*layout_.effort];
        if (!(effort == c.effort || (std::isnan(effort) && std::isnan(c.effort)))) return false;
    }
    return true;
}

timestamp shard_tracker::on_evaluated(std::uint32_t index, const account_input& account, const rules::rule_set* rules,
                                      timestamp at) {
    if (!layout_ready_ || layout_.rules != rules) {
        layout_ = rule_layout(rules, labels_);
        layout_ready_ = true;
        ++layout_generation_;
    }
    if (index >= previous_.size()) {
        for (std::size_t i = previous_.size(); i <= index; ++i) hub_.count_new_account();
        previous_.resize(index + 1);
        inputs_.resize(index + 1);
    }
    auto& previous = previous_[index];
    auto& memo = inputs_[index];
    // The common case: nothing the KPIs read changed, no edge of the parts other than
    // the active users passed, and the account's bands, classes and alerts are as before.
    // Usage events are not among the records the memo counts (they are the bulk of the
    // traffic), and a user edge passes about daily per account: the active-user counts
    // are recounted (O(users)) and the cell's DAU/MAU move by the difference; the users'
    // next edge is the recount's own.
    if (previous.present && only_scores_may_differ(memo, account.state, at) && same_scores(previous, account)) {
        alert_entries(account.alerts, layout_, labels_, alert_scratch_);
        if (alert_scratch_ == previous.alerts) {
            const auto users = count_active_users(account.state, at, &memo.users_change);
            if (users != active_users{previous.users_day, previous.users_month}) {
                aggregate_.add_active_users(previous, std::int64_t{users.day} - previous.users_day,
                                            std::int64_t{users.month} - previous.users_month);
                previous.users_day = users.day;
                previous.users_month = users.month;
                changed_ = true;
            }
            return std::min(memo.next_change, memo.users_change);
        }
    }
    ++full_contributions_;
    next_changes next;
    contribute(account, at, hub_.config_, layout_, labels_, previous, scratch_, &next);
    memo = inputs_of(account.state);
    memo.next_change = next.others;
    memo.users_change = next.users;
    memo.layout = layout_generation_;
    const auto& config = hub_.config_;
    aggregate_.add(previous, -1, config);
    aggregate_.add(scratch_, +1, config);
    aggregate_.count_fired(previous, scratch_);
    aggregate_.count_first_value(previous, scratch_);
    aggregate_.count_acked(previous, scratch_);
    aggregate_.count_activated(previous, scratch_);
    aggregate_.count_tickets(previous, scratch_);
    std::swap(previous, scratch_);  // scratch_ keeps the old vectors' capacity for next time
    changed_ = true;

    if (hub_.per_account_series()) {
        if (!previous.company) update_series(index, account.state.id, previous);  // the company is no account
    }
    else if (!series_dropped_ && !series_.empty()) drop_series();
    return next.earliest();
}

void shard_tracker::on_forgotten(std::uint32_t index) {
    if (index >= previous_.size()) return;
    aggregate_.add(previous_[index], -1, hub_.config_);
    changed_ = true;
    if (index < series_.size()) {
        auto& s = series_[index];
        if (s.value) hub_.metrics_.account_value_family().Remove(s.value);
        if (s.effort) hub_.metrics_.account_effort_family().Remove(s.effort);
        s = account_series{};
    }
    previous_[index] = contribution{};
    inputs_[index] = inputs{};
    // Indices are forgotten from the highest down, so the tables shrink with them and a
    // later account given this index counts as new again.
    if (index + 1 == previous_.size()) {
        previous_.pop_back();
        inputs_.pop_back();
        hub_.count_forgotten_account();
    }
}

void shard_tracker::update_series(std::uint32_t index, const std::string& account, const contribution& c) {
    if (index >= series_.size()) series_.resize(index + 1);
    auto& s = series_[index];
    auto& values = hub_.metrics_.account_value_family();
    auto& efforts = hub_.metrics_.account_effort_family();
    if (!s.value || s.segment != c.segment || s.band != c.band) {
        // A new account or one that changed segment or band: its series move (rare, and
        // only with the option on, so Family::Add/Remove's lock is off the common path).
        if (s.value) values.Remove(s.value);
        if (s.effort) efforts.Remove(s.effort);
        s.effort = nullptr;
        const prometheus::Labels labels{{"account", account},
                                        {"segment", hub_.labels_.segment.name(c.segment)},
                                        {"health_band", hub_.labels_.band.name(c.band)}};
        s.value = &values.Add(labels);
        s.segment = c.segment;
        s.band = c.band;
        s.effort = std::isnan(c.effort) ? nullptr : &efforts.Add(labels);
    } else if (std::isnan(c.effort) != (s.effort == nullptr)) {
        if (s.effort) {
            efforts.Remove(s.effort);
            s.effort = nullptr;
        } else {
            s.effort = &efforts.Add({{"account", account},
                                     {"segment", hub_.labels_.segment.name(c.segment)},
                                     {"health_band", hub_.labels_.band.name(c.band)}});
        }
    }
    s.value->Set(from_money(c.mrr));
    if (s.effort) s.effort->Set(c.effort);
}

void shard_tracker::drop_series() {
    for (auto& s : series_) {
        if (s.value) hub_.metrics_.account_value_family().Remove(s.value);
        if (s.effort) hub_.metrics_.account_effort_family().Remove(s.effort);
    }
    series_.clear();
    series_.shrink_to_fit();
    series_dropped_ = true;
}

void shard_tracker::publish(bool force) {
    if (!changed_) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_publish_ < publish_interval) return;
    {
        std::lock_guard lock(slot_->mutex);
        slot_->published = aggregate_;
    }
    last_publish_ = now;
    changed_ = false;
}

hub::hub(settings config, prometheus::Registry& registry, int shards)
    : config_(std::move(config)), labels_(config_.label_cap), metrics_(registry, config_) {
    if (config_.stack.size() > max_stack_products)
        spdlog::warn("kpi.stack has {} products; KPIs cover the first {}", config_.stack.size(), max_stack_products);
    per_account_on_ = config_.per_account_metrics;
    for (int i = 0; i < std::max(1, shards); ++i) {
        slots_.push_back(std::make_unique<shard_tracker::slot>());
        trackers_.push_back(std::make_unique<shard_tracker>(*this));
        trackers_.back()->slot_ = slots_.back().get();
    }
}

hub::~hub() = default;

void hub::count_new_account() {
    auto n = accounts_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n > config_.per_account_limit && per_account_on_.exchange(false)) {
        spdlog::error("kpi.per_account_metrics: {} accounts is above the limit of {}; per-account series are off "
                      "until a restart with the option removed",
                      n, config_.per_account_limit);
    }
}

aggregate hub::merged() const {
    aggregate sum;
    for (const auto& s : slots_) {
        std::lock_guard lock(s->mutex);
        sum.merge(s->published);
    }
    return sum;
}

void hub::refresh_metrics() {
    std::lock_guard lock(refresh_mutex_);
    metrics_.expose(merged(), labels_);
}

}  // namespace redflag::kpi
