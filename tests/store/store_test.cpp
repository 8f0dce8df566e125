#include "store/store.hpp"

#include "store/keys.hpp"
#include "fault_env.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace redflag;
using namespace redflag::store;
namespace fs = std::filesystem;

namespace {

const timestamp t0 = *parse_rfc3339("2026-11-01T00:00:00Z");

// A fresh directory per test, removed afterwards.
class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "redflag-store-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        opts_.path = (fs::path(dir_) / "db").string();
        opts_.block_cache_bytes = 8u << 20;
        opts_.write_buffer_bytes = 32u << 20;
        opts_.clock = &clock_;
        clock_.set(t0);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    std::unique_ptr<store::store> open() {
        std::string error;
        auto s = store::store::open(opts_, error);
        EXPECT_TRUE(s) << error;
        return s;
    }

    // The store keeps bytes: any will do (the model's encoding is not its business).
    static std::string event_bytes(std::string_view id, int score = 7) {
        return "{\"id\":\"" + std::string(id) + "\",\"score\":" + std::to_string(score) + "}";
    }

    std::string dir_;
    manual_clock clock_;
    options opts_;
};

std::vector<std::uint64_t> sequences_after(const store::store& s, std::string_view account, std::uint64_t after) {
    std::vector<std::uint64_t> out;
    auto st = s.events_after(account, after, [&](const stored_event& e) {
        out.push_back(e.sequence);
        return true;
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
}

}  // namespace

TEST_F(StoreTest, events_round_trip_in_sequence_order) {
    auto s = open();
    ASSERT_TRUE(s);
    write_batch b(*s);
    // Written out of order, and with a neighbour account that shares a prefix.
    for (std::uint64_t seq : {3u, 1u, 2u, 300u}) b.put_event("acme", seq, t0 + seq * minute, event_bytes("e" + std::to_string(seq), static_cast<int>(seq % 11)));
    b.put_event("acme2", 1, t0, event_bytes("x"));
    b.put_event("acm", 1, t0, event_bytes("y"));
    ASSERT_TRUE(s->write(b).ok());

    EXPECT_EQ(sequences_after(*s, "acme", 0), (std::vector<std::uint64_t>{1, 2, 3, 300}));
    EXPECT_EQ(sequences_after(*s, "acme", 2), (std::vector<std::uint64_t>{3, 300}));
    EXPECT_TRUE(sequences_after(*s, "acme", 300).empty());
    EXPECT_TRUE(sequences_after(*s, "nobody", 0).empty());

    // The bytes come back as they were given, with the `at` they were given with.
    std::vector<std::pair<std::string, timestamp>> read;
    ASSERT_TRUE(s->events_after("acme", 0, [&](const stored_event& e) {
                     EXPECT_EQ(e.account, "acme");
                     read.emplace_back(e.bytes, e.at);
                     return true;
                 }).ok());
    ASSERT_EQ(read.size(), 4u);
    EXPECT_EQ(read[0], std::make_pair(event_bytes("e1", 1), t0 + 1 * minute));
    EXPECT_EQ(read[3], std::make_pair(event_bytes("e300", 300 % 11), t0 + 300 * minute));

    // Stopping early is not an error.
    int seen = 0;
    EXPECT_TRUE(s->events_after("acme", 0, [&](const stored_event&) { return ++seen < 2; }).ok());
    EXPECT_EQ(seen, 2);

    // for_each_event: everything, by account then sequence.
    std::vector<std::string> all;
    ASSERT_TRUE(s->for_each_event([&](const stored_event& e) {
                     all.push_back(std::string(e.account) + "/" + std::to_string(e.sequence));
                     return true;
                 }).ok());
    EXPECT_EQ(all, (std::vector<std::string>{"acm/1", "acme/1", "acme/2", "acme/3", "acme/300", "acme2/1"}));
}

TEST_F(StoreTest, next_sequence_follows_events_and_snapshot) {
    auto s = open();
    EXPECT_EQ(*s->next_sequence("acme"), 1u);
    write_batch b(*s);
    b.put_event("acme", 1, t0, event_bytes("a"));
    b.put_event("acme", 2, t0, event_bytes("b"));
    b.put_event("acme-x", 9, t0, event_bytes("c"));
    ASSERT_TRUE(s->write(b).ok());
    EXPECT_EQ(*s->next_sequence("acme"), 3u);
    EXPECT_EQ(*s->next_sequence("acme-x"), 10u);
    EXPECT_EQ(*s->next_sequence("acm"), 1u);
    // A snapshot covering more (its events expired) keeps the sequence from going back.
    write_batch c(*s);
    c.put_snapshot("acme", 50, "x");
    c.put_snapshot("zed", 7, "x");
    ASSERT_TRUE(s->write(c).ok());
    EXPECT_EQ(*s->next_sequence("acme"), 51u);
    EXPECT_EQ(*s->next_sequence("zed"), 8u);
}

TEST_F(StoreTest, dedup_lookup_is_per_account) {
    auto s = open();
    write_batch b(*s);
    b.put_dedup("acme", "evt-1", t0);
    b.put_dedup("acme", "evt-2", t0);
    b.put_dedup("globex", "evt-3", t0);
    ASSERT_TRUE(s->write(b).ok());
    std::vector<std::string_view> ids{"evt-1", "evt-3", "evt-2", "evt-4", ""};
    auto found = s->contains("acme", ids);
    ASSERT_TRUE(found) << found.error().message();
    EXPECT_EQ(*found, (std::vector<bool>{true, false, true, false, false}));
    auto other = s->contains("globex", std::vector<std::string>{"evt-1", "evt-3"});
    ASSERT_TRUE(other);
    EXPECT_EQ(*other, (std::vector<bool>{false, true}));
    const dedup_probe probes[] = {{"globex", "evt-3"}, {"acme", "evt-3"}, {"acme", "evt-1"}, {"globex", "evt-1"}};
    auto across = s->contains(std::span<const dedup_probe>(probes));
    ASSERT_TRUE(across);
    EXPECT_EQ(*across, (std::vector<bool>{true, false, true, false}));
    auto none = s->contains("acme", std::span<const std::string_view>{});
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST_F(StoreTest, snapshots_round_trip) {
    auto s = open();
    const std::string acme_state("state of acme\0with a NUL", 24), globex_state = "state of globex";
    write_batch b(*s);
    b.put_snapshot("acme", 42, acme_state);
    b.put_snapshot("globex", 3, globex_state);
    ASSERT_TRUE(s->write(b).ok());

    auto snap = s->get_snapshot("acme");
    ASSERT_TRUE(snap);
    ASSERT_TRUE(snap->has_value());
    EXPECT_EQ((*snap)->sequence, 42u);
    EXPECT_EQ((*snap)->bytes, acme_state);

    auto missing = s->get_snapshot("nobody");
    ASSERT_TRUE(missing);
    EXPECT_FALSE(missing->has_value());

    std::vector<std::pair<std::string, std::uint64_t>> seen;
    ASSERT_TRUE(s->for_each_snapshot([&](std::string_view account, std::uint64_t seq, std::string_view bytes) {
                     EXPECT_EQ(bytes, account == "acme" ? acme_state : globex_state);
                     seen.emplace_back(account, seq);
                     return true;
                 }).ok());
    EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::uint64_t>>{{"acme", 42}, {"globex", 3}}));

    // A value too short to hold the header is reported, not misread.
    write_batch bad(*s);
    bad.put(column::accounts, "broken", "abc");
    ASSERT_TRUE(s->write(bad).ok());
    auto broken = s->get_snapshot("broken");
    ASSERT_FALSE(broken);
    EXPECT_EQ(broken.error().error_code(), status::code::corruption);
}

