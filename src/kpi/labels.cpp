#include "kpi/labels.hpp"

namespace redflag::kpi {

label_table::label_table(std::size_t cap) : cap_(cap) { names_.emplace_back(overflow_label_name); }

label_id label_table::intern(std::string_view value) {
    std::lock_guard lock(mutex_);
    if (auto it = ids_.find(value); it != ids_.end()) return it->second;
    // names_ holds the overflow name too; ids must also fit label_id.
    if (names_.size() > cap_ || names_.size() > 0xFFFF) return overflow_label;
    auto id = static_cast<label_id>(names_.size());
    names_.emplace_back(value);
    ids_.emplace(std::string(value), id);
    return id;
}

std::string label_table::name(label_id id) const {
    std::lock_guard lock(mutex_);
    return id < names_.size() ? names_[id] : std::string{};
}

std::vector<std::string> label_table::names() const {
    std::lock_guard lock(mutex_);
    return names_;
}

label_id label_cache::get(std::string_view value) {
    if (auto it = known_.find(value); it != known_.end()) return it->second;
    label_id id = table_->intern(value);
    // Overflowed values are not cached, so the cache stays as bounded as the table; the
    // degraded case (more distinct values than the cap) takes the table's lock each time.
    if (id != overflow_label) known_.emplace(std::string(value), id);
    return id;
}

}  // namespace redflag::kpi
