// The engine side of cluster mode (engine/partitions.hpp) over the real service and
// RocksDB store: the applied stream sequence written with the events, snapshots moved to
// another instance, back pressure and failed writes. The stream itself is not needed
// here: the runner's calls are made directly (tests/cluster drives them from JetStream).
#include "engine/partitions.hpp"

#include "../store/fault_env.hpp"
#ifndef REDFLAG_LEASE_PROBE
#define REDFLAG_LEASE_PROBE ""  // the harness's probe processes are not used here
#endif
#include "../cluster/nats_harness.hpp"
#include "cluster/lease_manager.hpp"
#include "cluster/publisher.hpp"
#include "cluster/stream.hpp"
#include "metrics/engine_metrics.hpp"
#include "alerts/notify.hpp"
#include "delivery/outbox.hpp"
#include "model/codec.hpp"
#include "rules/rule_set.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <string>

#include <unistd.h>

using namespace redflag;
namespace fs = std::filesystem;
namespace faults = redflag::testing;

namespace {

const timestamp t0 = *parse_rfc3339("2026-11-01T00:00:00Z");
constexpr int partition_count = 8;

const char* rules_text = R"(
rule low_nps {
  title    "Low NPS"
  when     avg(nps.score, 30d) < 7
  severity high
}
)";

// One instance: its own store, service and partitions.
struct instance {
    std::unique_ptr<store::store> store;
    std::unique_ptr<metrics::engine_metrics> metrics;
    std::unique_ptr<engine::service> service;
    std::unique_ptr<engine::partitions> parts;

    void stop() {
        parts.reset();
        if (service) service->stop();
        service.reset();
        if (store) {
            EXPECT_TRUE(store->close().ok());
        }
        store.reset();
    }
};

class PartitionsTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "redflag-partitions-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        auto loaded = rules::load_sources({{"test.rules", rules_text}});
        ASSERT_TRUE(loaded.rules) << rules::render_text(loaded.problems);
        rules_ = loaded.rules;
        clock_.set(t0 + 10 * day);
    }
    void TearDown() override {
        a_.stop();
        b_.stop();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    void open(instance& in, const std::string& name, rocksdb::Env* env = nullptr) {
        store::options o;
        o.path = (fs::path(dir_) / name).string();
        o.block_cache_bytes = 8u << 20;
        o.write_buffer_bytes = 8u << 20;
        o.env = env;
        o.resume_interval = std::chrono::milliseconds(0);
        o.resume_free_bytes = 1;
        o.clock = &clock_;
        std::string error;
        in.store = store::store::open(o, error);
        ASSERT_TRUE(in.store) << error;
        in.metrics = std::make_unique<metrics::engine_metrics>();
        engine::service_options so;
        so.shards = 2;
        so.snapshot_interval = std::chrono::hours(1);
        in.service = std::make_unique<engine::service>(so, *in.store, clock_, *in.metrics, rules_);
        in.parts = std::make_unique<engine::partitions>(*in.service, partition_count);
        ASSERT_TRUE(in.service->recover(error)) << error;
        in.service->start();
    }

    static std::string nps(const std::string& account, const std::string& id, int score) {
        model::event e;
        e.type = model::event_type::nps;
        e.account = account;
        e.id = id;
        e.at = t0 + 10 * day;
        e.fields["score"] = score;
        return model::encode_event_json(e);
    }
    static std::int64_t stored_ns() { return to_millis(t0 + 10 * day) * 1'000'000; }

    // An account id of partition `p` (the n-th one found).
    static std::string account_in(int p, int n = 0) {
        for (int i = 0;; ++i) {
            auto id = "acct-" + std::to_string(i);
            if (cluster::partition_of(id, partition_count) == p && n-- == 0) return id;
        }
    }

    template <class F>
    static auto on_shard(instance& in, const std::string& account, F f) {
        using result = decltype(f(std::declval<engine::core&>()));
        std::promise<result> p;
        auto future = p.get_future();
        in.service->post(account, [&](engine::core& c) { p.set_value(f(c)); });
        EXPECT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
        return future.get();
    }
    static std::size_t answers(instance& in, const std::string& account) {
        return on_shard(in, account, [&](engine::core& c) -> std::size_t {
            const auto* r = c.find(account);
            return r ? r->state.stream(model::event_type::nps).size() : 0;
        });
    }
    static std::vector<std::string> active_alerts(instance& in, const std::string& account) {
        return on_shard(in, account, [&](engine::core& c) {
            std::vector<std::string> ids;
            if (const auto* r = c.find(account))
                for (const auto& a : r->alerts.active()) ids.push_back(a.id + ":" + std::string(alerts::name_of(a.state)));
            return ids;
        });
    }

    struct recording_sink final : delivery::outbox_sink {
        std::mutex mu;
        std::size_t refs = 0;
        void enqueue(std::vector<delivery::outbox_ref> r) override {
            std::lock_guard lock(mu);
            refs += r.size();
        }
        std::size_t count() {
            std::lock_guard lock(mu);
            return refs;
        }
    };
    // An instance whose low_nps alerts notify channel "hook" into `sink` (which delivers
    // nothing: the records stay pending), wired as serve does.
    void open_with_delivery(instance& in, const std::string& name, recording_sink& sink) {
        std::string text = rules_text;
        text.replace(text.find("severity high"), 13, "severity high\n  notify   hook");
        auto loaded = rules::load_sources({{"n.rules", text}});
        ASSERT_TRUE(loaded.rules) << rules::render_text(loaded.problems);
        rules_ = loaded.rules;
        auto made = alerts::notification_builder::make("", {{"hook", "webhook", ""}}, rules_);
        ASSERT_TRUE(made.errors.empty()) << made.errors.front();
        store::options o;
        o.path = (fs::path(dir_) / name).string();
        o.clock = &clock_;
        std::string error;
        in.store = store::store::open(o, error);
        ASSERT_TRUE(in.store) << error;
        in.metrics = std::make_unique<metrics::engine_metrics>();
        engine::service_options so;
        so.shards = 2;
        in.service = std::make_unique<engine::service>(so, *in.store, clock_, *in.metrics, rules_);
        in.parts = std::make_unique<engine::partitions>(*in.service, partition_count);
        in.parts->set_outbox_sink(&sink);
        in.service->set_delivery(made.builder, &sink);
        ASSERT_TRUE(in.service->recover(error)) << error;
        in.service->start();
    }

    std::string dir_;
    manual_clock clock_;
    std::shared_ptr<const rules::rule_set> rules_;
    faults::fault_env faults_;  // outlives the instances: a store may use its Env
    instance a_, b_;
};

TEST_F(PartitionsTest, the_applied_sequence_is_written_with_the_events_and_duplicates_advance_it) {
    open(a_, "a");
    const int p = 3;
    const auto acct = account_in(p);
    EXPECT_EQ(a_.parts->applied_sequence(p), 0u);
    a_.parts->apply(p, 4, nps(acct, "e1", 3), stored_ns());
    a_.parts->apply(p, 9, nps(acct, "e2", 4), stored_ns());
    a_.parts->apply(p, 12, nps(acct, "e1", 3), stored_ns());  // a duplicate id: not applied, still counted
    a_.parts->flush(p);
    EXPECT_EQ(a_.parts->applied_sequence(p), 12u);
    EXPECT_EQ(answers(a_, acct), 2u);
    EXPECT_EQ(a_.parts->applied_sequence(p + 1), 0u);
    EXPECT_TRUE(a_.parts->owns(acct));

    // A restart finds both the events and the sequence.
    a_.stop();
    open(a_, "a");
    EXPECT_EQ(a_.parts->applied_sequence(p), 12u);
    EXPECT_EQ(answers(a_, acct), 2u);
}

