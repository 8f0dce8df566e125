// Synthetic, deterministic customer accounts for the rule-evaluation benchmarks: per
// account a profile and contract, three users (a superuser, a decision maker, an admin),
// a daily `usage` of active_users carrying the superuser's user_id, a few tickets (one
// urgent), two NPS answers and two activities, over `days` days from an origin. About
// 100 events per account over 90 days.
//
// Events are produced one (account, day) at a time, so that a caller can either build
// one account completely (eval_bench) or write every account's events of a day in time
// order (make_replay_log) without holding all events in memory. A few accounts are given
// the situations the shipped rules look for (usage drop, idle superuser, decision maker
// leaving, CSM change, detractor NPS, urgent tickets), so evaluation is not trivially false.
#pragma once

#include "core/time.hpp"
#include "model/event.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace redflag::bench {

// splitmix64: a tiny, well-mixed generator, seeded per (account, day, purpose).
inline std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

inline std::uint64_t draw(std::uint32_t account, int day, std::uint32_t purpose) {
    return mix((static_cast<std::uint64_t>(account) << 32) ^ (static_cast<std::uint64_t>(day + 1000) << 8) ^ purpose);
}

inline std::string account_name(std::uint32_t index) {
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "acct-%07u", index);
    return buffer;
}

// What stays the same for one account over the whole history.
struct account_traits {
    std::int64_t seats = 0;
    double mrr = 0;
    bool enterprise = false;
    int signed_days_before = 0;   // signed this many days before the origin
    int renewal_days_after = 0;   // renewal this many days after the origin
    double usage_share = 0;       // typical active users / seats
    bool usage_drops = false;     // usage halves over the last 10 days
    bool superuser_idle = false;  // the superuser stops using the product after day 60
    bool decision_maker_leaves = false;
    bool csm_changes = false;
    int nps_day[2]{};
    int ticket_day[2]{};
    int activity_day[2]{};
};

inline account_traits traits_of(std::uint32_t account, int days) {
    account_traits t;
    auto r = [&](std::uint32_t purpose) { return draw(account, -1, purpose); };
    t.seats = 20 + static_cast<std::int64_t>(r(1) % 481);
    t.mrr = 500.0 + static_cast<double>(r(2) % 11500);
    t.enterprise = r(3) % 5 == 0;
    t.signed_days_before = 200 + static_cast<int>(r(4) % 800);
    t.renewal_days_after = 30 + static_cast<int>(r(5) % 370);
    t.usage_share = 0.3 + static_cast<double>(r(6) % 50) / 100.0;
    t.usage_drops = r(7) % 10 == 0;
    t.superuser_idle = r(8) % 10 == 1;
    t.decision_maker_leaves = r(9) % 20 == 2;
    t.csm_changes = r(10) % 20 == 3;
    for (int i = 0; i < 2; ++i) {
        t.nps_day[i] = 1 + static_cast<int>(r(20 + i) % static_cast<std::uint64_t>(days - 1));
        t.ticket_day[i] = 1 + static_cast<int>(r(30 + i) % static_cast<std::uint64_t>(days - 3));
        t.activity_day[i] = 1 + static_cast<int>(r(40 + i) % static_cast<std::uint64_t>(days - 1));
    }
    return t;
}

inline constexpr std::array<const char*, 8> csm_names{"Ana", "Ben", "Chloe", "Dev", "Eva", "Farid", "Gus", "Hana"};

