#include "delivery/dispatcher.hpp"

#include "alerts/codec.hpp"
#include "alerts/index.hpp"
#include "alerts/silences.hpp"
#include "delivery/cards.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::delivery::testing;
using namespace std::chrono_literals;
using outcome = send_result::outcome;

namespace {

class DispatcherTest : public ::testing::Test {
protected:
    void SetUp() override { options_.seed = 7; }

    // Real time, with backoffs small enough for a unit test: 20 ms doubling to 160 ms.
    void fast_backoff() {
        options_.first_backoff = 20ms;
        options_.max_backoff = 160ms;
    }

    void start(std::vector<std::pair<std::string, std::shared_ptr<fake_sender>>> channels,
               const redflag::clock* c = nullptr, std::optional<digest_schedule> digest = {}) {
        const redflag::clock& used = c ? *c : static_cast<const redflag::clock&>(wall_);
        d_ = make_dispatcher(used);
        std::vector<channel_setup> setups;
        for (auto& [name, sender] : channels) setups.push_back({name, sender, digest});
        ASSERT_TRUE(d_->start(std::move(setups)).ok());
    }

    // With the alerts' answer to "still firing?" over the (current) store, as serve wires it.
    std::unique_ptr<dispatcher> make_dispatcher(const redflag::clock& c) {
        d_.reset();
        status_ = std::make_unique<alerts::record_status>(store_.get());
        return std::make_unique<dispatcher>(options_, store_.get(), c, metrics_, &silences_, status_.get());
    }

    double count(const std::string& channel, metrics::notification_outcome o) {
        return metrics_.notifications(channel, o).Value();
    }

    outbox_entry stored(const std::string& alert, std::size_t index = 0) {
        auto h = store_.history(alert);
        EXPECT_GT(h.size(), index);
        return h.size() > index ? h[index] : outbox_entry{};
    }

    bool final_in_store(const std::string& alert, std::size_t expected) {
        auto h = store_.history(alert);
        if (h.size() != expected) return false;
        for (const auto& e : h)
            if (!is_final(e.outcome)) return false;
        return true;
    }

    dispatcher_options options_;
    temp_store store_;
    system_clock wall_;
    metrics::engine_metrics metrics_;
    alerts::silence_registry silences_{store_.get()};
    std::unique_ptr<alerts::record_status> status_;
    std::unique_ptr<dispatcher> d_;
};

TEST_F(DispatcherTest, delivers_and_records_the_outcome_in_the_outbox) {
    auto slack = std::make_shared<fake_sender>();
    start({{"slack", slack}});
    auto now = wall_.now();
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "slack", now, now)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1); }));
    auto e = stored("a1");
    EXPECT_EQ(e.outcome, delivery_outcome::sent);
    EXPECT_EQ(e.attempts, 1u);
    ASSERT_TRUE(e.sent_at);
    EXPECT_GE(*e.sent_at, now);
    EXPECT_EQ(slack->attempt_count(), 1u);
    EXPECT_EQ(slack->attempts()[0].n.key, "a1-1");
    EXPECT_EQ(count("slack", metrics::notification_outcome::sent), 1);
    EXPECT_EQ(metrics_.notification_delay("slack").Collect().histogram.sample_count, 1u);
    EXPECT_TRUE(eventually([&] { return metrics_.outbox_pending("slack").Value() == 0; }));
}

TEST_F(DispatcherTest, retries_with_doubling_backoff_until_sent) {
    fast_backoff();
    options_.jitter = 0;
    auto hook = std::make_shared<fake_sender>();
    hook->script({failure(outcome::retry, "HTTP 503"), failure(outcome::retry, "HTTP 503"),
                  failure(outcome::retry, "connection refused")});
    start({{"hook", hook}});
    auto now = wall_.now();
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "hook", now, now)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1); }));
    auto attempts = hook->attempts();
    ASSERT_EQ(attempts.size(), 4u);
    // 20 ms, 40 ms, 80 ms between attempts (no jitter); a little slack for scheduling.
    auto gap = [&](int i) { return attempts[i + 1].when - attempts[i].when; };
    EXPECT_GE(gap(0), 19ms);
    EXPECT_GE(gap(1), 39ms);
    EXPECT_GE(gap(2), 79ms);
    EXPECT_LT(gap(0), gap(2));
    auto e = stored("a1");
    EXPECT_EQ(e.outcome, delivery_outcome::sent);
    EXPECT_EQ(e.attempts, 4u);
    EXPECT_EQ(count("hook", metrics::notification_outcome::retry), 3);
    EXPECT_EQ(count("hook", metrics::notification_outcome::sent), 1);
}

TEST_F(DispatcherTest, backoff_is_capped_and_jittered) {
    options_.first_backoff = 1s;
    options_.max_backoff = 10min;
    options_.jitter = 0.2;
    settable_clock c(t0);
    auto hook = std::make_shared<fake_sender>();
    std::vector<send_result> failures(12, failure(outcome::retry, "HTTP 500"));
    hook->script(failures);
    start({{"hook", hook}}, &c);
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "hook", t0, t0)}));
    // Walk the clock to each next attempt and read the delay the dispatcher chose.
    std::vector<duration> delays;
    timestamp last = t0;
    for (std::size_t i = 0; i < 12; ++i) {
        ASSERT_TRUE(eventually([&] { return hook->attempt_count() == i + 1 && stored("a1").attempts == i + 1; }));
        auto e = stored("a1");
        ASSERT_TRUE(e.next_attempt);
        delays.push_back(*e.next_attempt - c.now());
        last = *e.next_attempt;
        c.set(last);
        d_->wake();
    }
    for (std::size_t i = 0; i < delays.size(); ++i) {
        double nominal = std::min(1000.0 * (1 << i), 600000.0);
        EXPECT_GE(double(delays[i].count()), std::min(nominal, 600000.0) * 0.8 - 1) << i;
        EXPECT_LE(double(delays[i].count()), 600000.0) << i;
        if (nominal < 600000.0) {
            EXPECT_LE(double(delays[i].count()), nominal * 1.2 + 1) << i;
        }
    }
    // Jitter: the 20 % band is used, not a fixed point (delays of the first attempts differ from nominal).
    int off_nominal = 0;
    for (std::size_t i = 0; i < 8; ++i)
        if (delays[i].count() != 1000 << i) ++off_nominal;
    EXPECT_GE(off_nominal, 6);
}