TEST_F(StoreTest, dirty_set_marks_and_clears) {
    auto s = open();
    write_batch b(*s);
    b.mark_dirty("b");
    b.mark_dirty("a");
    b.mark_dirty("c");
    ASSERT_TRUE(s->write(b).ok());
    write_batch c(*s);
    c.clear_dirty("b");
    c.mark_dirty("a");  // marking twice is harmless
    ASSERT_TRUE(s->write(c).ok());
    std::vector<std::string> dirty;
    ASSERT_TRUE(s->for_each_dirty([&](std::string_view a) {
                     dirty.emplace_back(a);
                     return true;
                 }).ok());
    EXPECT_EQ(dirty, (std::vector<std::string>{"a", "c"}));
}

TEST_F(StoreTest, other_columns_hold_opaque_records) {
    auto s = open();
    write_batch b(*s);
    const std::string binary("\0\xff\x01", 3);
    b.put(column::alerts, "acme/rule1", "firing");
    b.put(column::alerts, "acme/rule2", binary);
    b.put(column::alerts, "acmex/rule1", "other account");
    b.put(column::outbox, "0001", "slack message");
    b.put(column::silences, "s1", "{}");
    b.put(column::meta, "schema_version", "1");
    ASSERT_TRUE(s->write(b).ok());

    EXPECT_EQ(s->get(column::alerts, "acme/rule2")->value(), binary);
    EXPECT_EQ(s->get(column::meta, "schema_version")->value(), "1");
    EXPECT_FALSE(s->get(column::outbox, "acme/rule1")->has_value()) << "columns are separate";
    std::vector<std::string> keys;
    ASSERT_TRUE(s->for_each_prefix(column::alerts, "acme/", [&](std::string_view k, std::string_view) {
                     keys.emplace_back(k);
                     return true;
                 }).ok());
    EXPECT_EQ(keys, (std::vector<std::string>{"acme/rule1", "acme/rule2"}));

    write_batch d(*s);
    d.del(column::alerts, "acme/rule1");
    ASSERT_TRUE(s->write(d).ok());
    EXPECT_FALSE(s->get(column::alerts, "acme/rule1")->has_value());
    EXPECT_TRUE(s->get(column::silences, "s1")->has_value());
}

