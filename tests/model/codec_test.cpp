#include "model/codec.hpp"

#include "test_events.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <malloc.h>
#include <time.h>
#include <cstdio>
#include <random>
#include <bit>
#include <boost/json/parse.hpp>

using namespace redflag;
using namespace redflag::model;
using model::testing::make_event;
using model::testing::t0;
namespace json = boost::json;

namespace {

// About 90 days of one account: hourly usage of three metrics in working hours, users,
// tickets, NPS, CSAT, activities, contract changes and profile changes.
account_state ninety_days(std::string id = "acme-corp") {
    account_state s;
    s.apply(make_event(event_type::account, t0,
                       {{"name", "Acme Corp"}, {"csm", "alice"}, {"segment", "mid-market"}, {"plan", "pro"},
                        {"status", "active"}, {"seats", 50}, {"signed_at", "2025-12-01T00:00:00Z"},
                        {"attributes", json::object{{"region", "eu"}, {"arr_goal", 120000}, {"beta", true}}}},
                       id));
    s.apply(make_event(event_type::contract, t0,
                       {{"mrr", 9000}, {"seats", 50}, {"products", json::array{"crm", "cpq", "analytics"}},
                        {"renewal_at", "2027-01-01T00:00:00Z"}, {"status", "active"}},
                       id));
    for (int u = 0; u < 12; ++u)
        s.apply(make_event(event_type::user, t0 + u * hour,
                           {{"user_id", "user-" + std::to_string(u)}, {"email", "user" + std::to_string(u) + "@acme.example"},
                            {"role", u == 0 ? "champion" : "member"}},
                           id));
    for (int d = 0; d < 90; ++d) {
        const timestamp day_start = t0 + d * day;
        for (int h = 9; h < 17; ++h) {
            s.apply(make_event(event_type::usage, day_start + h * hour, {{"metric", "active_users"}, {"value", 30 + d % 7}}, id));
            s.apply(make_event(event_type::usage, day_start + h * hour + 5 * minute,
                               {{"metric", "logins"}, {"user_id", "user-" + std::to_string(h % 12)}}, id));
            s.apply(make_event(event_type::usage, day_start + h * hour + 7 * minute, {{"metric", "api_calls"}, {"value", 1234.5}}, id));
        }
        if (d % 3 == 0)
            s.apply(make_event(event_type::ticket, day_start + 10 * hour,
                               {{"ticket_id", "T-" + std::to_string(d)}, {"status", d % 6 ? "solved" : "open"},
                                {"priority", "high"}, {"subject", "Export fails for large reports"}},
                               id));
        if (d % 7 == 0) s.apply(make_event(event_type::activity, day_start + 11 * hour, {{"kind", "call"}, {"by", "alice"}}, id));
        if (d % 30 == 0) s.apply(make_event(event_type::nps, day_start + 12 * hour, {{"score", 8}, {"respondent", "user-1"}}, id));
        if (d % 15 == 0) s.apply(make_event(event_type::csat, day_start + 13 * hour, {{"score", 4}}, id));
    }
    s.apply(make_event(event_type::contract, t0 + 40 * day, {{"mrr", 11000}, {"seats", 60}}, id));
    s.apply(make_event(event_type::account, t0 + 45 * day, {{"csm", "bob"}, {"plan", "enterprise"}}, id));
    s.apply(make_event(event_type::milestone, t0 + 10 * day, {{"name", "onboarding_completed"}}, id));
    return s;
}

// Every profile field's value and times, in field order.
void expect_same_profile(const account_state& d, const account_state& s) {
    for (std::size_t i = 0; i < profile_field_count; ++i) {
        const auto f = static_cast<profile_field>(i);
        EXPECT_EQ(d.get(f), s.get(f)) << name_of(f);
        EXPECT_EQ(d.set_at(f), s.set_at(f)) << name_of(f);
        EXPECT_EQ(d.first_set_at(f), s.first_set_at(f)) << name_of(f);
    }
}

}  // namespace

