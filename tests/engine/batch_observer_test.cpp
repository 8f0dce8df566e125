// The engine's batch_observer contract on a real service and a real store: records an
// observer stages go with the round's write, and it hears committed() only when that write
// succeeded, discarded() when the round was taken back.
#include "../store/fault_env.hpp"
#include "engine/batch_observer.hpp"
#include "engine/service.hpp"
#include "fake_rules.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <mutex>

#include <stdlib.h>

using namespace redflag;

namespace {

class recording_observer final : public engine::batch_observer {
public:
    void staged(int, const model::event& e, store::write_batch& batch) override {
        std::lock_guard lock(mutex);
        batch.put(store::column::meta, "observed:" + e.id, e.account);
        pending += " " + e.id;
    }
    // Rounds that staged nothing (idle wakes, duplicates only) are not logged.
    void committed(int) override { end("committed"); }
    void discarded(int) override { end("discarded"); }
    void end(const std::string& what) {
        std::lock_guard lock(mutex);
        if (!pending.empty()) log.push_back(what + pending);
        pending.clear();
    }
    std::mutex mutex;
    std::string pending;  // ids staged in the round (the shard thread's)
    std::vector<std::string> log;
};

class BatchObserver : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (std::filesystem::temp_directory_path() / "redflag-observer-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        store::options opts;
        opts.path = dir_ + "/db";
        opts.block_cache_bytes = 8u << 20;
        opts.write_buffer_bytes = 16u << 20;
        opts.env = faults_.env.get();  // tests/store/fault_env.hpp: writes fail on demand
        std::string error;
        store_ = store::store::open(opts, error);
        ASSERT_TRUE(store_) << error;
        clock_.set(*parse_rfc3339("2026-11-02T12:00:00Z"));
    }
    void TearDown() override {
        store_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    engine::ingest_outcome submit(engine::service& svc, std::vector<model::event> batch) {
        std::promise<engine::ingest_outcome> p;
        auto f = p.get_future();
        svc.submit(std::move(batch), [&p](engine::ingest_outcome o) { p.set_value(std::move(o)); });
        return f.get();
    }

    model::event account_event(std::string account, std::string id) {
        model::event e;
        e.type = model::event_type::account;
        e.account = std::move(account);
        e.id = std::move(id);
        e.at = clock_.now();
        return e;
    }

    redflag::testing::fault_env faults_;  // outlives store_
    std::string dir_;
    manual_clock clock_;
    std::unique_ptr<store::store> store_;
    metrics::engine_metrics metrics_;
};

}  // namespace

TEST_F(BatchObserver, staged_records_are_written_with_the_round_and_committed_once_durable) {
    recording_observer observer;
    engine::service_options options;
    options.shards = 1;
    options.observer = &observer;
    engine::service svc(options, *store_, clock_, metrics_, std::make_shared<engine::testing::fake_rules>());
    std::string error;
    ASSERT_TRUE(svc.recover(error)) << error;
    svc.start();
    auto outcome = submit(svc, {account_event("acme", "a1")});
    EXPECT_EQ(outcome.status, engine::ingest_outcome::status::stored);
    EXPECT_EQ(store_->get(store::column::meta, "observed:a1").value(), std::optional<std::string>("acme"));
    // A duplicate is not staged again.
    submit(svc, {account_event("acme", "a1")});
    svc.stop();
    std::lock_guard lock(observer.mutex);
    EXPECT_EQ(observer.log, (std::vector<std::string>{"committed a1"}));
}

TEST_F(BatchObserver, a_round_whose_write_fails_is_discarded_and_its_records_are_not_stored) {
    recording_observer observer;
    engine::service_options options;
    options.shards = 1;
    options.observer = &observer;
    engine::service svc(options, *store_, clock_, metrics_, std::make_shared<engine::testing::fake_rules>());
    std::string error;
    ASSERT_TRUE(svc.recover(error)) << error;
    svc.start();
    // The device fails the round's write (tests/store/fault_env.hpp): the round, both
    // events with it, is taken back.
    faults_.fs->fail(redflag::testing::fault_fs::wal, rocksdb::IOStatus::IOError("injected: device error"));
    auto outcome = submit(svc, {account_event("acme", "a1"), account_event("beta", "a2")});
    faults_.fs->heal();
    EXPECT_EQ(outcome.status, engine::ingest_outcome::status::failed);
    EXPECT_FALSE(store_->get(store::column::meta, "observed:a1").value());
    svc.stop();
    std::lock_guard lock(observer.mutex);
    EXPECT_EQ(observer.log, (std::vector<std::string>{"discarded a1 a2"}));
}