TEST_F(StoreTest, a_batch_is_all_or_nothing) {
    auto s = open();
    write_batch b(*s);
    b.put_event("acme", 1, t0, event_bytes("a"));
    b.put_dedup("acme", "a", t0);
    b.put_event(std::string("ev\0il", 5), 1, t0, event_bytes("b"));  // would alias another account's keys
    b.mark_dirty("acme");
    EXPECT_FALSE(b.error().ok());
    auto st = s->write(b);
    EXPECT_EQ(st.error_code(), status::code::invalid_argument);
    EXPECT_TRUE(sequences_after(*s, "acme", 0).empty()) << "nothing of a refused batch is stored";
    EXPECT_FALSE((*s->contains("acme", std::vector<std::string>{"a"}))[0]);

    b.clear();
    EXPECT_TRUE(b.empty());
    EXPECT_TRUE(b.error().ok());
    b.put_event("acme", 1, t0, event_bytes("a"));
    b.put_dedup("acme", "a", t0);
    b.mark_dirty("acme");
    EXPECT_EQ(b.count(), 3u);
    ASSERT_TRUE(s->write(b).ok());
    EXPECT_EQ(sequences_after(*s, "acme", 0).size(), 1u);
    EXPECT_TRUE((*s->contains("acme", std::vector<std::string>{"a"}))[0]);
}

