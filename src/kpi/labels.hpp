// Bounded label values for the KPI metrics (../shared/spec/metrics.md: "label values are
// bounded"). A label_table turns the strings of one label (CSM names, segments, health
// bands, score bands, classification labels) into small ids that per-account KPI
// contributions store instead of strings; the first `cap` distinct values get their own
// id, every later one shares id 0, exposed as "other", so a feed with a runaway CSM field
// cannot blow up the number of series.
//
// Thread-safety: label_table is shared by every shard and guarded by a mutex; each shard
// reads it through its own label_cache, which takes the table's lock only the first time
// the shard meets a value, so the evaluation path is lock-free once values are known.
// Ids are never reused or renamed. No failure modes.
#pragma once

#include <cstdint>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace redflag::kpi {

using label_id = std::uint16_t;

// The id of values beyond a table's cap, and its exposed name.
inline constexpr label_id overflow_label = 0;
inline constexpr std::string_view overflow_label_name = "other";

// Heterogeneous lookup of std::string keys by std::string_view.
struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class label_table {
public:
    explicit label_table(std::size_t cap = 1000);

    // The id of `value`, adding it when there is room; overflow_label beyond the cap.
    label_id intern(std::string_view value);
    // The value of an id ("other" for overflow_label; "" for an id never handed out).
    std::string name(label_id id) const;
    // Every value by id, for exposition: names()[id].
    std::vector<std::string> names() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::string> names_;
    std::unordered_map<std::string, label_id, string_hash, std::equal_to<>> ids_;
    std::size_t cap_;
};

// One shard's view of a label_table; not thread-safe (one shard thread).
class label_cache {
public:
    explicit label_cache(label_table& table) : table_(&table) {}
    label_id get(std::string_view value);

private:
    label_table* table_;
    std::unordered_map<std::string, label_id, string_hash, std::equal_to<>> known_;
};

// The tables of every KPI label that comes from data or rules.
struct label_tables {
    explicit label_tables(std::size_t cap = 1000)
        : csm(cap), segment(cap), band(cap), score_band(cap), class_label(cap), alert(cap) {}
    label_table csm;          // account.csm, "none" when unset
    label_table segment;      // account.segment, "none" when unset
    label_table band;         // band of score `health`, "unknown" when none
    label_table score_band;   // score name + '\x1f' + band name (redflag_score)
    label_table class_label;  // classify name + '\x1f' + label (redflag_classification)
    label_table alert;        // rule name + '\x1f' + severity (redflag_book_alerts)
};

// A shard's caches over label_tables.
struct label_caches {
    explicit label_caches(label_tables& t)
        : csm(t.csm),
          segment(t.segment),
          band(t.band),
          score_band(t.score_band),
          class_label(t.class_label),
          alert(t.alert) {}
    label_cache csm, segment, band, score_band, class_label, alert;
};

// The separator of the two parts of a score_band, class_label or alert value.
inline constexpr char pair_separator = '\x1f';

}  // namespace redflag::kpi
