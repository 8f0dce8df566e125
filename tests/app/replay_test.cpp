#include "app/replay.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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
    EXPECT_NE(r.err.find(":1: error: unknown type"), std::string::npos) << r.err;
    {
        std::ofstream f(path);
        f << R"({"type":"account","account":"acme"})" << "\n";
    }
    r = replay(o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find(":1: error: missing at"), std::string::npos) << r.err;
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

}  // namespace
}  // namespace redflag::app