TEST_F(StoreTest, everything_survives_close_and_reopen) {
    {
        auto s = open();
        write_batch b(*s);
        for (std::uint64_t i = 1; i <= 100; ++i) {
            b.put_event("acme", i, t0, event_bytes("e" + std::to_string(i)));
            b.put_dedup("acme", "e" + std::to_string(i), t0);
        }
        b.put_snapshot("acme", 100, "state");
        b.mark_dirty("acme");
        b.put(column::outbox, "k", "v");
        ASSERT_TRUE(s->write(b).ok());
        ASSERT_TRUE(s->close().ok());
        EXPECT_TRUE(s->close().ok()) << "close is idempotent";
        write_batch late(*s);
        late.put(column::meta, "k", "v");
        EXPECT_EQ(s->write(late).error_code(), status::code::shutdown);
        EXPECT_FALSE(s->get(column::meta, "k"));
    }
    auto s = open();
    ASSERT_TRUE(s);
    EXPECT_EQ(sequences_after(*s, "acme", 0).size(), 100u);
    EXPECT_TRUE((*s->contains("acme", std::vector<std::string>{"e50"}))[0]);
    EXPECT_EQ((*s->get_snapshot("acme"))->bytes, "state");
    EXPECT_EQ(s->get(column::outbox, "k")->value(), "v");
    EXPECT_EQ(*s->next_sequence("acme"), 101u);
    EXPECT_GT(s->approximate_size_bytes(), 0u);
}

TEST_F(StoreTest, acknowledged_write_survives_process_kill) {
    // The child opens the store, writes with sync off, and dies without closing: once by
    // _exit, once by SIGKILL. A write that returned is in the WAL (the OS has it).
    for (int how = 0; how < 2; ++how) {
        const std::string account = "killed-" + std::to_string(how);
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::alarm(30);  // never hang the test run
            std::string error;
            options o = opts_;
            o.sync = false;
            o.flush_on_close = false;
            auto s = store::store::open(o, error);
            if (!s) ::_exit(2);
            write_batch b(*s);
            b.put_event(account, 1, t0, event_bytes("only"));
            b.put_dedup(account, "only", t0);
            if (!s->write(b).ok()) ::_exit(3);
            if (how == 0) ::_exit(0);
            ::raise(SIGKILL);
            ::_exit(4);
        }
        int wstatus = 0;
        ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
        if (how == 0) {
            ASSERT_TRUE(WIFEXITED(wstatus));
            ASSERT_EQ(WEXITSTATUS(wstatus), 0);
        } else {
            ASSERT_TRUE(WIFSIGNALED(wstatus));
            ASSERT_EQ(WTERMSIG(wstatus), SIGKILL);
        }
        auto s = open();
        ASSERT_TRUE(s);
        EXPECT_EQ(sequences_after(*s, account, 0), (std::vector<std::uint64_t>{1})) << how;
        EXPECT_TRUE((*s->contains(account, std::vector<std::string>{"only"}))[0]) << how;
    }
}

