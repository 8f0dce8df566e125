#include "ingest/adapters/unmatched.hpp"

#include "ingest/adapters/external_id_index.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

using namespace redflag;
using namespace redflag::ingest::adapters;
namespace json = boost::json;

namespace {

const timestamp t0 = *parse_rfc3339("2026-11-01T00:00:00Z");

// An ingest sink that keeps what it is handed and answers as told (the engine's contract:
// `stored` once durable, `overloaded` storing nothing).
class recording_sink final : public engine::ingest_sink {
public:
    void submit(std::vector<model::event> batch, std::function<void(engine::ingest_outcome)> done) override {
        engine::ingest_outcome o;
        {
            std::lock_guard lock(mutex_);
            if (refuse_ > 0) {
                --refuse_;
                o.status = engine::ingest_outcome::status::overloaded;
            } else {
                o.accepted = batch.size();
                for (auto& e : batch) submitted_.push_back(std::move(e));
            }
            ++calls_;
        }
        changed_.notify_all();
        done(o);
    }
    std::vector<model::event> wait_for(std::size_t n) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, std::chrono::seconds(10), [&] { return submitted_.size() >= n; });
        return submitted_;
    }
    void refuse(int n) {
        std::lock_guard lock(mutex_);
        refuse_ = n;
    }
    int calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<model::event> submitted_;
    int refuse_ = 0;
    int calls_ = 0;
};

model::event contract(std::string id, timestamp at, double mrr) {
    model::event e;
    e.type = model::event_type::contract;
    e.account = "ignored";
    e.id = std::move(id);
    e.at = at;
    e.fields = json::object{{"mrr", mrr}};
    return e;
}

void map_customer(external_id_index& index, store::store& s, std::string vendor, std::string customer, std::string account) {
    model::event e;
    e.type = model::event_type::account;
    e.account = std::move(account);
    e.fields = json::object{{"external_ids", json::object{{vendor, customer}}}};
    store::write_batch batch(s);
    index.staged(0, e, batch);
    ASSERT_TRUE(s.write(batch).ok());
    index.committed(0);
}

class UnmatchedEvents : public redflag::ingest::adapters::testing::StoreFixture {};

const customer_ref cus_x{"stripe", "customer", "cus_X"};

}  // namespace

TEST_F(UnmatchedEvents, kept_events_are_listed_and_a_redelivery_is_not_stored_twice) {
    recording_sink sink;
    external_id_index index(1);
    unmatched_events waiting(*store_, sink, index, nullptr);
    ASSERT_TRUE(waiting.start().ok());
    auto late = contract("stripe:evt_1", t0 + 60 * seconds_ms, 200);
    auto early = contract("stripe:evt_2", t0, 100);
    auto kept = waiting.keep("stripe", {{cus_x, &late}, {cus_x, &early}}, t0 + 120 * seconds_ms);
    ASSERT_TRUE(kept.status.ok());
    EXPECT_EQ(kept.stored, 2u);
    auto again = waiting.keep("stripe", {{cus_x, &late}}, t0 + 500 * seconds_ms);
    EXPECT_EQ(again.stored, 0u);
    EXPECT_EQ(again.already, 1u);
    EXPECT_EQ(waiting.waiting(), 2u);

    auto listed = waiting.list("", 100);
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed.value().size(), 2u);
    EXPECT_EQ(listed.value()[0].id, "stripe:evt_2");  // time order, not id order
    EXPECT_EQ(listed.value()[0].customer, "cus_X");
    EXPECT_EQ(listed.value()[0].type, "contract");
    EXPECT_EQ(listed.value()[0].received_at, t0 + 120 * seconds_ms);
    EXPECT_EQ(waiting.list("zendesk", 100).value().size(), 0u);
    EXPECT_EQ(waiting.list("stripe", 1).value().size(), 1u);
    EXPECT_EQ(sink.calls(), 0) << "nothing resolves: nothing is submitted";
}

TEST_F(UnmatchedEvents, a_durable_mapping_submits_the_events_in_time_order_with_their_account_then_deletes_them) {
    recording_sink sink;
    external_id_index index(1);
    unmatched_events waiting(*store_, sink, index, nullptr);
    index.set_listener([&](const auto& mappings) {
        std::vector<std::pair<std::string, std::string>> c;
        for (const auto& m : mappings) c.emplace_back(m.vendor, m.customer);
        waiting.release(std::move(c));
    });
    ASSERT_TRUE(waiting.start().ok());
    auto late = contract("stripe:evt_1", t0 + 60 * seconds_ms, 200);
    auto early = contract("stripe:evt_2", t0, 100);
    auto other = contract("stripe:evt_3", t0, 5);
    ASSERT_TRUE(waiting.keep("stripe", {{cus_x, &late}, {cus_x, &early}, {{"stripe", "customer", "cus_Y"}, &other}}, t0)
                    .status.ok());
    sink.refuse(1);  // the first submit is refused (overloaded): retried
    map_customer(index, *store_, "stripe", "cus_X", "acme");
    auto submitted = sink.wait_for(2);
    ASSERT_EQ(submitted.size(), 2u);
    EXPECT_EQ(submitted[0].id, "stripe:evt_2");  // the earlier one first
    EXPECT_EQ(submitted[1].id, "stripe:evt_1");
    EXPECT_EQ(submitted[0].account, "acme");
    EXPECT_EQ(submitted[1].fields.at("mrr").to_number<double>(), 200);
    EXPECT_GE(sink.calls(), 2);
    // Deleted once stored; the other customer still waits.
    for (int i = 0; i < 100 && waiting.waiting() != 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(waiting.waiting(), 1u);
    auto listed = waiting.list("", 100).value();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].customer, "cus_Y");
}

TEST_F(UnmatchedEvents, after_a_restart_customers_mapped_meanwhile_are_released_at_start) {
    auto event = contract("stripe:evt_1", t0, 100);
    {
        recording_sink sink;
        external_id_index index(1);
        unmatched_events waiting(*store_, sink, index, nullptr);
        ASSERT_TRUE(waiting.start().ok());
        ASSERT_TRUE(waiting.keep("stripe", {{cus_x, &event}}, t0).status.ok());
        // The mapping becomes durable, but the process dies before the release (no listener).
        map_customer(index, *store_, "stripe", "cus_X", "acme");
        waiting.stop();
        EXPECT_EQ(sink.calls(), 0);
    }
    reopen();
    recording_sink sink;
    external_id_index index(1);
    ASSERT_TRUE(index.load(*store_).ok());
    unmatched_events waiting(*store_, sink, index, nullptr);
    ASSERT_TRUE(waiting.start().ok());
    auto submitted = sink.wait_for(1);
    ASSERT_EQ(submitted.size(), 1u);
    EXPECT_EQ(submitted[0].account, "acme");
}

TEST_F(UnmatchedEvents, an_event_kept_after_its_mapping_became_durable_is_released_at_once) {
    recording_sink sink;
    external_id_index index(1);
    unmatched_events waiting(*store_, sink, index, nullptr);
    ASSERT_TRUE(waiting.start().ok());
    // The route resolved before the mapping was durable; the mapping's release found nothing.
    map_customer(index, *store_, "stripe", "cus_X", "acme");
    auto event = contract("stripe:evt_1", t0, 100);
    ASSERT_TRUE(waiting.keep("stripe", {{cus_x, &event}}, t0).status.ok());
    EXPECT_EQ(sink.wait_for(1).size(), 1u);
}
