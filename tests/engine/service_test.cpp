// The sharded service through its real store, with a RocksDB Env whose writes fail on
// demand (tests/store/fault_env.hpp): the write path's failure modes of issue 11.
#include "engine/service.hpp"

#include "../store/fault_env.hpp"
#include "alerts/codec.hpp"
#include "engine/history.hpp"
#include "metrics/engine_metrics.hpp"
#include "rules/rule_set.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include <unistd.h>

using namespace redflag;
namespace fs = std::filesystem;
namespace faults = redflag::testing;

namespace {

const timestamp t0 = *parse_rfc3339("2026-11-01T00:00:00Z");

// Fires on an NPS answer below 7; `tier_above_5` reads a typed-at-run-time attribute, so
// an account whose `tier` is a string counts a runtime error at each evaluation.
const char* rules_text = R"(
rule low_nps {
  title    "Low NPS"
  when     avg(nps.score, 30d) < 7
  severity high
}

rule tier_above_5 {
  title    "Tier"
  when     account.attributes.tier > 5
  severity low
}
)";

class ServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "redflag-service-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        auto loaded = rules::load_sources({{"test.rules", rules_text}});
        ASSERT_TRUE(loaded.rules) << rules::render_text(loaded.problems);
        rules_ = loaded.rules;
        clock_.set(t0 + 10 * day);
    }
    void TearDown() override {
        service_.reset();
        store_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // Opens the store (on the fault env) and starts a service over it, recovered.
    void start() {
        store::options o;
        o.path = (fs::path(dir_) / "db").string();
        o.block_cache_bytes = 8u << 20;
        o.write_buffer_bytes = 32u << 20;
        o.env = faults_.env.get();
        o.resume_interval = std::chrono::milliseconds(0);
        o.resume_free_bytes = 1;  // the fault env reports 0 free while it fails writes
        o.clock = &clock_;
        std::string error;
        store_ = store::store::open(o, error);
        ASSERT_TRUE(store_) << error;
        metrics_ = std::make_unique<metrics::engine_metrics>();
        engine::service_options so;
        so.shards = 2;
        so.snapshot_interval = std::chrono::hours(1);
        so.history_interval = history_interval_;
        if (configure_) configure_(so);
        service_ = std::make_unique<engine::service>(so, *store_, clock_, *metrics_, rules_);
        ASSERT_TRUE(service_->recover(error)) << error;
        service_->start();
    }
    // Stops the service (snapshots) and closes the store; kill9 leaves both as they were
    // written, as a crash would (nothing snapshotted at stop).
    void restart() {
        service_->stop();
        service_.reset();
        ASSERT_TRUE(store_->close().ok());
        store_.reset();
        start();
    }

    duration history_interval_ = std::chrono::minutes(1);  // the service's default

    // Starts the service with health_rules_text (below) as its rules.
    void start_with_health_score();
    // The account's stored health history points, oldest first (each must decode).
    std::vector<engine::history::point> history_points(const std::string& account) {
        std::vector<engine::history::point> out;
        EXPECT_TRUE(store_->for_each_prefix(store::column::history, engine::history::prefix(account),
                                            [&](std::string_view k, std::string_view v) {
                                                auto p = engine::history::decode(k, v);
                                                EXPECT_TRUE(p);
                                                if (p) out.push_back(*p);
                                                return true;
                                            }).ok());
        return out;
    }

    engine::ingest_outcome submit(std::vector<model::event> events) {
        std::promise<engine::ingest_outcome> p;
        auto f = p.get_future();
        service_->submit(std::move(events), [&p](engine::ingest_outcome o) { p.set_value(std::move(o)); });
        EXPECT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
        return f.get();
    }

    static model::event nps(std::string account, std::string id, int score, timestamp at = t0 + 10 * day) {
        model::event e;
        e.type = model::event_type::nps;
        e.account = std::move(account);
        e.id = std::move(id);
        e.at = at;
        e.fields["score"] = score;
        return e;
    }

    // Runs `f` on the account's shard and waits for it.
    template <class F>
    auto on_shard(const std::string& account, F f) {
        using result = decltype(f(std::declval<engine::core&>()));
        std::promise<result> p;
        auto future = p.get_future();
        service_->post(account, [&](engine::core& c) { p.set_value(f(c)); });
        EXPECT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
        return future.get();
    }

    std::size_t answers_in_memory(const std::string& account) {
        return on_shard(account, [account](engine::core& c) -> std::size_t {
            const auto* r = c.find(account);
            return r ? r->state.stream(model::event_type::nps).size() : 0;
        });
    }

    double counter(const char* name, const std::string& label, const std::string& value) {
        for (const auto& family : metrics_->registry()->Collect()) {
            if (family.name != name) continue;
            for (const auto& m : family.metric)
                for (const auto& l : m.label)
                    if (l.name == label && l.value == value) return m.counter.value;
        }
        return -1;
    }

    std::string dir_;
    faults::fault_env faults_;
    manual_clock clock_;
    std::shared_ptr<const rules::rule_set> rules_;
    std::unique_ptr<store::store> store_;
    std::unique_ptr<metrics::engine_metrics> metrics_;
    std::unique_ptr<engine::service> service_;
    std::function<void(engine::service_options&)> configure_;  // before start(), when set
};

}  // namespace

