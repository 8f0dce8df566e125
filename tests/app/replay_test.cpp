#include "app/replay.hpp"

#include "ingest/validate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <sys/stat.h>

namespace redflag::app {
namespace {

namespace fs = std::filesystem;

std::string data(std::string_view name) { return std::string(REDFLAG_TEST_DATA) + "/" + std::string(name); }

struct result {
    int status;
    std::string out;
    std::string err;
};

result replay(replay_options options) {
    std::ostringstream out, err;
    int status = run_replay(options, out, err);
    return {status, out.str(), err.str()};
}

replay_options fixture() {
    replay_options o;
    o.rules = {data("replay.rules")};
    o.events = data("replay.ndjson");
    return o;
}

// The test rules over `events` on `threads` cores, the log handed out in blocks of
// `block_bytes` (small ones exercise the merge across blocks).
replay_options sharded(std::string events, std::size_t threads, std::size_t block_bytes = 4 << 20) {
    replay_options o;
    o.rules = {data("replay.rules")};
    o.events = std::move(events);
    o.threads = threads;
    o.block_bytes = block_bytes;
    return o;
}

const std::string pending_line =
    R"({"at":"2026-01-02T11:00:00Z","rule":"tickets","account":"beta","state":"pending","severity":"medium","message":"beta: 2 tickets"})"
    "\n";
const std::string firing_line =
    R"({"at":"2026-01-03T11:00:00Z","rule":"tickets","account":"beta","state":"firing","severity":"medium","message":"beta: 3 tickets"})"
    "\n";
const std::string quiet_line =
    R"({"at":"2026-01-31T00:00:00Z","rule":"quiet","account":"acme","state":"firing","severity":"high","message":"Acme has been quiet"})"
    "\n";
const std::string tickets_resolved_line =
    R"({"at":"2026-02-01T11:00:00Z","rule":"tickets","account":"beta","state":"resolved","severity":"medium","message":"beta: 2 tickets"})"
    "\n";
const std::string quiet_resolved_line =
    R"({"at":"2026-02-10T08:00:00Z","rule":"quiet","account":"acme","state":"resolved","severity":"high","message":"Acme has been quiet"})"
    "\n";

TEST(Replay, prints_every_transition_in_event_time) {
    auto r = replay(fixture());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, pending_line + firing_line + quiet_line + tickets_resolved_line + quiet_resolved_line);
    EXPECT_EQ(r.err, "");
}

TEST(Replay, from_hides_earlier_transitions_but_keeps_their_state) {
    auto o = fixture();
    o.from = parse_rfc3339("2026-02-01T00:00:00Z");
    auto r = replay(o);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, tickets_resolved_line + quiet_resolved_line);
}

TEST(Replay, until_stops_reading_and_runs_the_clock_to_it) {
    auto o = fixture();
    o.until = parse_rfc3339("2026-03-15T00:00:00Z");
    auto r = replay(o);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, pending_line + firing_line + quiet_line + tickets_resolved_line + quiet_resolved_line +
                         R"({"at":"2026-03-12T08:00:00Z","rule":"quiet","account":"acme","state":"firing","severity":"high","message":"Acme has been quiet"})"
                         "\n");
    o.until = parse_rfc3339("2026-01-20T00:00:00Z");
    r = replay(o);
    EXPECT_EQ(r.out, pending_line + firing_line);
}

TEST(Replay, step_sets_the_grid) {
    // With a 1-day grid from 2026-01-01T00:00, the for-deadline 01-03 11:00 waits for 01-04.
    auto o = fixture();
    o.step = day;
    o.until = parse_rfc3339("2026-01-10T00:00:00Z");
    auto r = replay(o);
    EXPECT_NE(r.out.find(R"({"at":"2026-01-04T00:00:00Z","rule":"tickets","account":"beta","state":"firing")"),
              std::string::npos)
        << r.out;
}

TEST(Replay, bad_line_exits_1_with_its_number) {
    fs::path path = fs::temp_directory_path() / "redflag-replay-bad.ndjson";
    {
        std::ofstream f(path);
        f << R"({"type":"account","account":"acme","at":"2026-01-01T00:00:00Z","status":"active"})" << "\n\n"
          << R"({"type":"account","account":"acme","at":"2026-01-02T00:00:00Z"})" << "\n"
          << R"({"type":"account","account":"acme","at":)" << "\n";
    }
    auto o = fixture();
    o.events = path.string();
    auto r = replay(o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find(path.string() + ":4: error: malformed JSON"), std::string::npos) << r.err;

    {
        std::ofstream f(path);
        f << R"({"type":"acount","account":"acme","at":"2026-01-01T00:00:00Z"})" << "\n";
    }
    r = replay(o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find(":1: error: type: must be one of account, contract,"), std::string::npos) << r.err;
    {
        std::ofstream f(path);
        f << R"({"type":"account","account":"acme"})" << "\n";
    }
    r = replay(o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find(":1: error: at: is required"), std::string::npos) << r.err;
}