// Appends the events of `account` on `day` (0-based from `origin`), sorted by `at`.
inline void append_day_events(std::uint32_t account, int day, int days, timestamp origin,
                              const account_traits& t, std::vector<model::event>& out) {
    const std::string name = account_name(account);
    const timestamp midnight = origin + day * redflag::day;
    std::uint32_t serial = 0;
    auto make = [&](model::event_type type, duration time_of_day) -> model::event& {
        auto& e = out.emplace_back();
        e.type = type;
        e.account = name;
        e.id = name + "-" + std::to_string(day) + "-" + std::to_string(serial++);
        e.at = midnight + time_of_day;
        return e;
    };
    const std::size_t first = out.size();

    if (day == 0) {
        auto& a = make(model::event_type::account, 8 * hour);
        a.fields = {{"name", "Customer " + name},
                    {"csm", csm_names[account % csm_names.size()]},
                    {"csm_email", "csm@example.com"},
                    {"segment", t.enterprise ? "enterprise" : "smb"},
                    {"plan", t.enterprise ? "enterprise" : "growth"},
                    {"industry", "software"},
                    {"status", "active"},
                    {"seats", t.seats},
                    {"signed_at", format_rfc3339(origin - t.signed_days_before * redflag::day)}};
        auto& c = make(model::event_type::contract, 8 * hour + minute);
        c.fields = {{"mrr", t.mrr},
                    {"seats", t.seats},
                    {"products", boost::json::array{"core", "analytics"}},
                    {"renewal_at", format_rfc3339(origin + t.renewal_days_after * redflag::day)},
                    {"status", "active"}};
        const char* roles[] = {"superuser", "decision_maker", "admin"};
        for (int u = 0; u < 3; ++u) {
            auto& e = make(model::event_type::user, 9 * hour + u * minute);
            e.fields = {{"user_id", "u" + std::to_string(u + 1)},
                        {"email", "user" + std::to_string(u + 1) + "@" + name + ".example"},
                        {"role", roles[u]},
                        {"active", true}};
        }
    }

    for (int i = 0; i < 2; ++i) {
        if (day == t.ticket_day[i]) {
            const bool urgent = i == 1;
            auto& e = make(model::event_type::ticket, 10 * hour + i * minute);
            e.fields = {{"ticket_id", "t" + std::to_string(i + 1)},
                        {"status", "open"},
                        {"priority", urgent ? "urgent" : "normal"},
                        {"subject", "Something is wrong"}};
        }
        // The first ticket is solved two days later; the urgent one stays open.
        if (i == 0 && day == t.ticket_day[0] + 2) {
            auto& e = make(model::event_type::ticket, 11 * hour);
            e.fields = {{"ticket_id", "t1"}, {"status", "solved"}, {"priority", "normal"}};
        }
        if (day == t.nps_day[i]) {
            auto& e = make(model::event_type::nps, 12 * hour + i * minute);
            e.fields = {{"score", static_cast<std::int64_t>(draw(account, day, 50 + i) % 11)},
                        {"respondent", "user2@" + name + ".example"}};
        }
        if (day == t.activity_day[i]) {
            auto& e = make(model::event_type::activity, 14 * hour + i * minute);
            e.fields = {{"kind", i == 0 ? "call" : "meeting"}, {"by", csm_names[account % csm_names.size()]}};
        }
    }
    if (t.csm_changes && day == days - 15) {
        auto& e = make(model::event_type::account, 15 * hour);
        e.fields = {{"csm", csm_names[(account + 1) % csm_names.size()]}};
    }
    if (t.decision_maker_leaves && day == days - 10) {
        auto& e = make(model::event_type::user, 16 * hour);
        e.fields = {{"user_id", "u2"}, {"role", "decision_maker"}, {"active", false}};
    }

    // The daily usage: active users around usage_share × seats, ±10%.
    double base = t.usage_share * static_cast<double>(t.seats);
    if (t.usage_drops && day >= days - 10) base *= 0.5;
    const double jitter = 0.9 + static_cast<double>(draw(account, day, 60) % 21) / 100.0;
    auto& u = make(model::event_type::usage, 20 * hour);
    u.fields = {{"metric", "active_users"}, {"value", static_cast<std::int64_t>(base * jitter)}};
    if (!(t.superuser_idle && day > 60)) u.fields["user_id"] = "u1";

    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                     [](const model::event& a, const model::event& b) { return a.at < b.at; });
}

}  // namespace redflag::bench