TEST_F(StoreTest, retention_drops_old_events_and_their_dedup_ids) {
    opts_.event_retention = 30 * day;
    clock_.set(t0 + 100 * day);
    auto s = open();
    write_batch b(*s);
    b.put_event("acme", 1, t0, event_bytes("old"));                  // 100 days old
    b.put_dedup("acme", "old", t0);
    b.put_event("acme", 2, t0 + 71 * day, event_bytes("edge"));      // 29 days old
    b.put_dedup("acme", "edge", t0 + 71 * day);
    b.put_event("acme", 3, t0 + 99 * day, event_bytes("new"));
    b.put_dedup("acme", "new", t0 + 99 * day);
    b.put_snapshot("acme", 1, "state");
    b.put(column::meta, "k", "not subject to retention");
    ASSERT_TRUE(s->write(b).ok());
    ASSERT_TRUE(s->flush().ok());
    ASSERT_TRUE(s->compact(column::events).ok());
    ASSERT_TRUE(s->compact(column::dedup).ok());
    ASSERT_TRUE(s->compact(column::accounts).ok());
    ASSERT_TRUE(s->compact(column::meta).ok());

    EXPECT_EQ(sequences_after(*s, "acme", 0), (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(*s->contains("acme", std::vector<std::string>{"old", "edge", "new"}), (std::vector<bool>{false, true, true}));
    EXPECT_TRUE(s->get_snapshot("acme")->has_value());
    EXPECT_TRUE(s->get(column::meta, "k")->has_value());
    EXPECT_EQ(*s->next_sequence("acme"), 4u);

    // Time moves on: the injected clock is read at each compaction.
    clock_.advance(29 * day);
    ASSERT_TRUE(s->compact(column::events).ok());
    EXPECT_EQ(sequences_after(*s, "acme", 0), (std::vector<std::uint64_t>{3}));
}

TEST_F(StoreTest, expiry_rules_drop_what_their_owner_judges_expired_and_only_in_their_column) {
    opts_.event_retention = 30 * day;
    clock_.set(t0 + 100 * day);
    // The rule's record: "<done|open> <millis>"; expired when done and before the horizon.
    std::vector<timestamp> horizons;
    std::mutex seen;
    opts_.expiry[static_cast<std::size_t>(column::outbox)] = [&](std::string_view, std::string_view value,
                                                                 timestamp horizon) {
        {
            std::lock_guard lock(seen);
            horizons.push_back(horizon);
        }
        auto space = value.find(' ');
        if (space == std::string_view::npos) return false;  // not judged: kept
        auto at = from_millis(std::stoll(std::string(value.substr(space + 1))));
        return value.substr(0, space) == "done" && at < horizon;
    };
    auto s = open();
    auto millis = [](timestamp t) { return std::to_string(to_millis(t)); };
    write_batch b(*s);
    b.put(column::outbox, "old-done", "done " + millis(t0));
    b.put(column::outbox, "old-open", "open " + millis(t0));
    b.put(column::outbox, "new-done", "done " + millis(t0 + 90 * day));
    b.put(column::outbox, "unjudged", "garbage");
    b.put(column::alerts, "old-done", "done " + millis(t0));  // no rule for this column
    ASSERT_TRUE(s->write(b).ok());
    ASSERT_TRUE(s->flush().ok());
    ASSERT_TRUE(s->compact(column::outbox).ok());
    ASSERT_TRUE(s->compact(column::alerts).ok());

    EXPECT_FALSE(s->get(column::outbox, "old-done")->has_value());
    EXPECT_TRUE(s->get(column::outbox, "old-open")->has_value());
    EXPECT_TRUE(s->get(column::outbox, "new-done")->has_value());
    EXPECT_TRUE(s->get(column::outbox, "unjudged")->has_value());
    EXPECT_TRUE(s->get(column::alerts, "old-done")->has_value());
    {
        std::lock_guard lock(seen);
        ASSERT_FALSE(horizons.empty());
        EXPECT_EQ(horizons.front(), t0 + 70 * day);
    }

    // The horizon follows the injected clock.
    clock_.advance(21 * day);
    ASSERT_TRUE(s->compact(column::outbox).ok());
    EXPECT_FALSE(s->get(column::outbox, "new-done")->has_value());
    EXPECT_TRUE(s->get(column::outbox, "old-open")->has_value());
}

TEST_F(StoreTest, concurrent_sync_writers_share_fsyncs) {
    opts_.sync = true;
    auto s = open();
    ASSERT_TRUE(s);
    const std::uint64_t syncs_before = s->wal_syncs();
    constexpr int threads = 8;
    constexpr int writes_per_thread = 40;
    std::atomic<int> failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            const std::string account = "acct-" + std::to_string(t);
            for (int i = 1; i <= writes_per_thread; ++i) {
                write_batch b(*s);
                b.put_event(account, static_cast<std::uint64_t>(i), t0, event_bytes(std::to_string(i)));
                b.put_dedup(account, std::to_string(i), t0);
                if (!s->write(b).ok()) ++failures;
            }
        });
    for (auto& th : pool) th.join();
    EXPECT_EQ(failures.load(), 0);
    const std::uint64_t syncs = s->wal_syncs() - syncs_before;
    std::printf("%d synced writes took %llu WAL fsyncs\n", threads * writes_per_thread, static_cast<unsigned long long>(syncs));
    EXPECT_GT(syncs, 0u) << "sync writes fsync the WAL";
    EXPECT_LT(syncs, static_cast<std::uint64_t>(threads * writes_per_thread)) << "concurrent writers share fsyncs";
    for (int t = 0; t < threads; ++t)
        EXPECT_EQ(sequences_after(*s, "acct-" + std::to_string(t), 0).size(), static_cast<std::size_t>(writes_per_thread));
}