// Replay used to check only type, account and `at`: a line live ingest refuses was
// replayed. Now every line goes through the one decoder, with live ingest's problems.
TEST(Replay, lines_are_validated_like_live_ingest) {
    fs::path path = fs::temp_directory_path() / "redflag-replay-invalid.ndjson";
    const std::string bad_line = R"({"type":"nps","account":"acme","at":"2026-01-02T00:00:00Z","score":11,"comment":"a\u0007"})";
    {
        std::ofstream f(path);
        f << R"({"type":"account","account":"acme","at":"2026-01-01T00:00:00Z","status":"active"})" << "\n"
          << bad_line << "\n";
    }
    auto o = fixture();
    o.events = path.string();
    auto r = replay(o);
    EXPECT_EQ(r.status, 1);
    // The same words as live ingest's 400 for that object.
    auto decoded = ingest::decode_body(bad_line, ingest::body_format::json);
    auto live = ingest::validate(std::move(decoded.items), *parse_rfc3339("2026-01-02T00:00:00Z"));
    ASSERT_EQ(live.problems.size(), 2u);
    EXPECT_NE(r.err.find(path.string() + ":2: error: " + ingest::describe(live.problems[0]) + "; " +
                         ingest::describe(live.problems[1])),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("score: must be an integer from 0 to 10"), std::string::npos) << r.err;

    // History is not bounded by the time of the replay: a 2001 event is fine.
    {
        std::ofstream f(path);
        f << R"({"type":"account","account":"acme","at":"2001-01-01T00:00:00Z","status":"active"})" << "\n";
    }
    EXPECT_EQ(replay(o).status, 0);
}

TEST(Replay, bad_rules_or_missing_log_exit_1) {
    auto o = fixture();
    o.events = data("no-such.ndjson");
    auto r = replay(o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no-such.ndjson: error: cannot open"), std::string::npos) << r.err;

    o = fixture();
    o.rules = {data("no-such.rules")};
    r = replay(o);
    EXPECT_EQ(r.status, 1);
    EXPECT_FALSE(r.err.empty());

    o = fixture();
    o.outcomes = true;
    r = replay(o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("--outcomes"), std::string::npos);
}

TEST(Replay, observer_sees_events_and_alerts) {
    struct counter final : replay_observer {
        int events = 0, alerts = 0;
        bool finished = false;
        void on_event(const model::event&) override { ++events; }
        void on_alert(const alerts::alert_event&) override { ++alerts; }
        bool finish(std::ostream&, std::ostream&) override { return finished = true; }
    } seen;
    auto o = fixture();
    o.outcomes = true;
    std::ostringstream out, err;
    EXPECT_EQ(run_replay(o, out, err, &seen), 0) << err.str();
    EXPECT_EQ(seen.events, 7);
    EXPECT_EQ(seen.alerts, 5);
    EXPECT_TRUE(seen.finished);
}

// A seeded log of many accounts over four months: activity, tickets, usage, NPS.
std::string random_log(int accounts, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::ostringstream log;
    timestamp t = *parse_rfc3339("2026-01-01T00:00:00Z");
    for (int a = 0; a < accounts; ++a)
        log << R"({"type":"account","account":"a)" << a << R"(","at":")" << format_rfc3339(t)
            << R"(","name":"Account )" << a << R"(","status":"active"})" << "\n";
    for (int step = 0; step < accounts * 60; ++step) {
        t += duration{static_cast<std::int64_t>(rng() % (4 * 3600 * 1000ull))};
        int a = static_cast<int>(rng() % static_cast<std::uint64_t>(accounts));
        std::string head = R"({"type":")";
        switch (rng() % 4) {
            case 0: log << head << R"(activity","account":"a)" << a << R"(","at":")" << format_rfc3339(t) << R"(","kind":"call"})"; break;
            case 1:
                log << head << R"(ticket","account":"a)" << a << R"(","at":")" << format_rfc3339(t) << R"(","ticket_id":"t)"
                    << rng() % 4 << R"(","status":")" << (rng() % 3 ? "open" : "closed") << R"("})";
                break;
            case 2: log << head << R"(nps","account":"a)" << a << R"(","at":")" << format_rfc3339(t) << R"(","score":)" << rng() % 11 << "}"; break;
            default: log << head << R"(usage","account":"a)" << a << R"(","at":")" << format_rfc3339(t) << R"(","metric":"active_users","value":)" << rng() % 50 << "}";
        }
        log << "\n";
    }
    return log.str();
}

fs::path write_log(const std::string& name, const std::string& text) {
    fs::path path = fs::temp_directory_path() / name;
    std::ofstream(path) << text;
    return path;
}