// Issue 11, defect 1 (the lead's fix, kept through the refactor): a failed write takes
// the round back whole, and the next event of the account is durable across a restart.
TEST_F(ServiceTest, a_failed_write_is_taken_back_and_a_later_event_survives_a_restart) {
    start();
    ASSERT_EQ(submit({nps("acme", "a", 9)}).status, engine::ingest_outcome::status::stored);
    faults_.fs->fail(faults::fault_fs::wal, rocksdb::IOStatus::IOError("injected: device error"));
    auto failed = submit({nps("acme", "b", 9)});
    EXPECT_EQ(failed.status, engine::ingest_outcome::status::failed);
    EXPECT_EQ(answers_in_memory("acme"), 1u) << "the failed round's event is not in memory";
    faults_.fs->heal();
    auto stored = submit({nps("acme", "c", 9)});
    EXPECT_EQ(stored.status, engine::ingest_outcome::status::stored) << stored.error;
    EXPECT_EQ(answers_in_memory("acme"), 2u);
    // Crash-like restart: nothing snapshotted since, so "c" must come back from its event.
    service_->stop();
    service_.reset();
    store_.reset();
    start();
    EXPECT_EQ(answers_in_memory("acme"), 2u);
    EXPECT_EQ(submit({nps("acme", "b", 9)}).accepted, 1u) << "the failed event was never stored: a resend is new";
}

// Issue 11, defect 2 / item 7: one request's unkeyable event fails that request alone.
TEST_F(ServiceTest, an_event_the_store_cannot_key_fails_its_request_alone) {
    start();
    service_->stop();  // queue both requests into one round: paused shards take no work
    service_.reset();
    engine::service_options so;
    so.shards = 1;
    so.pause_shards = false;
    service_ = std::make_unique<engine::service>(so, *store_, clock_, *metrics_, rules_);
    std::string error;
    ASSERT_TRUE(service_->recover(error)) << error;
    std::promise<engine::ingest_outcome> bad_p, good_p;
    service_->submit({nps(std::string("ev\0il", 5), "x", 3)}, [&](engine::ingest_outcome o) { bad_p.set_value(o); });
    service_->submit({nps("acme", "y", 3)}, [&](engine::ingest_outcome o) { good_p.set_value(o); });
    service_->start();  // both requests are queued: one round takes them together
    auto bad = bad_p.get_future().get();
    auto good = good_p.get_future().get();
    EXPECT_EQ(bad.status, engine::ingest_outcome::status::invalid);
    EXPECT_NE(bad.error.find("account"), std::string::npos) << bad.error;
    EXPECT_EQ(good.status, engine::ingest_outcome::status::stored) << good.error;
    EXPECT_EQ(good.accepted, 1u);
    EXPECT_EQ(answers_in_memory("acme"), 1u);
}

// Issue 11, defect 5: a full disk answers `unavailable` (503), counts, and once space
// returns ingest works again without a restart; nothing acknowledged is lost.
TEST_F(ServiceTest, a_full_disk_makes_ingest_unavailable_until_space_returns) {
    start();
    ASSERT_EQ(submit({nps("acme", "a", 9)}).status, engine::ingest_outcome::status::stored);
    faults_.fs->fail(faults::fault_fs::all);
    for (int i = 0; i < 5; ++i) {
        auto o = submit({nps("acme", "full-" + std::to_string(i), 9)});
        EXPECT_EQ(o.status, engine::ingest_outcome::status::unavailable) << o.error;
    }
    EXPECT_FALSE(service_->writable().ok());
    EXPECT_EQ(service_->writable().error_code(), store::status::code::no_space);
    EXPECT_GE(counter("redflag_store_write_failures_total", "reason", "no_space"), 5);
    EXPECT_EQ(answers_in_memory("acme"), 1u);

    faults_.fs->heal();
    auto o = submit({nps("acme", "b", 9)});
    EXPECT_EQ(o.status, engine::ingest_outcome::status::stored) << o.error;
    EXPECT_TRUE(service_->writable().ok());
    restart();
    EXPECT_EQ(answers_in_memory("acme"), 2u) << "a and b survive; none of the refused ones is stored";
}

