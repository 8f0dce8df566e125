#include "app/report_mailer.hpp"

#include "metrics/engine_metrics.hpp"
#include "rules/rule_set.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <atomic>
#include <mutex>
#include <thread>

using namespace redflag;
namespace fs = std::filesystem;

namespace {

timestamp at(const char* text) { return *parse_rfc3339(text); }

// Records every document it is handed; fails while `failing` is set.
struct recording_sender final : delivery::channel_sender {
    struct sent {
        std::string to, key, subject;
    };
    std::mutex mutex;
    std::vector<sent> documents;
    std::atomic<bool> failing = false;

    delivery::send_result send(const delivery::notification&, const std::string&) override { return {}; }
    delivery::send_result send_document(const std::string& to, const std::string& key,
                                        const delivery::document& doc) override {
        std::lock_guard lock(mutex);
        if (failing) return {delivery::send_result::outcome::permanent, std::nullopt, "refused", {}};
        documents.push_back({to, key, doc.subject});
        return {};
    }
    std::vector<sent> taken() {
        std::lock_guard lock(mutex);
        return documents;
    }
};

// A service over a real store, and report mailers started and stopped over it as a
// service start and stop would: the mailer's memory of what it sent is the store's.
class ReportMailerTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "redflag-report-mailer-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        store::options o;
        o.path = (fs::path(dir_) / "db").string();
        o.block_cache_bytes = 8u << 20;
        o.write_buffer_bytes = 8u << 20;
        std::string error;
        store_ = store::store::open(o, error);
        ASSERT_TRUE(store_) << error;
        auto loaded = rules::load_sources({{"r.rules", "score health {\n  component nps weight 1 = avg(nps.score, 90d) / 10\n  band green >= 70\n  band red\n}\n"}});
        ASSERT_TRUE(loaded.rules) << rules::render_text(loaded.problems);
        metrics_ = std::make_unique<metrics::engine_metrics>();
        service_ = std::make_unique<engine::service>(engine::service_options{}, *store_, clock_, *metrics_, loaded.rules);
        ASSERT_TRUE(service_->recover(error)) << error;
        service_->start();
    }
    void TearDown() override {
        service_->stop();
        service_.reset();
        store_.reset();
        fs::remove_all(dir_);
    }

    // A mailer with one channel, "weekly mon 08:00" in UTC, started at `now`; it runs
    // until the returned object is destroyed.
    std::unique_ptr<app::report_mailer> start_mailer(timestamp now) {
        clock_.set(now);
        std::string error;
        auto schedule = delivery::digest_schedule::parse("weekly mon 08:00", "UTC", error);
        EXPECT_TRUE(schedule) << error;
        auto sender = std::make_unique<forwarding>(sender_);
        std::vector<app::report_channel> channels;
        channels.push_back({"weekly", *schedule, "head@vendor.example", std::move(sender)});
        auto m = std::make_unique<app::report_mailer>(*service_, *store_, clock_, std::move(channels));
        m->start();
        return m;
    }
    // Waits up to 10 s for `n` documents, then 1.5 s more to see that no other comes.
    std::vector<recording_sender::sent> documents_after(std::size_t n) {
        for (int i = 0; i < 200 && sender_.taken().size() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        return sender_.taken();
    }

    // The channel owns its sender: this one hands each call to the test's recorder.
    struct forwarding final : delivery::channel_sender {
        explicit forwarding(recording_sender& to) : to_(to) {}
        delivery::send_result send(const delivery::notification& n, const std::string& t) override { return to_.send(n, t); }
        delivery::send_result send_document(const std::string& r, const std::string& k, const delivery::document& d) override {
            return to_.send_document(r, k, d);
        }
        recording_sender& to_;
    };

    std::string dir_;
    manual_clock clock_;
    std::unique_ptr<store::store> store_;
    std::unique_ptr<metrics::engine_metrics> metrics_;
    std::unique_ptr<engine::service> service_;
    recording_sender sender_;
};

// 2026-11-02 and 2026-11-09 are Mondays.
TEST_F(ReportMailerTest, an_instant_missed_while_down_is_sent_once_at_the_next_start) {
    // First start on a Wednesday: the channel is new, nothing before it is owed.
    auto m = start_mailer(at("2026-11-04T12:00:00Z"));
    EXPECT_TRUE(documents_after(0).empty());
    m.reset();
    // Down over two Mondays; the next start sends the latest one due, once, at once.
    m = start_mailer(at("2026-11-17T09:30:00Z"));
    auto sent = documents_after(1);
    m.reset();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].to, "head@vendor.example");
    EXPECT_EQ(sent[0].key, "report-weekly-" + std::to_string(to_millis(at("2026-11-16T08:00:00Z"))));
    // Recorded: another start the same week sends nothing more.
    m = start_mailer(at("2026-11-17T10:00:00Z"));
    EXPECT_EQ(documents_after(1).size(), 1u);
}

TEST_F(ReportMailerTest, a_report_given_up_is_sent_at_the_next_start) {
    auto m = start_mailer(at("2026-11-04T12:00:00Z"));
    documents_after(0);
    m.reset();
    sender_.failing = true;  // a permanent failure: given up at once
    m = start_mailer(at("2026-11-09T07:59:59Z"));
    clock_.set(at("2026-11-09T08:00:01Z"));
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the mailer looks at the clock each second
    m.reset();
    EXPECT_TRUE(sender_.taken().empty());
    sender_.failing = false;
    m = start_mailer(at("2026-11-09T09:00:00Z"));
    auto sent = documents_after(1);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].key, "report-weekly-" + std::to_string(to_millis(at("2026-11-09T08:00:00Z"))));
}

}  // namespace