TEST_F(StoreTest, sync_off_does_not_fsync) {
    auto s = open();
    const auto before = s->wal_syncs();
    write_batch b(*s);
    b.put(column::meta, "k", "v");
    ASSERT_TRUE(s->write(b).ok());
    EXPECT_EQ(s->wal_syncs(), before);
}

TEST_F(StoreTest, open_reports_errors) {
    std::string error;
    options o;
    EXPECT_FALSE(store::store::open(o, error));
    EXPECT_FALSE(error.empty());
    // A path that is a file, not a directory.
    const std::string file = (fs::path(dir_) / "plain-file").string();
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
    o.path = file;
    error.clear();
    EXPECT_FALSE(store::store::open(o, error));
    EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

// Throughput is measured by bench/ and StoreBench, not here: this checks that large
// batches of many accounts land whole, events and idempotency ids alike.
TEST_F(StoreTest, batches_of_a_thousand_events_are_all_stored) {
    auto s = open();
    const int batches = 20;
    const std::string bytes = event_bytes("x");
    std::uint64_t seq = 0;
    for (int i = 0; i < batches; ++i) {
        write_batch b(*s);
        for (int j = 0; j < 1000; ++j) {
            const std::string account = "acct-" + std::to_string(j % 97);
            const std::string id = "id-" + std::to_string(i * 1000 + j);
            b.put_event(account, ++seq, t0, bytes);
            b.put_dedup(account, id, t0);
            b.mark_dirty(account);
        }
        ASSERT_TRUE(s->write(b).ok());
    }
    std::size_t events = 0;
    ASSERT_TRUE(s->for_each_event([&](const stored_event&) {
                      ++events;
                      return true;
                  }).ok());
    EXPECT_EQ(events, static_cast<std::size_t>(batches * 1000));
    std::size_t dirty = 0;
    ASSERT_TRUE(s->for_each_dirty([&](std::string_view) {
                      ++dirty;
                      return true;
                  }).ok());
    EXPECT_EQ(dirty, 97u);
    // The last batch's ids are known to their accounts, and only to them.
    const std::string last = "id-" + std::to_string((batches - 1) * 1000 + 5);
    std::vector<std::string> ids{last};
    auto mine = s->contains("acct-5", ids);
    auto other = s->contains("acct-6", ids);
    ASSERT_TRUE(mine.ok() && other.ok());
    EXPECT_TRUE(mine.value()[0]);
    EXPECT_FALSE(other.value()[0]);
}

TEST(StoreKeys, layout_is_as_documented) {
    const std::string k = keys::event_key("ab", 0x0102030405060708ull);
    EXPECT_EQ(k, std::string("ab\0\x01\x02\x03\x04\x05\x06\x07\x08", 11));
    std::string_view account;
    std::uint64_t seq = 0;
    ASSERT_TRUE(keys::parse_event_key(k, account, seq));
    EXPECT_EQ(account, "ab");
    EXPECT_EQ(seq, 0x0102030405060708ull);
    EXPECT_FALSE(keys::parse_event_key("short", account, seq));
    EXPECT_LT(keys::event_key("a", 255), keys::event_key("a", 256)) << "big-endian sorts by sequence";
    EXPECT_EQ(keys::dedup_key("acme", "id1"), std::string("acme\0id1", 8));
    timestamp at;
    std::string_view json;
    const std::string value = keys::event_value(t0, "{}");  // `json` views into it
    ASSERT_TRUE(keys::parse_event_value(value, at, json));
    EXPECT_EQ(at, t0);
    EXPECT_EQ(json, "{}");
    ASSERT_TRUE(keys::parse_time_prefix(keys::time_value(from_millis(-5)), at));
    EXPECT_EQ(at, from_millis(-5));
    EXPECT_EQ(keys::prefix_upper_bound("ab"), "ac");
    EXPECT_EQ(keys::prefix_upper_bound(std::string("a\xff", 2)), "b");
    EXPECT_EQ(keys::prefix_upper_bound(std::string("\xff", 1)), "");
}

TEST_F(StoreTest, prefix_scans_of_hashed_columns_cross_accounts) {
    // events and dedup hash their memtables by account: a prefix that is not a whole
    // account must still see every matching key, in memory and on disk alike.
    auto s = open();
    write_batch b(*s);
    b.put_event("acme", 1, t0, event_bytes("a"));
    b.put_event("acme2", 1, t0, event_bytes("b"));
    b.put_event("beta", 1, t0, event_bytes("c"));
    b.put_dedup("acme", "a", t0);
    b.put_dedup("acme2", "b", t0);
    ASSERT_TRUE(s->write(b).ok());
    for (int pass = 0; pass < 2; ++pass) {
        std::vector<std::string> events, dedup;
        ASSERT_TRUE(s->for_each_prefix(column::events, "acm", [&](std::string_view k, std::string_view) {
                         events.emplace_back(k.substr(0, k.find('\0')));
                         return true;
                     }).ok());
        ASSERT_TRUE(s->for_each_prefix(column::dedup, "acme", [&](std::string_view k, std::string_view) {
                         dedup.emplace_back(k);
                         return true;
                     }).ok());
        EXPECT_EQ(events, (std::vector<std::string>{"acme", "acme2"})) << "pass " << pass;
        EXPECT_EQ(dedup, (std::vector<std::string>{keys::dedup_key("acme", "a"), keys::dedup_key("acme2", "b")})) << pass;
        EXPECT_EQ(sequences_after(*s, "acme", 0).size(), 1u);
        ASSERT_TRUE(s->flush().ok());  // second pass reads the SST files
    }
}

// Issue 11, defect 5: a full disk made RocksDB abort the process (an assertion on a second
// append to a WAL file that had failed). The store now stops writing at the first failed
// write, answers no_space without reaching RocksDB, and resumes once space returns.
TEST_F(StoreTest, a_full_disk_stops_writes_until_space_returns_and_nothing_stored_is_lost) {
    redflag::testing::fault_env faults;
    opts_.env = faults.env.get();
    opts_.resume_interval = std::chrono::milliseconds(0);
    auto s = open();
    auto write_event = [&](const std::string& id, std::uint64_t sequence) {
        write_batch b(*s);
        b.put_event("acme", sequence, t0, event_bytes(id));
        b.put_dedup("acme", id, t0);
        return s->write(b);
    };
    ASSERT_TRUE(write_event("a", 1).ok());

    faults.fs->fail(redflag::testing::fault_fs::all);
    auto st = write_event("b", 2);
    EXPECT_EQ(st.error_code(), status::code::no_space) << st.message();
    // Later writes are refused by the store itself, many times over, and do not crash.
    const auto refused_by_rocksdb = faults.fs->refused();
    for (int i = 0; i < 50; ++i) {
        auto again = write_event("c" + std::to_string(i), 3);
        EXPECT_EQ(again.error_code(), status::code::no_space);
    }
    EXPECT_EQ(s->writable().error_code(), status::code::no_space);
    EXPECT_GE(faults.fs->refused(), refused_by_rocksdb) << "resuming is tried, and fails while the disk is full";

    faults.fs->heal();
    EXPECT_TRUE(s->writable().ok()) << s->writable().message();
    ASSERT_TRUE(write_event("d", 4).ok());
    EXPECT_EQ(sequences_after(*s, "acme", 0), (std::vector<std::uint64_t>{1, 4}));
    ASSERT_TRUE(s->close().ok());
    auto reopened = open();
    EXPECT_EQ(sequences_after(*reopened, "acme", 0), (std::vector<std::uint64_t>{1, 4}));
}

TEST_F(StoreTest, valid_account_refuses_empty_ids_and_nul) {
    EXPECT_TRUE(store::store::valid_account("acme"));
    EXPECT_FALSE(store::store::valid_account(""));
    EXPECT_FALSE(store::store::valid_account(std::string("ev\0il", 5)));
}