TEST_F(DispatcherTest, honours_retry_after) {
    fast_backoff();
    auto slack = std::make_shared<fake_sender>();
    slack->script({failure(outcome::retry, "HTTP 429 ratelimited", 300ms)});
    start({{"slack", slack}});
    auto now = wall_.now();
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "slack", now, now)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1); }));
    auto attempts = slack->attempts();
    ASSERT_EQ(attempts.size(), 2u);
    EXPECT_GE(attempts[1].when - attempts[0].when, 295ms);  // not the 20 ms backoff
    EXPECT_EQ(stored("a1").outcome, delivery_outcome::sent);
}

TEST_F(DispatcherTest, permanent_failure_is_dead_at_once) {
    auto hook = std::make_shared<fake_sender>();
    hook->script({failure(outcome::permanent, "HTTP 404 Not Found")});
    start({{"hook", hook}});
    auto now = wall_.now();
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "hook", now, now)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1); }));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(hook->attempt_count(), 1u);
    auto e = stored("a1");
    EXPECT_EQ(e.outcome, delivery_outcome::dead);
    EXPECT_EQ(e.last_error, "HTTP 404 Not Found");
    EXPECT_EQ(count("hook", metrics::notification_outcome::dead), 1);
    EXPECT_EQ(count("hook", metrics::notification_outcome::sent), 0);
}

TEST_F(DispatcherTest, gives_up_after_max_age) {
    options_.first_backoff = 1s;
    options_.max_age = 30s;
    settable_clock c(t0);
    auto hook = std::make_shared<fake_sender>();
    std::vector<send_result> failures(100, failure(outcome::retry, "connection refused"));
    hook->script(failures);
    start({{"hook", hook}}, &c);
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "hook", t0, t0)}));
    for (int i = 0; i < 40 && !final_in_store("a1", 1); ++i) {
        eventually([&] { return stored("a1").attempts > std::uint32_t(i) || final_in_store("a1", 1); }, 1s);
        auto e = stored("a1");
        if (e.next_attempt) c.set(*e.next_attempt);
        d_->wake();
    }
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1); }));
    auto e = stored("a1");
    EXPECT_EQ(e.outcome, delivery_outcome::dead);
    EXPECT_NE(e.last_error.find("delivery.max_age"), std::string::npos) << e.last_error;
    EXPECT_NE(e.last_error.find("connection refused"), std::string::npos) << e.last_error;
    EXPECT_EQ(c.now(), t0 + 30s);  // the last attempt was moved to the deadline, not past it
    EXPECT_GE(e.attempts, 4u);    // 1 + 2 + 4 + 8 + 16 > 30 s
    EXPECT_EQ(count("hook", metrics::notification_outcome::dead), 1);
}

TEST_F(DispatcherTest, a_silence_holds_back_a_due_notification_even_if_created_later) {
    fast_backoff();
    options_.jitter = 0;
    auto hook = std::make_shared<fake_sender>();
    hook->script({failure(outcome::retry, "HTTP 502")});
    options_.first_backoff = 300ms;
    options_.max_backoff = 1s;
    start({{"hook", hook}});
    auto now = wall_.now();
    auto other = make_notification("a2", 1, notice_kind::firing, "hook", now, now);
    other.account = "beta";
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "hook", now, now)}));
    ASSERT_TRUE(eventually([&] { return hook->attempt_count() == 1; }));
    // While a1 waits for its retry, a silence of account acme arrives.
    alerts::silence s;
    s.account = "acme";
    s.by = "dana";
    s.created_at = wall_.now();
    s.until = s.created_at + 1h;
    auto created = silences_.create(s);
    ASSERT_TRUE(created.ok());
    d_->enqueue(store_.write({other}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1) && final_in_store("a2", 1); }));
    auto e = stored("a1");
    EXPECT_EQ(e.outcome, delivery_outcome::silenced);
    EXPECT_EQ(e.silence, created.value().id);
    EXPECT_EQ(stored("a2").outcome, delivery_outcome::sent);  // another account is not silenced
    EXPECT_EQ(hook->attempt_count(), 2u);                      // a1 once (the 502), a2 once
}

TEST_F(DispatcherTest, a_hung_channel_holds_back_no_other_channel) {
    auto hung = std::make_shared<fake_sender>();
    auto fine = std::make_shared<fake_sender>();
    hung->hold();
    start({{"hung", hung}, {"fine", fine}});
    auto now = wall_.now();
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "hung", now, now),
                              make_notification("a1", 1, notice_kind::firing, "fine", now, now)}));
    ASSERT_TRUE(eventually([&] { return hung->attempt_count() == 1; }));
    // Many more for the good channel while the other one hangs.
    for (int i = 2; i <= 20; ++i) {
        std::string alert = "b" + std::to_string(i);
        d_->enqueue(store_.write({make_notification(alert, 1, notice_kind::firing, "fine", now, now),
                                  make_notification(alert, 1, notice_kind::firing, "hung", now, now)}));
    }
    EXPECT_TRUE(eventually([&] { return fine->attempt_count() == 20; }));
    EXPECT_EQ(hung->attempt_count(), 1u);
    EXPECT_EQ(d_->unfinished("hung"), 20u);
    // The backlog shows in the metric while the worker is stuck in its send.
    EXPECT_EQ(metrics_.outbox_pending("hung").Value(), 20);
    hung->release();
    EXPECT_TRUE(eventually([&] { return hung->attempt_count() == 20 && d_->unfinished("hung") == 0; }));
}