// The lines ordered by (at, account), keeping the order of equal ones.
std::vector<std::string> by_instant_and_account(const std::string& out) {
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    auto key = [](const std::string& l) {
        auto account = l.find("\"account\":");
        return std::make_pair(l.substr(0, l.find(',')), l.substr(account, l.find(',', account) - account));
    };
    std::stable_sort(lines.begin(), lines.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
    return lines;
}

TEST(Replay, parallel_cores_print_what_one_core_in_file_order_prints) {
    auto path = write_log("redflag-replay-many.ndjson", random_log(40, 7));
    replay_options o = sharded(path.string(), 1, 4096);  // many blocks: transitions are merged as the cores go
    auto one = replay(o);
    ASSERT_EQ(one.status, 0) << one.err;
    for (std::size_t threads : {2u, 3u, 5u}) {
        o.threads = threads;
        auto many = replay(o);
        EXPECT_EQ(many.status, 0) << many.err;
        EXPECT_EQ(many.out, one.out) << threads << " threads";
    }
    // The in-order replay (the one --outcomes uses) differs only in the order of lines
    // with the same instant and different accounts.
    struct nothing final : replay_observer {
        void on_event(const model::event&) override {}
        void on_alert(const alerts::alert_event&) override {}
        bool finish(std::ostream&, std::ostream&) override { return true; }
    } observer;
    std::ostringstream out, err;
    ASSERT_EQ(run_replay(o, out, err, &observer), 0) << err.str();
    auto sharded = by_instant_and_account(one.out);
    EXPECT_EQ(by_instant_and_account(out.str()), sharded);
    EXPECT_GT(sharded.size(), 100u);
}

TEST(Replay, a_bad_line_stops_every_core_where_one_core_stops) {
    std::string log = random_log(30, 11);
    // Line 1201 is cut short; its account is unknown, so every core parses it.
    std::size_t cut = 0;
    for (int line = 0; line < 1200; ++line) cut = log.find('\n', cut) + 1;
    std::string bad = log.substr(0, cut) + R"({"type":"nps","account":"a1","at":)" + "\n" + log.substr(cut);
    replay_options o = sharded(write_log("redflag-replay-bad-many.ndjson", bad).string(), 4, 4096);
    auto r = replay(o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find(o.events + ":1201: error: malformed JSON"), std::string::npos) << r.err;
    // What was printed is what the first 1200 lines alone give.
    o.events = write_log("redflag-replay-head.ndjson", log.substr(0, cut)).string();
    auto head = replay(o);
    ASSERT_EQ(head.status, 0) << head.err;
    EXPECT_EQ(r.out, head.out);
    EXPECT_FALSE(head.out.empty());

    // A bad line whose account the scan does find is reported by its owner alone.
    bad = log.substr(0, cut) + R"({"type":"bogus","account":"a1","at":"2026-01-01T00:00:00Z"})" + "\n" + log.substr(cut);
    o.events = write_log("redflag-replay-bad-type.ndjson", bad).string();
    r = replay(o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find(":1201: error: type: must be one of"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, head.out);
}

TEST(Replay, an_account_written_with_escapes_still_reaches_its_core) {
    // "a\u0031" is "a1": the quick scan gives up on escapes and the line is parsed.
    std::string log = random_log(8, 3);
    std::string escaped = log;
    for (std::size_t at = 0; (at = escaped.find(R"("account":"a1")", at)) != std::string::npos;)
        escaped.replace(at, 14, R"("account":"a\u0031")");
    replay_options o = sharded(write_log("redflag-replay-plain.ndjson", log).string(), 3);
    auto plain = replay(o);
    o.events = write_log("redflag-replay-escaped.ndjson", escaped).string();
    auto r = replay(o);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, plain.out);
    EXPECT_NE(plain.out.find(R"("account":"a1")"), std::string::npos);
}

TEST(Replay, a_log_from_a_pipe_replays_like_the_same_log_from_a_file) {
    // A regular file is mapped; a pipe (standard input, a FIFO) is read in copies. Both
    // cut the log into the same whole lines, with a line reaching across blocks.
    std::string log = random_log(20, 5);
    replay_options o = sharded(write_log("redflag-replay-file.ndjson", log).string(), 2, 1000);
    auto from_file = replay(o);
    ASSERT_EQ(from_file.status, 0) << from_file.err;
    EXPECT_GT(std::count(from_file.out.begin(), from_file.out.end(), '\n'), 50);

    fs::path fifo = fs::temp_directory_path() / "redflag-replay.fifo";
    fs::remove(fifo);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::thread writer([&] {
        std::ofstream(fifo, std::ios::binary) << log;  // blocks until the replay opens it
    });
    o.events = fifo.string();
    auto from_pipe = replay(o);
    writer.join();
    fs::remove(fifo);
    EXPECT_EQ(from_pipe.status, 0) << from_pipe.err;
    EXPECT_EQ(from_pipe.out, from_file.out);
}

}  // namespace
}  // namespace redflag::app