TEST(StateCodec, round_trip_preserves_everything) {
    const account_state s = ninety_days();
    const std::string bytes = encode_state(s);
    std::string error;
    auto decoded = decode_state(bytes, &error);
    ASSERT_TRUE(decoded) << error;
    EXPECT_EQ(encode_state(*decoded), bytes) << "decode then encode is the identity";

    const auto& d = *decoded;
    EXPECT_EQ(d.id, "acme-corp");
    EXPECT_EQ(d.first_seen, s.first_seen);
    EXPECT_EQ(d.latest_at, s.latest_at);
    expect_same_profile(d, s);
    EXPECT_EQ(d.attributes, s.attributes);
    for (std::size_t t = 0; t < event_type_count; ++t)
        EXPECT_EQ(d.latest_of(static_cast<event_type>(t)), s.latest_of(static_cast<event_type>(t)));
    for (std::size_t i = 0; i < profile_field_count; ++i) {
        const auto& dh = d.history_of(static_cast<profile_field>(i));
        const auto& sh = s.history_of(static_cast<profile_field>(i));
        ASSERT_EQ(dh.size(), sh.size());
        for (std::size_t k = 0; k < sh.size(); ++k) {
            EXPECT_EQ(dh[k].at, sh[k].at);
            EXPECT_EQ(dh[k].before, sh[k].before);
            EXPECT_EQ(dh[k].after, sh[k].after);
        }
    }
    ASSERT_EQ(d.users.size(), s.users.size());
    EXPECT_EQ(d.users[3].email, s.users[3].email);
    EXPECT_EQ(d.users[3].last_seen, s.users[3].last_seen);
    EXPECT_EQ(d.users[3].first_seen, s.users[3].first_seen);
    ASSERT_EQ(d.tickets.size(), s.tickets.size());
    EXPECT_EQ(d.tickets.back().subject, s.tickets.back().subject);
    EXPECT_EQ(d.tickets.back().opened_at, s.tickets.back().opened_at);
    ASSERT_EQ(d.usage.size(), 3u);
    const auto& a = d.usage.at("api_calls").points;
    const auto& b = s.usage.at("api_calls").points;
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(a[17].at, b[17].at);
    EXPECT_EQ(a[17].sum, 1234.5);
    EXPECT_EQ(a[17].count, b[17].count);
    for (std::size_t t = 0; t < event_type_count; ++t) {
        const auto& ds = d.stream(static_cast<event_type>(t));
        const auto& ss = s.stream(static_cast<event_type>(t));
        ASSERT_EQ(ds.size(), ss.size());
        for (std::size_t i = 0; i < ss.size(); ++i) {
            EXPECT_EQ(ds[i].at, ss[i].at);
            EXPECT_EQ(ds[i].values, ss[i].values);
        }
    }
    ASSERT_EQ(d.movements.size(), 2u);
    EXPECT_EQ(d.movements[1].kind, movement_kind::expansion);
    EXPECT_EQ(d.movements[1].before, 9000.0);
    EXPECT_EQ(d.movements[1].after, 11000.0);

    // Keeps working: a decoded state takes further events.
    d.find_user("user-1");
    auto copy = d;
    copy.apply(make_event(event_type::usage, t0 + 95 * day, {{"metric", "logins"}}, "acme-corp"));
    EXPECT_EQ(copy.usage.at("logins").points.size(), s.usage.at("logins").points.size() + 1);
}

TEST(StateCodec, round_trips_edge_values) {
    account_state s;
    s.id = "";
    s.put(profile_field::name, std::string(300, 'x'), timestamp_min);
    s.put(profile_field::csm, -0.25, timestamp_max);
    s.put(profile_field::csm_email, 1e300);
    s.put(profile_field::segment, -12345678901.0);
    s.put(profile_field::plan, timestamp_min);
    s.put(profile_field::industry, timestamp_max);
    s.put(profile_field::status, string_list{});
    s.put(profile_field::seats, false);
    s.put(profile_field::employees, scalar{}, t0);  // no value, but a time: kept as it is
    s.usage["m"].points = {{timestamp_min, 0.1, 0}, {timestamp_max, -3, UINT32_MAX}};
    s.movements.push_back({timestamp_max, movement_kind::reactivation, 0, 1e-9});
    auto d = decode_state(encode_state(s));
    ASSERT_TRUE(d);
    expect_same_profile(*d, s);
    EXPECT_EQ(d->usage.at("m").points[0].at, timestamp_min);
    EXPECT_EQ(d->usage.at("m").points[1].at, timestamp_max);
    EXPECT_EQ(d->usage.at("m").points[1].count, UINT32_MAX);
    EXPECT_EQ(d->usage.at("m").points[0].sum, 0.1);
    EXPECT_EQ(d->movements[0].after, 1e-9);
    EXPECT_EQ(d->movements[0].kind, movement_kind::reactivation);
}