TEST_F(DispatcherTest, an_alerts_notifications_go_in_order_other_alerts_do_not_wait) {
    fast_backoff();
    options_.first_backoff = 200ms;
    options_.jitter = 0;
    auto slack = std::make_shared<fake_sender>();
    slack->give_threads();
    slack->script({failure(outcome::retry, "HTTP 500")});
    start({{"slack", slack}});
    auto now = wall_.now();
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "slack", now, now)}));
    ASSERT_TRUE(eventually([&] { return slack->attempt_count() == 1; }));
    d_->enqueue(store_.write({make_notification("a1", 2, notice_kind::resolved, "slack", now + 1ms, now),
                              make_notification("a2", 1, notice_kind::firing, "slack", now, now)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 2) && final_in_store("a2", 1); }));
    std::vector<std::string> order;
    std::vector<std::string> threads;
    for (const auto& a : slack->attempts()) {
        order.push_back(a.n.key);
        threads.push_back(a.thread_ts);
    }
    // a2 went while a1's firing notice waited; a1's recovery only after it, in its thread.
    EXPECT_EQ(order, (std::vector<std::string>{"a1-1", "a2-1", "a1-1", "a1-2"}));
    EXPECT_EQ(threads[3], "ts-a1-1");
}

TEST_F(DispatcherTest, paces_a_channel_by_its_min_interval) {
    auto slack = std::make_shared<fake_sender>();
    slack->set_interval(100ms);
    start({{"slack", slack}});
    auto now = wall_.now();
    std::vector<notification> ns;
    for (int i = 0; i < 4; ++i) ns.push_back(make_notification("a" + std::to_string(i), 1, notice_kind::firing, "slack", now, now));
    d_->enqueue(store_.write(ns));
    ASSERT_TRUE(eventually([&] { return slack->attempt_count() == 4; }));
    auto attempts = slack->attempts();
    for (std::size_t i = 1; i < attempts.size(); ++i) EXPECT_GE(attempts[i].when - attempts[i - 1].when, 99ms);
}

TEST_F(DispatcherTest, resumes_unfinished_entries_and_threads_after_a_restart) {
    auto slack = std::make_shared<fake_sender>();
    slack->give_threads();
    start({{"slack", slack}});
    auto now = wall_.now();
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "slack", now, now)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1); }));
    d_->stop();
    d_.reset();

    // Written while no dispatcher ran (the process died before its hand-off), and one
    // already sent: only the first is delivered, in the thread of a1's first message.
    store_.write({make_notification("a1", 2, notice_kind::repeat, "slack", now + 1s, now)});
    auto done = make_entry(make_notification("a3", 1, notice_kind::firing, "slack", now, now));
    done.outcome = delivery_outcome::sent;
    done.attempts = 1;
    done.sent_at = now;
    store::write_batch batch(store_.get());
    batch.put(store::column::outbox, done.storage_key, serialize(done));
    ASSERT_TRUE(store_.get().write(batch).ok());
    store_.reopen();

    auto after = std::make_shared<fake_sender>();
    d_ = make_dispatcher(wall_);
    ASSERT_TRUE(d_->start({{"slack", after, std::nullopt}}).ok());
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 2); }));
    auto attempts = after->attempts();
    ASSERT_EQ(attempts.size(), 1u);
    EXPECT_EQ(attempts[0].n.key, "a1-2");
    EXPECT_EQ(attempts[0].thread_ts, "ts-a1-1");
}

TEST_F(DispatcherTest, entries_of_an_unconfigured_channel_wait_for_it) {
    auto hook = std::make_shared<fake_sender>();
    start({{"hook", hook}});
    auto now = wall_.now();
    auto written = store_.write({make_notification("a1", 1, notice_kind::firing, "later", now, now)});
    d_->enqueue(written);
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(stored("a1").outcome, delivery_outcome::pending);
    auto later = std::make_shared<fake_sender>();
    ASSERT_TRUE(d_->reconfigure({{"hook", hook, std::nullopt}, {"later", later, std::nullopt}}).ok());
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1); }));
    EXPECT_EQ(later->attempt_count(), 1u);
}

TEST_F(DispatcherTest, a_digest_channel_sends_one_email_per_recipient_at_its_time) {
    settable_clock c(t0);  // 09:00 UTC
    std::string error;
    auto daily = digest_schedule::parse("daily 08:00", "UTC", error);
    ASSERT_TRUE(daily) << error;
    auto mail = std::make_shared<fake_sender>();
    start({{"mail", mail}}, &c, daily);
    auto n = [&](std::string alert, std::string to, notice_kind kind = notice_kind::firing) {
        auto x = make_notification(std::move(alert), 1, kind, "mail", c.now(), c.now());
        x.recipient = std::move(to);
        return x;
    };
    d_->enqueue(store_.write({n("a1", "dana@vendor.example"), n("a2", "lee@vendor.example")}));
    c.advance(2h);
    d_->enqueue(store_.write({n("a3", "dana@vendor.example")}));
    d_->wake();
    std::this_thread::sleep_for(30ms);
    EXPECT_TRUE(mail->digests().empty());  // not before 08:00 the next day
    EXPECT_EQ(mail->attempt_count(), 0u);
    c.set(t0 + 23h);  // 08:00 the next day
    d_->wake();
    ASSERT_TRUE(eventually([&] { return mail->digests().size() == 2; }));
    std::map<std::string, std::vector<std::string>> by_recipient;
    for (const auto& batch : mail->digests())
        for (const auto& x : batch) by_recipient[x.recipient].push_back(x.key);
    EXPECT_EQ(by_recipient["dana@vendor.example"], (std::vector<std::string>{"a1-1", "a3-1"}));
    EXPECT_EQ(by_recipient["lee@vendor.example"], (std::vector<std::string>{"a2-1"}));
    EXPECT_TRUE(eventually([&] { return final_in_store("a1", 1) && final_in_store("a2", 1) && final_in_store("a3", 1); }));
    EXPECT_EQ(mail->attempt_count(), 0u);  // never a single message
}


