// Shared pieces of the delivery tests: a temporary store, a scriptable in-test channel
// sender, a thread-safe settable clock and notification factories.
#pragma once

#include "core/time.hpp"
#include "delivery/channel.hpp"
#include "delivery/outbox.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include <unistd.h>

namespace redflag::delivery::testing {

inline const timestamp t0 = *parse_rfc3339("2026-11-02T09:00:00Z");

// A clock tests move by hand while dispatcher threads read it.
class settable_clock final : public clock {
public:
    explicit settable_clock(timestamp start) : ms_(to_millis(start)) {}
    timestamp now() const override { return from_millis(ms_.load()); }
    void set(timestamp t) { ms_ = to_millis(t); }
    void advance(duration d) { ms_ += d.count(); }

private:
    std::atomic<std::int64_t> ms_;
};

// A channel sender that records every attempt and answers from a script (then `sent`).
// With hold() it blocks every attempt until release(): a channel whose peer hangs.
class fake_sender final : public channel_sender {
public:
    struct attempt {
        notification n;
        std::string thread_ts;
        std::chrono::steady_clock::time_point when;
    };

    send_result send(const notification& n, const std::string& thread_ts) override {
        std::unique_lock lock(mutex_);
        attempts_.push_back({n, thread_ts, std::chrono::steady_clock::now()});
        changed_.notify_all();
        changed_.wait(lock, [&] { return !held_; });
        return next_result(n);
    }

    send_result send_digest(std::span<const notification> batch) override {
        std::unique_lock lock(mutex_);
        digests_.emplace_back(batch.begin(), batch.end());
        changed_.notify_all();
        if (script_.empty()) return send_result::ok();
        auto r = script_.front();
        script_.pop_front();
        return r;
    }

    duration min_interval() const override { return interval_; }

    // Grouping (after group_by_account()): every send_group is recorded with the group it
    // was handed and answered from the same script; a card posted (the group had no
    // thread) gets the thread "card-<key>".
    struct group_attempt {
        group_card group;
        notification n;
    };
    bool groups_by_account() const override { return grouping_; }
    send_result send_group(const group_card& group, const notification& n) override {
        std::lock_guard lock(mutex_);
        group_attempts_.push_back({group, n});
        changed_.notify_all();
        send_result r = send_result::ok();
        if (!script_.empty()) {
            r = script_.front();
            script_.pop_front();
        }
        if (r.result == send_result::outcome::sent && group.thread.empty()) r.thread_ts = "card-" + n.key;
        return r;
    }
    void group_by_account() { grouping_ = true; }
    std::vector<group_attempt> group_attempts() const {
        std::lock_guard lock(mutex_);
        return group_attempts_;
    }

    // Re-posting (an Alertmanager channel): every resend() is recorded and answered with
    // the next of script_resends(), then `sent`.
    duration resend_interval() const override { return resend_interval_; }
    send_result resend(std::span<const notification> alerts) override {
        std::lock_guard lock(mutex_);
        resends_.emplace_back(alerts.begin(), alerts.end());
        changed_.notify_all();
        if (resend_script_.empty()) return send_result::ok();
        auto r = resend_script_.front();
        resend_script_.pop_front();
        return r;
    }
    void set_resend_interval(duration d) { resend_interval_ = d; }
    void script_resends(std::vector<send_result> results) {
        std::lock_guard lock(mutex_);
        for (auto& r : results) resend_script_.push_back(std::move(r));
    }
    std::vector<std::vector<notification>> resends() const {
        std::lock_guard lock(mutex_);
        return resends_;
    }
    std::size_t resend_count() const {
        std::lock_guard lock(mutex_);
        return resends_.size();
    }