// Issue 11, item 6: an ack is answered only once durable; a failed write leaves it undone.
TEST_F(ServiceTest, an_ack_is_answered_after_its_write_and_taken_back_when_it_fails) {
    start();
    ASSERT_EQ(submit({nps("acme", "a", 2)}).status, engine::ingest_outcome::status::stored);
    auto alert_id = on_shard("acme", [](engine::core& c) -> std::string {
        const auto* r = c.find("acme");
        return r && !r->alerts.active().empty() ? r->alerts.active()[0].id : std::string{};
    });
    ASSERT_FALSE(alert_id.empty()) << "low_nps fires";
    auto ack = [&](const std::string& by) {
        std::promise<std::pair<bool, store::status>> p;
        auto f = p.get_future();
        auto applied = std::make_shared<bool>(false);
        engine::service::write_call call;
        call.apply = [alert_id, by, applied](engine::core& c) {
            *applied = c.acknowledge("acme", alert_id, {by, "on it", t0 + 10 * day});
        };
        call.written = [&p, applied](const store::status& st) { p.set_value({*applied, st}); };
        service_->post_write("acme", std::move(call));
        EXPECT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
        return f.get();
    };
    auto acks_in_memory = [&] {
        return on_shard("acme", [alert_id](engine::core& c) -> std::size_t {
            const auto* a = c.find("acme")->alerts.find_id(alert_id);
            return a ? a->acks.size() : 0;
        });
    };

    faults_.fs->fail(faults::fault_fs::all);
    auto [applied, st] = ack("liam");
    EXPECT_TRUE(applied);
    EXPECT_FALSE(st.ok()) << "the caller hears of the failed write";
    EXPECT_EQ(acks_in_memory(), 0u) << "the ack is taken back with its round";

    faults_.fs->heal();
    auto [applied2, st2] = ack("ana");
    EXPECT_TRUE(applied2);
    EXPECT_TRUE(st2.ok()) << st2.message();
    EXPECT_EQ(acks_in_memory(), 1u);
    auto stored = store_->get(store::column::alerts, alert_id);
    ASSERT_TRUE(stored.ok() && stored.value());
    auto record = alerts::parse_alert(*stored.value());
    ASSERT_TRUE(record);
    ASSERT_EQ(record->acks.size(), 1u);
    EXPECT_EQ(record->acks[0].by, "ana") << "the durable record has the ack that was answered, not the failed one";
}

// Issue 12, item 4: unreadable snapshots and stored events are counted, not only logged.
TEST_F(ServiceTest, unreadable_records_at_recovery_are_counted) {
    start();
    ASSERT_EQ(submit({nps("acme", "a", 9), nps("bolt", "b", 9)}).status, engine::ingest_outcome::status::stored);
    restart();  // snapshots acme and bolt
    service_->stop();
    service_.reset();
    {
        store::write_batch batch(*store_);
        batch.put_snapshot("acme", 1, "not a snapshot");
        batch.put_event("bolt", 2, t0, "{not json");
        batch.mark_dirty("bolt");
        batch.put(store::column::alerts, "0123", "{\"id\": 7}");
        ASSERT_TRUE(store_->write(batch).ok());
    }
    ASSERT_TRUE(store_->close().ok());
    store_.reset();
    start();
    EXPECT_EQ(counter("redflag_degraded_total", "what", "snapshot"), 1);
    EXPECT_EQ(counter("redflag_degraded_total", "what", "stored_event"), 1);
    EXPECT_EQ(counter("redflag_degraded_total", "what", "alert_record"), 1);
    EXPECT_EQ(answers_in_memory("acme"), 1u) << "the unreadable snapshot is rebuilt from its events";
}