TEST_F(PartitionsTest, a_snapshot_moves_state_and_alerts_to_another_instance) {
    open(a_, "a");
    open(b_, "b");
    const int p = 5;
    const auto one = account_in(p, 0), two = account_in(p, 1), other = account_in(p + 1);
    a_.parts->apply(p, 1, nps(one, "e1", 2), stored_ns());
    a_.parts->apply(p, 2, nps(two, "e2", 9), stored_ns());
    a_.parts->apply(p + 1, 1, nps(other, "e3", 1), stored_ns());
    a_.parts->apply(p, 3, nps(one, "e4", 3), stored_ns());
    a_.parts->flush(p);
    a_.parts->flush(p + 1);
    auto firing = active_alerts(a_, one);
    ASSERT_EQ(firing.size(), 1u);

    auto snap = a_.parts->snapshot(p);
    ASSERT_TRUE(snap.ok()) << snap.error().message();
    EXPECT_EQ(snap.value().sequence, 3u);

    auto st = b_.parts->restore(p, snap.value().sequence, snap.value().bytes);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(b_.parts->applied_sequence(p), 3u);
    EXPECT_EQ(answers(b_, one), 2u);
    EXPECT_EQ(answers(b_, two), 1u);
    EXPECT_EQ(answers(b_, other), 0u);  // another partition's account stays where it is
    EXPECT_EQ(active_alerts(b_, one), firing);  // the same alert, same id and state
    EXPECT_TRUE(active_alerts(b_, two).empty());
    EXPECT_TRUE(b_.parts->owns(one));

    // The stream continues on the new owner from the snapshot's sequence; a restart of the
    // new owner keeps what the restore wrote.
    b_.parts->apply(p, 4, nps(one, "e5", 1), stored_ns());
    b_.parts->flush(p);
    EXPECT_EQ(b_.parts->applied_sequence(p), 4u);
    EXPECT_EQ(answers(b_, one), 3u);
    b_.stop();
    open(b_, "b");
    EXPECT_EQ(b_.parts->applied_sequence(p), 4u);
    EXPECT_EQ(answers(b_, one), 3u);
    EXPECT_EQ(answers(b_, two), 1u);
    EXPECT_EQ(active_alerts(b_, one), firing);
}

// Issue 17: an event id the former owner applied is still a duplicate on the new owner,
// even when it comes back after the stream's duplicate window (a client retrying late).
TEST_F(PartitionsTest, dedup_ids_move_with_the_snapshot) {
    open(a_, "a");
    open(b_, "b");
    const int p = 6;
    const auto acct = account_in(p);
    a_.parts->apply(p, 1, nps(acct, "e1", 2), stored_ns());
    a_.parts->apply(p, 2, nps(acct, "e2", 3), stored_ns());
    a_.parts->flush(p);
    auto snap = a_.parts->snapshot(p);
    ASSERT_TRUE(snap.ok()) << snap.error().message();
    ASSERT_TRUE(b_.parts->restore(p, snap.value().sequence, snap.value().bytes).ok());
    b_.parts->apply(p, 3, nps(acct, "e1", 2), stored_ns());  // the same id, a later message
    b_.parts->apply(p, 4, nps(acct, "e3", 4), stored_ns());
    b_.parts->flush(p);
    EXPECT_EQ(answers(b_, acct), 3u);  // e1, e2, e3: e1 once
    EXPECT_EQ(b_.parts->applied_sequence(p), 4u);
}

TEST_F(PartitionsTest, a_corrupt_snapshot_is_refused_and_changes_nothing) {
    open(a_, "a");
    open(b_, "b");
    const int p = 2;
    a_.parts->apply(p, 1, nps(account_in(p), "e1", 2), stored_ns());
    a_.parts->flush(p);
    auto snap = a_.parts->snapshot(p);
    ASSERT_TRUE(snap.ok());
    auto truncated = snap.value().bytes.substr(0, snap.value().bytes.size() - 3);
    EXPECT_EQ(b_.parts->restore(p, 1, truncated).error_code(), cluster::status::code::corrupt);
    EXPECT_EQ(b_.parts->restore(p, 1, "garbage").error_code(), cluster::status::code::corrupt);
    // A snapshot of another partition is not taken for this one.
    EXPECT_EQ(b_.parts->restore(p + 1, 1, snap.value().bytes).error_code(), cluster::status::code::corrupt);
    EXPECT_EQ(b_.parts->applied_sequence(p), 0u);
    EXPECT_EQ(answers(b_, account_in(p)), 0u);
}