TEST(StateCodec, rejects_wrong_magic_version_truncation_and_trailing_bytes) {
    const std::string bytes = encode_state(ninety_days());
    std::string error;
    EXPECT_FALSE(decode_state("", &error));
    EXPECT_FALSE(decode_state("XYZ\x01", &error));
    std::string future = bytes;
    future[3] = static_cast<char>(state_codec_version + 1);
    EXPECT_FALSE(decode_state(future, &error));
    EXPECT_NE(error.find("version"), std::string::npos) << error;
    for (std::size_t n = 0; n < bytes.size(); n += 1 + n / 50)
        EXPECT_FALSE(decode_state(std::string_view(bytes).substr(0, n))) << "truncated at " << n;
    EXPECT_FALSE(decode_state(bytes + '\0', &error));
    EXPECT_NE(error.find("trailing"), std::string::npos) << error;
}

TEST(StateCodec, corrupt_input_never_crashes) {
    const std::string good = encode_state(ninety_days());
    std::mt19937_64 rng(42);
    int accepted = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string bytes = good;
        const int flips = 1 + static_cast<int>(rng() % 8);
        for (int i = 0; i < flips; ++i) bytes[4 + rng() % (bytes.size() - 4)] = static_cast<char>(rng());
        if (round % 3 == 0) bytes.resize(4 + rng() % (bytes.size() - 4));
        account_state s;
        if (decode_state(bytes, s)) {
            ++accepted;
            // Whatever was accepted is a usable state: it encodes, and takes events.
            (void)encode_state(s);
            s.apply(make_event(event_type::nps, t0, {{"score", 5}}));
            for (const auto& r : s.streams()) for (const auto& rec : r.records) (void)rec.values.size();
        }
    }
    // Pure garbage, including huge counts.
    for (int round = 0; round < 2000; ++round) {
        std::string bytes = "RFS\x01";
        const auto n = rng() % 64;
        for (std::size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(rng() % 4 == 0 ? 0xff : rng()));
        account_state s;
        (void)decode_state(bytes, s);
    }
    std::printf("corrupt inputs accepted as valid states: %d of 3000\n", accepted);
}

