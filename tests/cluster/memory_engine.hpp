// An in-memory partition_engine for the cluster tests (and the probe process): each event
// is "ACCOUNT:VALUE", and an account's state is how many events it had and their sum, so
// the final state tells whether every event was applied exactly once. Snapshots are text.
// Records every apply that repeats or goes back in sequence as a violation.
//
// Thread-safe (one mutex).
#pragma once

#include "cluster/partition_runner.hpp"

#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace redflag::cluster::testing {

class memory_engine final : public partition_engine {
public:
    struct account {
        std::uint64_t count = 0;
        std::int64_t sum = 0;
        bool operator==(const account&) const = default;
    };

    std::uint64_t applied_sequence(int p) override {
        std::lock_guard lock(mu_);
        return parts_[p].applied;
    }

    status restore(int p, std::uint64_t sequence, std::string_view bytes) override {
        std::lock_guard lock(mu_);
        part fresh;
        std::istringstream in{std::string(bytes)};
        std::string name;
        account a;
        while (in >> name >> a.count >> a.sum) fresh.accounts[name] = a;
        fresh.applied = sequence;
        parts_[p] = std::move(fresh);
        return {};
    }

    void apply(int p, std::uint64_t sequence, std::string_view data, std::int64_t) override {
        std::lock_guard lock(mu_);
        auto& part = parts_[p];
        if (sequence <= part.applied)
            violations_.push_back("partition " + std::to_string(p) + ": sequence " + std::to_string(sequence) +
                                  " after " + std::to_string(part.applied));
        auto colon = data.rfind(':');
        auto& a = part.accounts[std::string(data.substr(0, colon))];
        a.count++;
        a.sum += std::stoll(std::string(data.substr(colon + 1)));
        part.applied = sequence;
        ++applies_;
    }

    void flush(int) override {}

    result<partition_snapshot> snapshot(int p) override {
        std::lock_guard lock(mu_);
        auto& part = parts_[p];
        std::ostringstream out;
        for (const auto& [name, a] : part.accounts) out << name << ' ' << a.count << ' ' << a.sum << '\n';
        return partition_snapshot{part.applied, out.str()};
    }

    void drop(int p) override {
        std::lock_guard lock(mu_);
        parts_[p].accounts.clear();
        parts_[p].applied = 0;
    }

    std::map<std::string, account> accounts() {
        std::lock_guard lock(mu_);
        std::map<std::string, account> out;
        for (const auto& [p, part] : parts_)
            for (const auto& [name, a] : part.accounts) out[name] = a;
        return out;
    }
    std::vector<std::string> violations() {
        std::lock_guard lock(mu_);
        return violations_;
    }
    std::uint64_t applies() {
        std::lock_guard lock(mu_);
        return applies_;
    }

private:
    struct part {
        std::uint64_t applied = 0;
        std::map<std::string, account> accounts;
    };
    std::mutex mu_;
    std::map<int, part> parts_;
    std::vector<std::string> violations_;
    std::uint64_t applies_ = 0;
};

}  // namespace redflag::cluster::testing