// ---------------------------------------------------------------- re-posting (Alertmanager)

class RepostTest : public DispatcherTest {
protected:
    // The engine's record of an alert in column `alerts`, as the dispatcher reads it.
    void record_alert(const std::string& id, alerts::alert_state state, std::optional<timestamp> resolved_at = {},
                      std::vector<alerts::acknowledgement> acks = {}) {
        alerts::alert a;
        a.id = id;
        a.rule = "usage_drop";
        a.account = "acme";
        a.state = state;
        a.firing_since = t0;
        a.resolved_at = resolved_at;
        a.acks = std::move(acks);
        store::write_batch batch(store_.get());
        batch.put(store::column::alerts, id, alerts::serialize(a));
        ASSERT_TRUE(store_.get().write(batch).ok());
    }

    std::shared_ptr<fake_sender> pager() {
        auto p = std::make_shared<fake_sender>();
        p->set_resend_interval(1min);
        return p;
    }

    // Moves the clock to the next round and waits for its re-post.
    std::vector<notification> next_round(settable_clock& c, fake_sender& p) {
        auto before = p.resend_count();
        c.advance(1min);
        d_->wake();
        EXPECT_TRUE(eventually([&] { return p.resend_count() == before + 1; }));
        auto all = p.resends();
        return all.size() > before ? all[before] : std::vector<notification>{};
    }

    static std::vector<std::string> keys(const std::vector<notification>& batch) {
        std::vector<std::string> out;
        for (const auto& n : batch) out.push_back(n.key + ":" + std::string(name_of(n.kind)));
        return out;
    }
};

TEST_F(RepostTest, firing_alerts_are_reposted_together_every_interval_until_their_recovery) {
    settable_clock c(t0);
    auto p = pager();
    start({{"pager", p}}, &c);
    record_alert("a1", alerts::alert_state::firing);
    record_alert("a2", alerts::alert_state::firing);
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "pager", t0, t0),
                              make_notification("a2", 1, notice_kind::firing, "pager", t0, t0)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1) && final_in_store("a2", 1); }));
    ASSERT_TRUE(eventually([&] { return d_->reposting("pager") == 2; }));
    EXPECT_EQ(p->resend_count(), 0u);  // not before the interval

    EXPECT_EQ(keys(next_round(c, *p)), (std::vector<std::string>{"a1-1:firing", "a2-1:firing"}));
    // A repeat replaces what is re-posted; a recovery ends it.
    d_->enqueue(store_.write({make_notification("a1", 2, notice_kind::repeat, "pager", c.now(), c.now())}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 2); }));
    EXPECT_EQ(keys(next_round(c, *p)), (std::vector<std::string>{"a1-2:repeat", "a2-1:firing"}));
    record_alert("a2", alerts::alert_state::resolved, c.now());
    d_->enqueue(store_.write({make_notification("a2", 2, notice_kind::resolved, "pager", c.now(), c.now())}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a2", 2); }));
    ASSERT_TRUE(eventually([&] { return d_->reposting("pager") == 1; }));
    EXPECT_EQ(keys(next_round(c, *p)), (std::vector<std::string>{"a1-2:repeat"}));
    // Re-posts leave no outbox record.
    EXPECT_EQ(store_.history("a1").size(), 2u);
    EXPECT_EQ(p->attempt_count(), 4u);
}

TEST_F(RepostTest, an_alert_resolved_without_a_notice_is_posted_resolved_once) {
    settable_clock c(t0);
    auto p = pager();
    start({{"pager", p}}, &c);
    record_alert("a1", alerts::alert_state::firing);
    record_alert("a2", alerts::alert_state::firing);
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "pager", t0, t0),
                              make_notification("a2", 1, notice_kind::firing, "pager", t0, t0)}));
    ASSERT_TRUE(eventually([&] { return d_->reposting("pager") == 2; }));
    // `resolve silent`: the engine resolves a2 and notifies nobody; a1's record is gone.
    record_alert("a2", alerts::alert_state::resolved, t0 + 30s);
    {
        store::write_batch batch(store_.get());
        batch.del(store::column::alerts, "a1");
        ASSERT_TRUE(store_.get().write(batch).ok());
    }
    auto round = next_round(c, *p);
    ASSERT_EQ(round.size(), 2u);
    EXPECT_EQ(round[0].kind, notice_kind::resolved);
    EXPECT_EQ(round[0].resolved_at, c.now());  // no record: ended now
    EXPECT_EQ(round[1].kind, notice_kind::resolved);
    EXPECT_EQ(round[1].resolved_at, t0 + 30s);
    EXPECT_TRUE(eventually([&] { return d_->reposting("pager") == 0; }));
    c.advance(1min);
    d_->wake();
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(p->resend_count(), 1u);  // nothing left to post
}

TEST_F(RepostTest, a_failed_repost_waits_for_the_next_round) {
    settable_clock c(t0);
    auto p = pager();
    p->script_resends({failure(outcome::retry, "connection refused")});
    start({{"pager", p}}, &c);
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "pager", t0, t0)}));
    ASSERT_TRUE(eventually([&] { return d_->reposting("pager") == 1; }));
    // a1 resolved silently: the failed round does not forget it.
    record_alert("a1", alerts::alert_state::resolved, t0 + 10s);
    EXPECT_EQ(keys(next_round(c, *p)), (std::vector<std::string>{"a1-1:resolved"}));
    EXPECT_EQ(d_->reposting("pager"), 1u);
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(p->resend_count(), 1u);  // no retry before the next round
    EXPECT_EQ(keys(next_round(c, *p)), (std::vector<std::string>{"a1-1:resolved"}));
    EXPECT_TRUE(eventually([&] { return d_->reposting("pager") == 0; }));
    EXPECT_EQ(store_.history("a1").size(), 1u);
    EXPECT_EQ(count("pager", metrics::notification_outcome::retry), 0);
}