// Issue 12, item 3: the rule metrics are fed from the engine: every account evaluation
// counts for each rule, and a rule's runtime error (an attribute of the wrong type)
// counts for that rule only.
TEST_F(ServiceTest, evaluations_and_runtime_errors_reach_the_rule_metrics) {
    start();
    model::event profile;
    profile.type = model::event_type::account;
    profile.account = "acme";
    profile.id = "p1";
    profile.at = t0 + 10 * day;
    profile.fields["attributes"] = boost::json::object{{"tier", "gold"}};
    ASSERT_EQ(submit({profile}).status, engine::ingest_outcome::status::stored);
    ASSERT_EQ(submit({nps("bolt", "n1", 9)}).status, engine::ingest_outcome::status::stored);
    // The counters are added once per round, after the write: a query round later they show.
    on_shard("acme", [](engine::core&) { return 0; });
    on_shard("bolt", [](engine::core&) { return 0; });
    EXPECT_GE(counter("redflag_rule_evaluations_total", "rule", "tier_above_5"), 2);
    EXPECT_GE(counter("redflag_rule_evaluations_total", "rule", "low_nps"), 2);
    EXPECT_GE(counter("redflag_rule_runtime_errors_total", "rule", "tier_above_5"), 1);
    EXPECT_EQ(counter("redflag_rule_runtime_errors_total", "rule", "low_nps"), 0);
    double observed = 0;
    for (const auto& family : metrics_->registry()->Collect())
        if (family.name == "redflag_rule_eval_duration_seconds")
            for (const auto& m : family.metric) observed += double(m.histogram.sample_count);
    EXPECT_GE(observed, 1) << "evaluation times are observed";
}

// Issue 15: the health history is written in the account's own write batch: a point for
// the day of each account an event touched, and every account's on a new day's first round.
// The health score of the two tests below: the mean NPS answer of 30 days, times 10.
const char* health_rules_text = R"(
score health {
  component nps weight 1 = avg(nps.score, 30d) / 10
  band green >= 70
  band red
}
)";

void ServiceTest::start_with_health_score() {
    auto loaded = rules::load_sources({{"scores.rules", health_rules_text}});
    ASSERT_TRUE(loaded.rules) << rules::render_text(loaded.problems);
    rules_ = loaded.rules;
    start();
}

TEST_F(ServiceTest, health_points_are_written_per_day_with_the_round) {
    history_interval_ = duration{0};  // every round writes its accounts' points
    start_with_health_score();
    auto points = [&](const std::string& account) { return history_points(account); };
    ASSERT_EQ(submit({nps("acme", "a", 8)}).status, engine::ingest_outcome::status::stored);
    auto first = points("acme");
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].day, engine::history::day_of(clock_.now()));
    ASSERT_EQ(first[0].scores.size(), 1u);
    EXPECT_EQ(first[0].scores[0].value, 80.0);
    EXPECT_EQ(first[0].scores[0].components[0].value, 0.8);
    // Later the same day: the day's point is replaced by the latest evaluation.
    ASSERT_EQ(submit({nps("acme", "b", 4)}).status, engine::ingest_outcome::status::stored);
    auto same_day = points("acme");
    ASSERT_EQ(same_day.size(), 1u);
    EXPECT_EQ(same_day[0].scores[0].value, 60.0);
    clock_.set(clock_.now() + day);
    // The next day's first round written gives every account its point, events or not.
    ASSERT_EQ(submit({nps("globex", "g", 9)}).status, engine::ingest_outcome::status::stored);
    on_shard("acme", [](engine::core&) { return 0; });  // a round of acme's shard (a call runs after one)
    auto next_day = points("acme");
    ASSERT_EQ(next_day.size(), 2u) << "acme's second day comes from the day's sweep";
    EXPECT_EQ(next_day[1].day, engine::history::day_of(clock_.now()));
    EXPECT_EQ(next_day[1].scores[0].value, 60.0);
    EXPECT_EQ(points("globex").size(), 1u);
}