TEST(StateCodec, stream_record_value_counts_are_checked) {
    account_state s;
    s.apply(make_event(event_type::nps, t0, {{"score", 5}}));
    std::string bytes = encode_state(s);
    // A record with too many values must not decode: rules index values by schema position.
    s.stream_for(event_type::nps)[0].values.emplace_back(std::in_place_type<double>, 1.0);
    EXPECT_FALSE(decode_state(encode_state(s)));
    // One written with fewer values (an older schema) is padded with nulls.
    s.stream_for(event_type::nps)[0].values.resize(1);
    auto d = decode_state(encode_state(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->stream(event_type::nps)[0].values.size(), 3u);
}

TEST(StateCodec, decoding_is_fast_and_compact) {
    const account_state s = ninety_days();
    const std::string bytes = encode_state(s);
    const int n = 1000;
    // Thread CPU time, not wall time: the build machine is shared.
    auto cpu_now = [] {
        timespec ts{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
    };
    const double start = cpu_now();
    std::size_t points = 0;
    for (int i = 0; i < n; ++i) {
        auto d = decode_state(bytes);
        ASSERT_TRUE(d);
        points += d->usage.size();
    }
    const double us = (cpu_now() - start) / n;
    std::printf("encoded state of 90 days: %zu bytes; decode %.1f us per state (%zu usage points)\n", bytes.size(), us,
                s.usage.at("logins").points.size() * 3);
    EXPECT_EQ(points, 3u * n);
    EXPECT_LT(bytes.size(), 20000u);
    // 100,000 states in under 2 s needs < 20 us in an optimised build; Debug builds are
    // several times slower, so this bound only catches gross regressions.
    EXPECT_LT(us, 2000.0);
}

TEST(EventJson, canonical_object_has_common_fields_first_and_round_trips) {
    event e = make_event(event_type::ticket, *parse_rfc3339("2026-11-02T09:00:00.250Z"),
                         {{"ticket_id", "T9"}, {"status", "open"}, {"custom", json::object{{"a", json::array{1, 2}}}}},
                         "acme", "z-1");
    const std::string text = encode_event_json(e);
    EXPECT_EQ(text.rfind(R"({"type":"ticket","account":"acme","id":"z-1","at":"2026-11-02T09:00:00.250Z",)", 0), 0u)
        << text;
    std::string error;
    auto back = decode_event_json(text, &error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->type, event_type::ticket);
    EXPECT_EQ(back->account, "acme");
    EXPECT_EQ(back->id, "z-1");
    EXPECT_FALSE(back->id_derived);
    EXPECT_EQ(back->at, e.at);
    EXPECT_EQ(back->fields, e.fields);
    EXPECT_EQ(encode_event_json(*back), text);
}

TEST(EventJson, derived_ids_are_recognised) {
    event e = make_event(event_type::usage, t0, {{"metric", "m"}}, "a", "h:" + std::string(64, 'a'));
    e.id_derived = true;
    auto back = decode_event_json(encode_event_json(e));
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->id_derived);
}

TEST(EventJson, rejects_malformed_input) {
    std::string error;
    for (const char* bad : {"", "[]", "{", R"({"type":"nope","account":"a","at":"2026-01-01T00:00:00Z"})",
                            R"({"type":"nps","at":"2026-01-01T00:00:00Z"})", R"({"type":"nps","account":"","at":"2026-01-01T00:00:00Z"})",
                            R"({"type":"nps","account":"a","at":"yesterday"})", R"({"type":"nps","account":"a","id":7,"at":"2026-01-01T00:00:00Z"})",
                            R"({"type":"nps","account":"a"})"}) {
        error.clear();
        EXPECT_FALSE(decode_event_json(bad, &error)) << bad;
        EXPECT_FALSE(error.empty()) << bad;
    }
}

// A version 1 state (nine streams, before the `goal` and `spend` types) decodes with empty
// streams for them, and is written back as version 2. The bytes are spelled out: "RFS", version,
// id "a", no first_seen, latest_at 0, 15 null profile fields with two zero times each,
// 15 empty histories, no attributes, users, tickets or usage, N empty streams, N
// latest_of_type (the milestone one set to 0 ms, the rest absent), no movements.
TEST(StateCodec, version_1_state_without_the_goal_stream_still_decodes) {
    auto bytes_of = [](char version, std::size_t types) {
        std::string b = "RFS";
        b += version;
        b += std::string("\x01" "a", 2);
        b += std::string(2, '\0');       // first_seen absent, latest_at 0
        b += std::string(15 * 3, '\0');  // profile
        b += std::string(15, '\0');      // histories
        b += std::string(4, '\0');       // attributes, users, tickets, usage
        b += std::string(types, '\0');   // streams
        for (std::size_t t = 0; t < types; ++t)
            b += t == static_cast<std::size_t>(event_type::milestone) ? std::string("\x01\x00", 2) : std::string(1, '\0');
        b += '\0';  // movements
        return b;
    };
    std::string error;
    auto v1 = decode_state(bytes_of('\x01', 9), &error);
    ASSERT_TRUE(v1) << error;
    EXPECT_EQ(v1->id, "a");
    EXPECT_EQ(v1->latest_of(event_type::milestone), from_millis(0));
    EXPECT_FALSE(v1->latest_of(event_type::goal));
    EXPECT_TRUE(v1->stream(event_type::goal).empty());
    EXPECT_EQ(encode_state(*v1), bytes_of('\x02', 11));
    // Nine streams under version 2 are short: refused, not misread.
    EXPECT_FALSE(decode_state(bytes_of('\x02', 9), &error));
}

TEST(StateCodec, goal_records_round_trip) {
    account_state s;
    s.apply(make_event(event_type::goal, t0,
                       {{"goal_id", "g-1"}, {"title", "Roll out to EMEA"}, {"due_at", "2027-01-01T00:00:00Z"}, {"status", "open"}},
                       "a"));
    auto d = decode_state(encode_state(s));
    ASSERT_TRUE(d);
    const auto& goals = d->stream(event_type::goal);
    ASSERT_EQ(goals.size(), 1u);
    EXPECT_EQ(goals[0].values, s.stream(event_type::goal)[0].values);
    EXPECT_EQ(d->latest_of(event_type::goal), t0);
}

TEST(StateCodec, ticket_first_response_round_trips_and_the_earliest_wins) {
    account_state s;
    s.apply(make_event(event_type::ticket, t0, {{"ticket_id", "t1"}, {"status", "open"}}, "a"));
    s.apply(make_event(event_type::ticket, t0 + hour,
                       {{"ticket_id", "t1"}, {"status", "pending"}, {"first_response_at", "2026-01-01T00:45:00Z"}}, "a"));
    // A later event naming a later first response does not move it.
    s.apply(make_event(event_type::ticket, t0 + 2 * hour,
                       {{"ticket_id", "t1"}, {"status", "open"}, {"first_response_at", "2026-01-01T01:30:00Z"}}, "a"));
    s.apply(make_event(event_type::ticket, t0, {{"ticket_id", "t2"}, {"status", "open"}}, "a"));
    ASSERT_EQ(s.tickets.size(), 2u);
    EXPECT_EQ(s.tickets[0].first_response_at, *parse_rfc3339("2026-01-01T00:45:00Z"));
    EXPECT_FALSE(s.tickets[1].first_response_at);
    auto d = decode_state(encode_state(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->tickets[0].first_response_at, s.tickets[0].first_response_at);
    EXPECT_FALSE(d->tickets[1].first_response_at);
}

TEST(StateCodec, memory_per_account) {
    // Heap bytes held by decoded states (what the engine keeps per account after loading
    // snapshots), for the 1 GiB target of 100,000 accounts.
    const std::string bytes = encode_state(ninety_days());
    auto heap = [] { return mallinfo2().uordblks; };
    std::vector<account_state> states;
    states.reserve(200);
    const auto before = heap();
    for (int i = 0; i < 200; ++i) states.push_back(*decode_state(bytes));
    const double per_state = static_cast<double>(heap() - before) / states.size() + sizeof(account_state);
    const std::size_t points = states[0].usage.at("logins").points.size() * 3;
    std::printf("decoded state: %.0f bytes (%zu usage points, %zu bytes of them), sizeof(account_state) %zu\n",
                per_state, points, points * sizeof(usage_point), sizeof(account_state));
    // Usage points dominate (24 bytes each); the ~250 records, users and tickets of this
    // profile take the rest. A guard against slack creeping in (e.g. unshrunk vectors).
    EXPECT_LT(per_state, points * sizeof(usage_point) + 32000.0);
}

TEST(StateCodec, memory_per_account_with_daily_usage) {
    // The density the 1 GiB / 100,000 accounts target allows: one usage point per metric
    // and day, a ticket every 9 days, monthly NPS, weekly activity.
    account_state light;
    light.apply(make_event(event_type::account, t0, {{"name", "Initech"}, {"csm", "alice"}, {"segment", "smb"}}, "initech"));
    light.apply(make_event(event_type::contract, t0, {{"mrr", 900}, {"products", json::array{"crm"}}}, "initech"));
    for (int u = 0; u < 5; ++u)
        light.apply(make_event(event_type::user, t0, {{"user_id", "u" + std::to_string(u)}, {"role", "member"}}, "initech"));
    for (int d = 0; d < 90; ++d) {
        for (const char* metric : {"active_users", "logins", "api_calls"})
            light.apply(make_event(event_type::usage, t0 + d * day, {{"metric", metric}, {"value", 10 + d}}, "initech"));
        if (d % 9 == 0)
            light.apply(make_event(event_type::ticket, t0 + d * day, {{"ticket_id", "T" + std::to_string(d)}, {"status", "solved"}}, "initech"));
        if (d % 30 == 0) light.apply(make_event(event_type::nps, t0 + d * day, {{"score", 9}}, "initech"));
        if (d % 7 == 0) light.apply(make_event(event_type::activity, t0 + d * day, {{"kind", "email"}}, "initech"));
    }
    const std::string bytes = encode_state(light);
    std::vector<account_state> states;
    states.reserve(1000);
    const auto before = mallinfo2().uordblks;
    timespec start{}, end{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
    for (int i = 0; i < 1000; ++i) states.push_back(*decode_state(bytes));
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end);
    std::printf("daily-usage account: decode %.1f us\n",
                ((end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec)) / 1e3 / states.size());
    const double per_state = static_cast<double>(mallinfo2().uordblks - before) / states.size() + sizeof(account_state);
    std::printf("daily-usage account: %zu encoded bytes, %.0f bytes in memory -> %.0f MiB for 100,000 accounts\n",
                bytes.size(), per_state, per_state * 100000 / (1 << 20));
    // Measured 17.7 KB: 1.8 KB of fixed arrays (sizeof(account_state)), 6.5 KB of usage
    // points (24 B each), the rest stream records (40 B per scalar value). A guard against
    // regressions; the 1 GiB target needs a leaner record layout in account_state.hpp.
    EXPECT_LT(per_state, 20000.0);
}

// Found by tests/fuzz/event_fuzz: Boost 1.81 does not parse numbers correctly rounded,
// so a double written in its shortest form (as boost::json::serialize writes it) could
// read back one ulp off, and an event read back from the store after a restart rebuilt a
// different state than the one in memory. Every double Boost produced when it parsed an
// event must come back exactly.
TEST(EventJson, doubles_parsed_by_boost_come_back_exactly) {
    std::vector<std::string> texts = {"309.2e150", "1736328.4223647017", "1947438.2004686098", "968984.1385496301",
                                      "0.30000000000000004", "-2.5e-300", "4.9e-324", "1.7976931348623157e308",
                                      "123456789012345678901234567890", "-0", "5.0", "1e22", "1e23"};
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> money(0, 1e7);
    std::uniform_int_distribution<int> exponent(-320, 300);
    char buf[64];
    for (int i = 0; i < 3000; ++i) {
        std::snprintf(buf, sizeof buf, "%.17g", money(rng));
        texts.emplace_back(buf);
        std::snprintf(buf, sizeof buf, "%.17ge%d", money(rng) / 1e6, exponent(rng));
        texts.emplace_back(buf);
    }
    int checked = 0;
    for (const auto& text : texts) {
        auto parsed = json::parse(text);
        if (!parsed.is_double()) continue;
        event e = make_event(event_type::milestone, t0, {{"name", "x"}, {"extra", parsed}, {"list", json::array{parsed}}});
        auto back = decode_event_json(encode_event_json(e));
        ASSERT_TRUE(back) << text;
        ASSERT_TRUE(back->fields.at("extra").is_double()) << text << " -> " << encode_event_json(e);
        EXPECT_EQ(std::bit_cast<std::uint64_t>(back->fields.at("extra").get_double()),
                  std::bit_cast<std::uint64_t>(parsed.get_double()))
            << text << " -> " << encode_event_json(e);
        EXPECT_EQ(back->fields.at("list"), e.fields.at("list")) << text;
        ++checked;
    }
    EXPECT_GT(checked, 6000);
}

// A decoded state is as compact as one built by apply(): entries only for what is set.
TEST(StateCodec, decoded_state_keeps_entries_only_for_what_is_set) {
    account_state s;
    s.apply(make_event(event_type::usage, t0, {{"metric", "logins"}}, "a"));
    s.apply(make_event(event_type::account, t0, {{"csm", "alice"}}, "a"));
    s.apply(make_event(event_type::account, t0 + day, {{"csm", "bob"}}, "a"));
    auto d = decode_state(encode_state(s));
    ASSERT_TRUE(d);
    ASSERT_EQ(d->profile_values().size(), 1u);
    EXPECT_EQ(d->profile_values()[0].field, profile_field::csm);
    ASSERT_EQ(d->histories().size(), 1u);
    EXPECT_EQ(d->histories()[0].changes.size(), 1u);
    ASSERT_EQ(d->streams().size(), 2u) << "account (a record) and usage (its latest time)";
    EXPECT_EQ(d->streams()[0].type, event_type::account);
    EXPECT_EQ(d->streams()[1].type, event_type::usage);
    EXPECT_EQ(encode_state(*d), encode_state(s));
}