TEST_F(RepostTest, reposts_are_split_into_batches) {
    options_.resend_batch = 2;
    settable_clock c(t0);
    auto p = pager();
    start({{"pager", p}}, &c);
    for (std::string a : {"a1", "a2", "a3"}) {
        record_alert(a, alerts::alert_state::firing);
        d_->enqueue(store_.write({make_notification(a, 1, notice_kind::firing, "pager", t0, t0)}));
    }
    ASSERT_TRUE(eventually([&] { return d_->reposting("pager") == 3; }));
    c.advance(1min);
    d_->wake();
    ASSERT_TRUE(eventually([&] { return p->resend_count() == 2; }));
    EXPECT_EQ(p->resends()[0].size(), 2u);
    EXPECT_EQ(p->resends()[1].size(), 1u);
}

TEST_F(RepostTest, the_firing_set_is_rebuilt_from_the_outbox_and_posted_at_start) {
    settable_clock c(t0);
    auto p = pager();
    start({{"pager", p}}, &c);
    for (std::string a : {"a1", "a2", "a3"}) record_alert(a, alerts::alert_state::firing);
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "pager", t0, t0),
                              make_notification("a2", 1, notice_kind::firing, "pager", t0, t0),
                              make_notification("a3", 1, notice_kind::firing, "pager", t0, t0)}));
    ASSERT_TRUE(eventually([&] { return d_->reposting("pager") == 3; }));
    d_->enqueue(store_.write({make_notification("a2", 2, notice_kind::resolved, "pager", t0 + 1s, t0)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a2", 2); }));
    d_->stop();
    d_.reset();
    // While down: a3 repeats (not yet sent when we come back).
    store_.write({make_notification("a3", 2, notice_kind::repeat, "pager", t0 + 2s, t0)});
    store_.reopen();

    auto after = pager();
    d_ = make_dispatcher(c);
    ASSERT_TRUE(d_->start({{"pager", after, std::nullopt}}).ok());
    // a1 and a3 (as last sent) are posted at once, a2 ended; a3's repeat goes too.
    ASSERT_TRUE(eventually([&] { return after->resend_count() >= 1; }));
    auto first = after->resends()[0];
    std::set<std::string> alerts_posted;
    for (const auto& n : first) alerts_posted.insert(n.key);
    EXPECT_TRUE(alerts_posted == std::set<std::string>({"a1-1", "a3-1"}) ||
                alerts_posted == std::set<std::string>({"a1-1", "a3-2"}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a3", 2); }));
    EXPECT_EQ(keys(next_round(c, *after)), (std::vector<std::string>{"a1-1:firing", "a3-2:repeat"}));
}

// The outbox records of a long-firing alert expire after storage.retention
// (outbox_record_expired); the re-post set is stored apart from them and survives that.
TEST_F(RepostTest, the_firing_set_survives_the_expiry_of_every_outbox_record) {
    settable_clock c(t0);
    auto p = pager();
    start({{"pager", p}}, &c);
    for (std::string a : {"a1", "a2", "a3"}) record_alert(a, alerts::alert_state::firing);
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "pager", t0, t0),
                              make_notification("a2", 1, notice_kind::firing, "pager", t0, t0),
                              make_notification("a3", 1, notice_kind::firing, "pager", t0, t0)}));
    ASSERT_TRUE(eventually([&] { return d_->reposting("pager") == 3; }));
    // a2 recovers with a notice; a3 resolves silently and a re-post round finds it over.
    d_->enqueue(store_.write({make_notification("a2", 2, notice_kind::resolved, "pager", t0 + 1s, t0)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a2", 2); }));
    record_alert("a3", alerts::alert_state::resolved, t0 + 2s);
    EXPECT_EQ(keys(next_round(c, *p)), (std::vector<std::string>{"a1-1:firing", "a3-1:resolved"}));
    ASSERT_TRUE(eventually([&] { return d_->reposting("pager") == 1; }));
    d_->stop();
    d_.reset();
    // Compaction drops every record (all final) once they are older than the retention.
    std::vector<std::string> expired;
    ASSERT_TRUE(store_.get()
                    .for_each_prefix(store::column::outbox, "",
                                     [&](std::string_view key, std::string_view value) {
                                         if (outbox_record_expired(key, value, t0 + 400 * day))
                                             expired.emplace_back(key);
                                         return true;
                                     })
                    .ok());
    ASSERT_EQ(expired.size(), 4u);
    {
        store::write_batch batch(store_.get());
        for (const auto& key : expired) batch.del(store::column::outbox, key);
        ASSERT_TRUE(store_.get().write(batch).ok());
    }
    store_.reopen();

    auto after = pager();
    d_ = make_dispatcher(c);
    ASSERT_TRUE(d_->start({{"pager", after, std::nullopt}}).ok());
    ASSERT_TRUE(eventually([&] { return after->resend_count() >= 1; }));
    EXPECT_EQ(keys(after->resends()[0]), (std::vector<std::string>{"a1-1:firing"}));
    EXPECT_EQ(d_->reposting("pager"), 1u);
}

TEST_F(RepostTest, a_channel_without_resend_keeps_no_set) {
    settable_clock c(t0);
    auto hook = std::make_shared<fake_sender>();
    start({{"hook", hook}}, &c);
    d_->enqueue(store_.write({make_notification("a1", 1, notice_kind::firing, "hook", t0, t0)}));
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1); }));
    c.advance(10min);
    d_->wake();
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(d_->reposting("hook"), 0u);
    EXPECT_EQ(hook->resend_count(), 0u);
}

// ------------------------------------------------------------------ group_by: account

