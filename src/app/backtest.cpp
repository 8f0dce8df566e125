#include "app/backtest.hpp"

#include "app/outcomes.hpp"
#include "app/replay.hpp"
#include "model/event.hpp"
#include "store/keys.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace redflag::app {
namespace fs = std::filesystem;

namespace {

// A folder only this process uses, removed when it goes out of scope.
struct temp_folder {
    fs::path path;
    temp_folder() {
        std::random_device random;
        path = fs::temp_directory_path() / ("redflag-backtest-" + std::to_string(random()) + std::to_string(random()));
        fs::create_directories(path);
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace);
    }
    ~temp_folder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

backtest_result run_backtest(const store::store& store, const std::vector<std::string>& rule_paths,
                             const std::string& candidate_file, const std::string& candidate_text) {
    backtest_result result;
    try {
        temp_folder folder;
        // The events in time order; the store keeps each account's in sequence order.
        struct line {
            timestamp at;
            std::string bytes;
        };
        std::vector<line> lines;
        auto st = store.for_each_prefix(store::column::events, "", [&](std::string_view key, std::string_view value) {
            timestamp at{};
            std::string_view bytes;
            if (!store::keys::parse_event_value(value, at, bytes)) return true;
            // Company-level events (spend) are stored under the internal company account;
            // as sent, and as replay reads them, they have no account.
            std::string_view account;
            std::uint64_t sequence = 0;
            if (store::keys::parse_event_key(key, account, sequence) && model::is_company(account)) {
                boost::system::error_code ec;
                auto v = boost::json::parse(bytes, ec);
                if (!ec && v.is_object()) {
                    auto& o = v.as_object();
                    if (auto* acc = o.if_contains("account"); acc && acc->is_string() && model::is_company(acc->get_string())) {
                        o.erase("account");
                        lines.push_back({at, boost::json::serialize(v)});
                        return true;
                    }
                }
            }
            lines.push_back({at, std::string(bytes)});
            return true;
        });
        if (!st.ok()) {
            result.error = "reading the stored events failed: " + st.message();
            return result;
        }
        std::stable_sort(lines.begin(), lines.end(), [](const line& x, const line& y) { return x.at < y.at; });
        const auto events_path = folder.path / "events.ndjson";
        {
            std::ofstream out(events_path, std::ios::binary);
            for (const auto& l : lines) out << l.bytes << '\n';
            if (!out) {
                result.error = "writing the events for the backtest failed";
                return result;
            }
        }
        const auto candidate_path = folder.path / candidate_file;
        {
            std::ofstream out(candidate_path, std::ios::binary);
            out << candidate_text;
            if (!out) {
                result.error = "writing the candidate rule for the backtest failed";
                return result;
            }
        }
        replay_options options;
        options.rules = rule_paths;
        options.rules.push_back(candidate_path.string());
        options.events = events_path.string();
        options.outcomes = true;
        outcomes_observer observer(std::nullopt, std::nullopt, "");
        std::ostringstream transitions, errors;
        if (run_replay(options, transitions, errors, &observer) != 0) {
            result.error = "the backtest failed: " + errors.str();
            return result;
        }
        result.report = boost::json::parse(render_json(compute_outcomes(observer.input()))).as_object();
        // The transitions, one NDJSON line each: who each rule fired for.
        std::istringstream in(transitions.str());
        std::string text;
        while (std::getline(in, text)) {
            boost::system::error_code ec;
            auto v = boost::json::parse(text, ec);
            const auto* o = ec ? nullptr : v.if_object();
            if (!o || !o->contains("state") || o->at("state") != "firing") continue;
            if (!o->at("rule").is_string() || !o->at("account").is_string()) continue;
            result.flagged[std::string(o->at("rule").get_string())].emplace_back(o->at("account").get_string());
        }
        for (auto& [rule, accounts] : result.flagged) {
            std::sort(accounts.begin(), accounts.end());
            accounts.erase(std::unique(accounts.begin(), accounts.end()), accounts.end());
        }
        result.events = lines.size();
        result.ok = true;
    } catch (const std::exception& e) {
        result.error = std::string("the backtest failed: ") + e.what();
    }
    return result;
}

}  // namespace redflag::app