    void script(std::vector<send_result> results) {
        std::lock_guard lock(mutex_);
        for (auto& r : results) script_.push_back(std::move(r));
    }
    // Gives every message on its first send the thread ts "ts-<key>".
    void give_threads() { threads_ = true; }
    void set_interval(duration d) { interval_ = d; }
    void hold() {
        std::lock_guard lock(mutex_);
        held_ = true;
    }
    void release() {
        {
            std::lock_guard lock(mutex_);
            held_ = false;
        }
        changed_.notify_all();
    }
    std::vector<attempt> attempts() const {
        std::lock_guard lock(mutex_);
        return attempts_;
    }
    std::vector<std::vector<notification>> digests() const {
        std::lock_guard lock(mutex_);
        return digests_;
    }
    std::size_t attempt_count() const {
        std::lock_guard lock(mutex_);
        return attempts_.size();
    }

private:
    send_result next_result(const notification& n) {
        send_result r = send_result::ok();
        if (!script_.empty()) {
            r = script_.front();
            script_.pop_front();
        }
        if (r.result == send_result::outcome::sent && threads_) r.thread_ts = "ts-" + n.key;
        return r;
    }

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<attempt> attempts_;
    std::vector<std::vector<notification>> digests_;
    std::deque<send_result> script_;
    std::vector<std::vector<notification>> resends_;
    std::deque<send_result> resend_script_;
    duration resend_interval_{0};
    bool held_ = false;
    bool threads_ = false;
    bool grouping_ = false;
    std::vector<group_attempt> group_attempts_;
    duration interval_{0};
};

inline send_result failure(send_result::outcome o, std::string error, std::optional<duration> retry_after = {}) {
    send_result r;
    r.result = o;
    r.error = std::move(error);
    r.retry_after = retry_after;
    return r;
}

inline notification make_notification(std::string alert, std::uint32_t sequence, notice_kind kind, std::string channel,
                                      timestamp at, timestamp created_at) {
    notification n;
    n.key = alert + "-" + std::to_string(sequence);
    n.channel = std::move(channel);
    n.kind = kind;
    n.alert_id = std::move(alert);
    n.rule = "usage_drop";
    n.severity = "high";
    n.title = "Usage dropped";
    n.message = "Acme: usage down 40%";
    n.labels = {{"team", "cs"}};
    n.at = at;
    n.firing_since = at;
    n.account = "acme";
    n.account_name = "Acme";
    n.csm = "Dana";
    n.csm_email = "dana@vendor.example";
    n.created_at = created_at;
    return n;
}

// A fresh store in a temporary folder, removed afterwards.
class temp_store {
public:
    temp_store() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "redflag-delivery-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
        dir_ = tmpl;
        reopen();
    }
    ~temp_store() {
        store_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    store::store& get() { return *store_; }
    void reopen() {
        store_.reset();
        store::options o;
        o.path = dir_ + "/db";
        o.block_cache_bytes = 4u << 20;
        o.write_buffer_bytes = 8u << 20;
        std::string error;
        store_ = store::store::open(o, error);
        if (!store_) {
            ADD_FAILURE() << error;
            std::abort();
        }
    }

    // Writes entries to the outbox as the engine does; returns them for enqueue().
    std::vector<outbox_entry> write(std::vector<notification> ns) {
        std::vector<outbox_entry> out;
        store::write_batch batch(*store_);
        for (auto& n : ns) {
            auto& e = out.emplace_back(make_entry(std::move(n)));
            batch.put(store::column::outbox, e.storage_key, serialize(e));
        }
        EXPECT_TRUE(store_->write(batch).ok());
        return out;
    }

    std::vector<outbox_entry> history(const std::string& alert) {
        std::vector<outbox_entry> out;
        auto st = store_->for_each_prefix(store::column::outbox, alert_prefix(alert), [&](std::string_view k, std::string_view v) {
            std::string why;
            auto e = parse_entry(k, v, &why);
            EXPECT_TRUE(e) << why;
            if (e) out.push_back(std::move(*e));
            return true;
        });
        EXPECT_TRUE(st.ok());
        return out;
    }

private:
    std::string dir_;
    std::unique_ptr<store::store> store_;
};

// Polls `predicate` until it holds or `timeout` passes; returns its last value.
inline bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (predicate()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return predicate();
}

}  // namespace redflag::delivery::testing