class GroupTest : public RepostTest {
protected:
    std::shared_ptr<fake_sender> grouped() {
        auto s = std::make_shared<fake_sender>();
        s->group_by_account();
        return s;
    }

    // Delivers one notification of `alert` (of `account`) and waits until it is done.
    void deliver(const std::string& alert, std::uint32_t seq, notice_kind kind, const std::string& account = "acme") {
        auto n = make_notification(alert, seq, kind, "slack", t0 + std::chrono::seconds(seq), wall_.now());
        n.account = account;
        n.account_name = account == "acme" ? "Acme" : account;
        if (kind == notice_kind::acknowledged) n.ack_by = "dana@vendor.example";
        auto before = store_.history(alert).size();
        d_->enqueue(store_.write({n}));
        ASSERT_TRUE(eventually([&] { return final_in_store(alert, before + 1); }));
    }

    static std::vector<std::string> members(const group_card& g) {
        std::vector<std::string> out;
        for (const auto& m : g.members) out.push_back(m.alert_id);
        return out;
    }

    std::optional<group_card> stored_group(const std::string& account) {
        auto v = store_.get().get(store::column::meta, group_key("slack", account));
        EXPECT_TRUE(v.ok());
        if (!v.ok() || !v.value()) return std::nullopt;
        return parse_group(*v.value());
    }

    using strings = std::vector<std::string>;
};

TEST_F(GroupTest, one_card_per_account_follows_its_flags_until_the_last_recovers) {
    auto slack = grouped();
    start({{"slack", slack}});
    for (auto id : {"a1", "a2", "a3", "b1"}) record_alert(id, alerts::alert_state::firing);

    deliver("a1", 1, notice_kind::firing);
    deliver("a2", 1, notice_kind::firing);
    deliver("b1", 1, notice_kind::firing, "beta");
    deliver("a2", 2, notice_kind::acknowledged);
    record_alert("a1", alerts::alert_state::resolved, t0 + 1min);
    deliver("a1", 2, notice_kind::resolved);
    record_alert("a2", alerts::alert_state::resolved, t0 + 2min);
    deliver("a2", 3, notice_kind::resolved);

    auto g = slack->group_attempts();
    ASSERT_EQ(g.size(), 6u);
    EXPECT_EQ(slack->attempt_count(), 0u);  // nothing went as a card of its own
    EXPECT_EQ(g[0].group.thread, "");       // posts Acme's card
    EXPECT_EQ(members(g[0].group), strings{"a1"});
    EXPECT_EQ(g[1].group.thread, "card-a1-1");  // a2 joins the same card
    EXPECT_EQ(members(g[1].group), (strings{"a1", "a2"}));
    EXPECT_EQ(g[2].group.thread, "");  // Beta has a card of its own
    EXPECT_EQ(members(g[2].group), strings{"b1"});
    ASSERT_EQ(g[3].group.members.size(), 2u);
    EXPECT_EQ(g[3].group.members[1].is, group_member::state::acknowledged);
    EXPECT_EQ(g[3].group.members[1].by, "dana@vendor.example");
    EXPECT_EQ(members(g[4].group), strings{"a2"});  // a1 left
    EXPECT_EQ(g[4].group.thread, "card-a1-1");
    EXPECT_TRUE(g[5].group.resolved());  // the last one recovered: the card turns resolved
    EXPECT_EQ(g[5].group.thread, "card-a1-1");
    EXPECT_FALSE(stored_group("acme"));   // and the group is over
    ASSERT_TRUE(stored_group("beta"));
    EXPECT_EQ(stored_group("beta")->thread, "card-b1-1");

    // The account's next flag starts a new card.
    deliver("a3", 1, notice_kind::firing);
    ASSERT_EQ(slack->group_attempts().size(), 7u);
    EXPECT_EQ(slack->group_attempts().back().group.thread, "");
}

TEST_F(GroupTest, the_card_survives_a_restart_and_the_next_flag_rewrites_it) {
    start({{"slack", grouped()}});
    record_alert("a1", alerts::alert_state::firing);
    record_alert("a2", alerts::alert_state::firing);
    deliver("a1", 1, notice_kind::firing);
    d_->stop();
    d_.reset();
    store_.reopen();

    auto after = grouped();
    d_ = make_dispatcher(wall_);
    ASSERT_TRUE(d_->start({{"slack", after, std::nullopt}}).ok());
    deliver("a2", 1, notice_kind::firing);
    auto g = after->group_attempts();
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].group.thread, "card-a1-1");
    EXPECT_EQ(members(g[0].group), (strings{"a1", "a2"}));
}

TEST_F(GroupTest, a_flag_that_ended_without_a_notice_leaves_the_card_at_its_next_rewrite) {
    auto slack = grouped();
    start({{"slack", slack}});
    record_alert("a1", alerts::alert_state::firing);
    record_alert("a2", alerts::alert_state::firing);
    deliver("a1", 1, notice_kind::firing);
    deliver("a2", 1, notice_kind::firing);
    record_alert("a2", alerts::alert_state::resolved, t0 + 1min);  // `resolve silent`
    deliver("a1", 2, notice_kind::repeat);
    ASSERT_EQ(slack->group_attempts().size(), 3u);
    EXPECT_EQ(members(slack->group_attempts().back().group), strings{"a1"});
    EXPECT_EQ(members(*stored_group("acme")), strings{"a1"});
}

TEST_F(GroupTest, a_failed_rewrite_is_retried_with_the_same_change_and_stored_once_sent) {
    fast_backoff();
    auto slack = grouped();
    start({{"slack", slack}});
    record_alert("a1", alerts::alert_state::firing);
    record_alert("a2", alerts::alert_state::firing);
    deliver("a1", 1, notice_kind::firing);
    slack->script({failure(outcome::retry, "ratelimited")});
    deliver("a2", 1, notice_kind::firing);
    auto g = slack->group_attempts();
    ASSERT_EQ(g.size(), 3u);
    EXPECT_EQ(g[1].group, g[2].group);  // the retry carries the same card
    EXPECT_EQ(members(*stored_group("acme")), (strings{"a1", "a2"}));
}