TEST_F(PartitionsTest, after_a_failed_write_the_partition_takes_no_events_until_dropped) {
    auto& faults = faults_;
    open(a_, "a", faults.env.get());
    const int p = 1;
    const auto acct = account_in(p);
    a_.parts->apply(p, 1, nps(acct, "e1", 5), stored_ns());
    a_.parts->flush(p);
    faults.fs->fail(faults::fault_fs::wal, rocksdb::IOStatus::IOError("injected: device error"));
    a_.parts->apply(p, 2, nps(acct, "e2", 5), stored_ns());
    a_.parts->flush(p);
    faults.fs->heal();
    // Sequence 2 was lost to the failed write: sequence 3 must not be recorded past it.
    a_.parts->apply(p, 3, nps(acct, "e3", 5), stored_ns());
    a_.parts->flush(p);
    EXPECT_EQ(a_.parts->applied_sequence(p), 1u);
    EXPECT_EQ(answers(a_, acct), 1u);

    // Acquired again, the runner starts after the applied sequence.
    a_.parts->drop(p);
    EXPECT_FALSE(a_.parts->owns(acct));
    a_.parts->apply(p, 2, nps(acct, "e2", 5), stored_ns());
    a_.parts->apply(p, 3, nps(acct, "e3", 5), stored_ns());
    a_.parts->flush(p);
    EXPECT_EQ(a_.parts->applied_sequence(p), 3u);
    EXPECT_EQ(answers(a_, acct), 3u);
}

// Only the owner notifies: alerts of accounts whose partition is not owned (never
// acquired, or dropped) get no outbox records.
TEST_F(PartitionsTest, alerts_of_partitions_not_owned_send_no_notifications) {
    recording_sink sink;
    open_with_delivery(a_, "n", sink);

    const int p = 6;
    a_.parts->apply(p, 1, nps(account_in(p, 0), "e1", 1), stored_ns());  // p is owned from now on
    a_.parts->flush(p);
    ASSERT_EQ(active_alerts(a_, account_in(p, 0)).size(), 1u);
    EXPECT_EQ(sink.count(), 1u);

    // The same alert for accounts of a partition dropped and of one never owned, through
    // the engine directly: recorded, not notified.
    a_.parts->drop(p);
    auto submit = [&](const std::string& account) {
        std::promise<void> done;
        auto e = model::decode_event_json(nps(account, "x", 1));
        a_.service->submit({*e}, [&](engine::ingest_outcome) { done.set_value(); });
        done.get_future().wait();
    };
    submit(account_in(p, 1));
    submit(account_in(p + 1, 0));
    EXPECT_EQ(active_alerts(a_, account_in(p, 1)).size(), 1u);
    EXPECT_EQ(active_alerts(a_, account_in(p + 1, 0)).size(), 1u);
    EXPECT_EQ(sink.count(), 1u);
    a_.stop();  // before the sink goes
}

// A notification not yet delivered when the partition moves is in the snapshot: the new
// owner stores it under the same key and hands it to its dispatcher.
TEST_F(PartitionsTest, undelivered_notifications_move_with_the_snapshot) {
    recording_sink sink_a, sink_b;
    open_with_delivery(a_, "a", sink_a);
    open_with_delivery(b_, "b", sink_b);
    const int p = 4;
    a_.parts->apply(p, 1, nps(account_in(p), "e1", 1), stored_ns());
    a_.parts->flush(p);
    ASSERT_EQ(sink_a.count(), 1u);
    std::vector<std::string> keys;
    ASSERT_TRUE(a_.store->for_each_prefix(store::column::outbox, "", [&](std::string_view k, std::string_view) {
        keys.emplace_back(k);
        return true;
    }).ok());
    ASSERT_EQ(keys.size(), 1u);

    auto snap = a_.parts->snapshot(p);
    ASSERT_TRUE(snap.ok()) << snap.error().message();
    auto st = b_.parts->restore(p, snap.value().sequence, snap.value().bytes);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(sink_b.count(), 1u);
    auto stored = b_.store->get(store::column::outbox, keys[0]);
    ASSERT_TRUE(stored.ok());
    EXPECT_TRUE(stored.value().has_value());
    // Another partition's snapshot carries none of it.
    auto other = a_.parts->snapshot(p + 1);
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(b_.parts->restore(p + 1, other.value().sequence, other.value().bytes).ok());
    EXPECT_EQ(sink_b.count(), 1u);
    a_.stop();  // before the sinks go
    b_.stop();
}