// Points of accounts whose events changed them are rewritten at most once an interval,
// at the next day's first round under their own day, and at stop; each is the account's
// latest evaluation of its day.
TEST_F(ServiceTest, health_points_are_written_once_an_interval_and_at_the_day_end_and_stop) {
    start_with_health_score();
    auto points = [&](const std::string& account) { return history_points(account); };
    auto round_of_acme = [&] { on_shard("acme", [](engine::core&) { return 0; }); };
    const auto day1 = engine::history::day_of(clock_.now());
    // The day's first round writes the point (8 → 80).
    ASSERT_EQ(submit({nps("acme", "a", 8)}).status, engine::ingest_outcome::status::stored);
    ASSERT_EQ(points("acme").size(), 1u);
    EXPECT_EQ(points("acme")[0].scores[0].value, 80.0);
    // Within the minute: the point waits ((8 + 4) / 2 → 60 is pending).
    clock_.set(clock_.now() + std::chrono::seconds(30));
    ASSERT_EQ(submit({nps("acme", "b", 4)}).status, engine::ingest_outcome::status::stored);
    EXPECT_EQ(points("acme")[0].scores[0].value, 80.0);
    // An account new since its shard's first round of the day (initech shares acme's
    // shard) gets its first point at once.
    ASSERT_EQ(submit({nps("initech", "i", 9)}).status, engine::ingest_outcome::status::stored);
    ASSERT_EQ(points("initech").size(), 1u);
    EXPECT_EQ(points("initech")[0].scores[0].value, 90.0);
    // A round after the minute writes it, events or not.
    clock_.set(clock_.now() + std::chrono::seconds(31));
    round_of_acme();
    ASSERT_EQ(points("acme").size(), 1u);
    EXPECT_EQ(points("acme")[0].scores[0].value, 60.0);
    // Late in the day: (8 + 4 + 9) / 3 → 70 is written (a minute has passed), then
    // (8 + 4 + 9 + 3) / 4 → 60 is pending when the day ends; the next day's first round
    // writes it under day 1, and day 2's point of every account.
    clock_.set(engine::history::start_of_day(day1) + day - std::chrono::seconds(40));
    ASSERT_EQ(submit({nps("acme", "c", 9, clock_.now())}).status, engine::ingest_outcome::status::stored);
    EXPECT_EQ(points("acme")[0].scores[0].value, 70.0);
    clock_.set(clock_.now() + std::chrono::seconds(30));
    ASSERT_EQ(submit({nps("acme", "d", 3, clock_.now())}).status, engine::ingest_outcome::status::stored);
    EXPECT_EQ(points("acme")[0].scores[0].value, 70.0);
    clock_.set(clock_.now() + std::chrono::seconds(20));
    round_of_acme();
    auto two_days = points("acme");
    ASSERT_EQ(two_days.size(), 2u);
    EXPECT_EQ(two_days[0].day, day1);
    EXPECT_EQ(two_days[0].scores[0].value, 60.0) << "day 1 keeps its latest evaluation";
    EXPECT_EQ(two_days[1].day, day1 + 1);
    EXPECT_EQ(two_days[1].scores[0].value, 60.0);
    // A stop writes what is pending: (8 + 4 + 9 + 3 + 10) / 5 → 68.
    ASSERT_EQ(submit({nps("acme", "e", 10, clock_.now())}).status, engine::ingest_outcome::status::stored);
    EXPECT_EQ(points("acme")[1].scores[0].value, 60.0);
    restart();
    ASSERT_EQ(points("acme").size(), 2u);
    EXPECT_EQ(points("acme")[1].scores[0].value, 68.0);
}

// Memory: a shard hands free heap back (malloc_trim) once it goes idle after a burst of
// events, once per burst, and not while it has no events to show for it.
TEST_F(ServiceTest, a_shard_releases_free_memory_once_when_idle_after_a_burst) {
    std::atomic<int> releases{0};
    configure_ = [&releases](engine::service_options& so) {
        so.shards = 1;
        so.release_after_events = 3;
        so.release_idle = std::chrono::milliseconds(100);
        so.release_memory = [&releases] { ++releases; };
    };
    start();
    auto wait_for = [&releases](int n) {
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (releases.load() < n && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return releases.load();
    };
    // Two events are fewer than the threshold: idle rounds pass (the shard wakes at least
    // every second) without a release.
    EXPECT_EQ(submit({nps("acme", "e1", 9), nps("acme", "e2", 9)}).status, engine::ingest_outcome::status::stored);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(releases.load(), 0);
    // The third reaches it: released once the shard has been idle, then not again.
    EXPECT_EQ(submit({nps("acme", "e3", 9)}).status, engine::ingest_outcome::status::stored);
    EXPECT_EQ(wait_for(1), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(releases.load(), 1);
    // The next burst releases again.
    EXPECT_EQ(submit({nps("acme", "e4", 9), nps("acme", "e5", 9), nps("acme", "e6", 9)}).status,
              engine::ingest_outcome::status::stored);
    EXPECT_EQ(wait_for(2), 2);
}