TEST_F(GroupTest, notices_of_an_alert_outside_its_group_keep_their_own_card) {
    auto slack = grouped();
    start({{"slack", slack}});
    record_alert("a1", alerts::alert_state::firing);
    deliver("a1", 1, notice_kind::acknowledged);  // fired before the channel grouped
    EXPECT_EQ(slack->attempt_count(), 1u);
    EXPECT_TRUE(slack->group_attempts().empty());
    EXPECT_FALSE(stored_group("acme"));
}

// Cards that stay true (issue 13): a silence rewrites the Slack cards of the firing alerts
// it covers and turns them firing again when it ends; the records go through the outbox.
class CardRewriteTest : public RepostTest {
protected:
    void SetUp() override {
        RepostTest::SetUp();
        slack_->give_threads();
    }
    // a1 (acme) and a2 (beta) fire and their cards are posted on "slack".
    void post_cards(timestamp at) {
        for (auto [id, account] : {std::pair{"a1", "acme"}, std::pair{"a2", "beta"}}) {
            record_alert(id, alerts::alert_state::firing);
            alerts::index_entry e;
            e.id = id;
            e.account = account;
            e.state = alerts::alert_state::firing;
            index_.put(e);
            auto n = make_notification(id, 1, notice_kind::firing, "slack", at, at);
            n.account = account;
            d_->enqueue(store_.write({n}));
        }
        ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1) && final_in_store("a2", 1); }));
        silences_.attach_cards(&index_, d_.get());
    }
    alerts::silence acme_silence(timestamp now, duration length) {
        alerts::silence s;
        s.account = "acme";
        s.by = "dana";
        s.reason = "migration weekend";
        s.created_at = now;
        s.until = now + length;
        return s;
    }
    std::vector<notification> sent_of(const std::string& alert) {
        std::vector<notification> out;
        for (const auto& a : slack_->attempts())
            if (a.n.alert_id == alert) out.push_back(a.n);
        return out;
    }

    std::shared_ptr<fake_sender> slack_ = std::make_shared<fake_sender>();
    alerts::alert_index index_;
};

TEST_F(CardRewriteTest, a_silence_rewrites_the_card_it_covers_and_its_end_turns_it_firing_again) {
    start({{"slack", slack_}});
    post_cards(wall_.now());
    auto created = silences_.create(acme_silence(wall_.now(), 400ms));
    ASSERT_TRUE(created.ok());
    const auto& s = created.value();
    // Both rewrites are in the outbox with the silence, before anything is sent.
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 3); }));
    auto sent = sent_of("a1");
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[1].kind, notice_kind::silence_began);
    EXPECT_EQ(sent[1].ack_by, "dana");
    EXPECT_EQ(sent[1].ack_comment, "migration weekend");
    EXPECT_EQ(sent[1].snoozed_until, s.until);
    EXPECT_EQ(sent[1].title, "Usage dropped");  // the card's own content
    EXPECT_EQ(sent[2].kind, notice_kind::silence_ended);
    auto attempts = slack_->attempts();
    EXPECT_EQ(attempts.back().thread_ts, "ts-a1-1");  // the card's thread
    auto history = store_.history("a1");
    EXPECT_EQ(history[1].outcome, delivery_outcome::sent);  // not held back by its own silence
    EXPECT_EQ(history[1].silence, s.id);
    ASSERT_TRUE(history[2].sent_at);
    EXPECT_GE(*history[2].sent_at, s.until);  // its end is due at `until`, not before
    EXPECT_EQ(sent_of("a2").size(), 1u);        // another account's card is left alone
}

// Acknowledged while silenced (the ack's own notice was held by the silence): when the
// silence ends the card comes back acknowledged, with no buttons, not firing.
TEST_F(CardRewriteTest, an_alert_acknowledged_under_a_silence_comes_back_acknowledged) {
    start({{"slack", slack_}});
    post_cards(wall_.now());
    auto created = silences_.create(acme_silence(wall_.now(), 400ms));
    ASSERT_TRUE(created.ok());
    record_alert("a1", alerts::alert_state::firing, {}, {{"jane@example.com", "on it", t0 + 1min}});
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 3); }));
    auto sent = sent_of("a1");
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[1].kind, notice_kind::silence_began);
    EXPECT_EQ(sent[2].kind, notice_kind::acknowledged);
    EXPECT_EQ(sent[2].ack_by, "jane@example.com");
    EXPECT_EQ(sent[2].ack_comment, "on it");
    EXPECT_EQ(slack_->attempts().back().thread_ts, "ts-a1-1");  // still the card's thread
}

TEST_F(CardRewriteTest, expiring_a_silence_turns_the_card_firing_at_once_and_the_later_end_is_moot) {
    settable_clock c(t0);
    start({{"slack", slack_}}, &c);
    post_cards(t0 - 1min);
    auto created = silences_.create(acme_silence(t0, 1h));
    ASSERT_TRUE(created.ok());
    ASSERT_TRUE(eventually([&] { return sent_of("a1").size() == 2; }));
    c.set(t0 + 5min);
    auto expired = silences_.expire(created.value().id, c.now());
    ASSERT_TRUE(expired.ok() && expired.value());
    ASSERT_TRUE(eventually([&] { return sent_of("a1").size() == 3; }));
    EXPECT_EQ(sent_of("a1")[2].kind, notice_kind::silence_ended);
    EXPECT_EQ(sent_of("a1")[2].snoozed_until, t0 + 5min);
    // The end scheduled for the old `until` settles without a rewrite.
    c.set(t0 + 1h);
    d_->wake();
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 4); }));
    EXPECT_EQ(sent_of("a1").size(), 3u);
}