TEST_F(PartitionsTest, the_shard_count_must_divide_the_partitions) {
    open(a_, "a");
    EXPECT_THROW(engine::partitions(*a_.service, 7), std::invalid_argument);
}

// The seam driven by the real cluster layer: a nats-server, two instances each with a
// partition_runner and a lease_manager over their own engine. The second joins (half the
// partitions move through snapshots), then the first stops renewing as a crash would:
// every published event ends up applied exactly once in the survivor's accounts.
TEST_F(PartitionsTest, partitions_move_between_instances_through_jetstream_with_every_event_applied_once) {
    using ms = std::chrono::milliseconds;
    cluster::testing::nats_cluster servers(1);
    cluster::testing::connected_stream conn_a(servers, "a", partition_count);
    cluster::testing::connected_stream conn_b(servers, "b", partition_count);
    auto snaps_a = cluster::snapshot_store::open(*conn_a.conn, conn_a.o);
    auto snaps_b = cluster::snapshot_store::open(*conn_b.conn, conn_b.o);
    ASSERT_TRUE(snaps_a.ok() && snaps_b.ok());
    open(a_, "a");
    open(b_, "b");

    cluster::partition_runner runner_a(*conn_a.conn, conn_a.o, **snaps_a, *a_.parts, ms(300));
    runner_a.start();
    cluster::lease_manager leases_a(*conn_a.conn, conn_a.o, runner_a);
    ASSERT_TRUE(leases_a.start().ok());
    ASSERT_TRUE(cluster::testing::eventually([&] { return runner_a.running().size() == partition_count; }, ms(10000)));

    // Events for 40 accounts; the expected count of answers of each.
    cluster::publisher pub(*conn_a.conn, conn_a.o);
    std::map<std::string, std::size_t> expected;
    int next_id = 0;
    auto publish = [&](int n) {
        std::vector<std::string> ids, data;
        std::vector<int> parts;
        for (int i = 0; i < n; ++i, ++next_id) {
            auto account = "acct-" + std::to_string(next_id % 40);
            auto id = "e" + std::to_string(next_id);
            ids.push_back(cluster::message_id(account, id));
            data.push_back(nps(account, id, next_id % 11));
            parts.push_back(cluster::partition_of(account, partition_count));
            ++expected[account];
        }
        std::vector<cluster::outgoing_message> batch;
        for (int i = 0; i < n; ++i) batch.push_back({parts[i], ids[i], data[i]});
        auto out = pub.publish(batch);
        ASSERT_TRUE(out.ok()) << out.error.message();
    };
    auto all_applied = [&](instance& in) {
        for (const auto& [account, count] : expected)
            if (answers(in, account) != count) return false;
        return true;
    };
    publish(400);
    ASSERT_TRUE(cluster::testing::eventually([&] { return all_applied(a_); }, ms(10000)));

    // b joins: a releases half the partitions (flush, snapshot, drop), b restores them.
    cluster::partition_runner runner_b(*conn_b.conn, conn_b.o, **snaps_b, *b_.parts, ms(300));
    runner_b.start();
    cluster::lease_manager leases_b(*conn_b.conn, conn_b.o, runner_b);
    ASSERT_TRUE(leases_b.start().ok());
    ASSERT_TRUE(cluster::testing::eventually(
        [&] { return runner_b.running().size() == partition_count / 2 && runner_a.running().size() == partition_count / 2; },
        ms(15000)));
    EXPECT_GT(runner_b.restores(), 0u);
    publish(400);

    // a stops renewing, as a crash would (its listener hears nothing): b takes everything.
    leases_a.stop(false);
    runner_a.stop();
    ASSERT_TRUE(cluster::testing::eventually([&] { return runner_b.running().size() == partition_count; }, ms(15000)));
    publish(200);
    ASSERT_TRUE(cluster::testing::eventually([&] { return all_applied(b_); }, ms(15000)));
    for (const auto& [account, count] : expected) {
        EXPECT_EQ(answers(b_, account), count) << account;
        EXPECT_TRUE(b_.parts->owns(account));
    }
    leases_b.stop(true);
    runner_b.stop();
}

}  // namespace