TEST_F(CardRewriteTest, an_end_waits_while_another_silence_covers_the_alert_and_a_resolved_alert_keeps_its_card) {
    settable_clock c(t0);
    start({{"slack", slack_}}, &c);
    post_cards(t0 - 1min);
    ASSERT_TRUE(silences_.create(acme_silence(t0, 10min)).ok());
    ASSERT_TRUE(silences_.create(acme_silence(t0, 20min)).ok());
    ASSERT_TRUE(eventually([&] { return sent_of("a1").size() == 3; }));  // firing, two began
    auto finals = [&] {
        std::size_t n = 0;
        for (const auto& e : store_.history("a1")) n += is_final(e.outcome) ? 1 : 0;
        return n;
    };
    c.set(t0 + 10min);
    d_->wake();
    ASSERT_TRUE(eventually([&] { return finals() == 4; }));
    EXPECT_EQ(sent_of("a1").size(), 3u);  // still silenced by the second
    // The alert resolves silently before the second ends: its end changes nothing.
    record_alert("a1", alerts::alert_state::resolved, t0 + 15min);
    c.set(t0 + 20min);
    d_->wake();
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 5); }));
    EXPECT_EQ(sent_of("a1").size(), 3u);
}

TEST_F(CardRewriteTest, a_recovery_held_by_a_silence_still_rewrites_the_card_resolved) {
    start({{"slack", slack_}});
    post_cards(wall_.now());
    ASSERT_TRUE(silences_.create(acme_silence(wall_.now(), 1h)).ok());
    ASSERT_TRUE(eventually([&] { return sent_of("a1").size() == 2; }));
    record_alert("a1", alerts::alert_state::resolved, wall_.now());
    auto now = wall_.now();
    d_->enqueue(store_.write({make_notification("a1", 2, notice_kind::resolved, "slack", now + 1s, now)}));
    ASSERT_TRUE(eventually([&] { return sent_of("a1").size() == 3; }));
    EXPECT_EQ(sent_of("a1")[2].kind, notice_kind::resolved_silently);
    EXPECT_EQ(slack_->attempts().back().thread_ts, "ts-a1-1");
    ASSERT_TRUE(eventually([&] { return d_->unfinished("slack") == 1; }));  // the end at `until` waits
    bool held = false;
    for (const auto& e : store_.history("a1"))
        if (e.n.kind == notice_kind::resolved) held = e.outcome == delivery_outcome::silenced;
    EXPECT_TRUE(held);  // the notice itself notified nobody
}

TEST_F(GroupTest, a_silent_resolve_leaves_the_group_card_at_once) {
    auto slack = grouped();
    start({{"slack", slack}});
    record_alert("a1", alerts::alert_state::firing);
    record_alert("a2", alerts::alert_state::firing);
    deliver("a1", 1, notice_kind::firing);
    deliver("a2", 1, notice_kind::firing);
    record_alert("a2", alerts::alert_state::resolved, t0 + 1min);
    auto cards = posted_cards(store_.get(), "a2");
    ASSERT_TRUE(cards.ok());
    ASSERT_EQ(cards.value().size(), 1u);
    auto e = card_rewrite(cards.value()[0], notice_kind::resolved_silently, "a2-resolved-silently", t0 + 1min,
                          wall_.now());
    store::write_batch batch(store_.get());
    batch.put(store::column::outbox, e.storage_key, serialize(e));
    ASSERT_TRUE(store_.get().write(batch).ok());
    d_->enqueue(std::vector<outbox_entry>{e});
    ASSERT_TRUE(eventually([&] { return final_in_store("a2", 2); }));
    auto g = slack->group_attempts();
    ASSERT_EQ(g.size(), 3u);
    EXPECT_EQ(g[2].n.kind, notice_kind::resolved_silently);
    EXPECT_EQ(members(g[2].group), strings{"a1"});
    EXPECT_EQ(members(*stored_group("acme")), strings{"a1"});
}

// A large backlog is held as refs: records are read from the store when attempted, so a
// record changed in the store meanwhile is sent as stored, and a vanished one is dropped.
TEST_F(DispatcherTest, reads_each_record_from_the_store_when_attempting_it) {
    auto hook = std::make_shared<fake_sender>();
    hook->hold();
    start({{"hook", hook}});
    auto now = wall_.now();
    d_->enqueue(store_.write({make_notification("a0", 1, notice_kind::firing, "hook", now, now)}));
    ASSERT_TRUE(eventually([&] { return hook->attempt_count() == 1; }));  // the worker is busy with a0
    auto refs = store_.write({make_notification("a1", 1, notice_kind::firing, "hook", now, now),
                              make_notification("a2", 1, notice_kind::firing, "hook", now, now)});
    d_->enqueue(refs);
    auto changed = refs[0];
    changed.n.message = "changed while waiting";
    store::write_batch batch(store_.get());
    batch.put(store::column::outbox, changed.storage_key, serialize(changed));
    batch.del(store::column::outbox, refs[1].storage_key);
    ASSERT_TRUE(store_.get().write(batch).ok());
    hook->release();
    ASSERT_TRUE(eventually([&] { return final_in_store("a1", 1) && d_->unfinished("hook") == 0; }));
    auto attempts = hook->attempts();
    ASSERT_EQ(attempts.size(), 2u);
    EXPECT_EQ(attempts[1].n.key, "a1-1");
    EXPECT_EQ(attempts[1].n.message, "changed while waiting");
}

}  // namespace

// Issue 12, item 4: an unreadable outbox record is skipped at start and counted.
TEST_F(DispatcherTest, an_unreadable_outbox_record_is_counted_when_loading) {
    store::write_batch batch(store_.get());
    batch.put(store::column::outbox, "not an outbox key", "x");
    ASSERT_TRUE(store_.get().write(batch).ok());
    start({{"slack", std::make_shared<fake_sender>()}});
    EXPECT_EQ(metrics_.degraded_records(metrics::degraded::outbox_record).Value(), 1);
}
