// What delivery needs to know of alerts and silences, as two narrow interfaces that
// `app/` wires to their owner (alerts/), so that delivery sends what it is handed and
// never reads an alert record or a silence itself (DESIGN.md: alerts -> delivery, no
// arrow back up).
//
// Both are called from dispatcher worker threads: implementations are thread-safe.
#pragma once

#include "core/time.hpp"
#include "delivery/notification.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace redflag::delivery {

// Is a notification held back when it is due? The id of the active silence matching it
// at `now`, if any (alerts::silence_registry).
class silence_check {
public:
    virtual std::optional<std::string> silenced_by(const notification& n, timestamp now) const = 0;
    // The `until` of silence `id` now (an expired silence's is when it was expired);
    // nullopt when there is no such silence. A card rewrite of a silence's end that was
    // scheduled for an `until` the silence no longer has is superseded.
    virtual std::optional<timestamp> until_of(std::string_view id) const {
        (void)id;
        return std::nullopt;
    }

protected:
    ~silence_check() = default;
};

// Is an alert still firing? For a channel that re-posts firing alerts (Alertmanager).
struct firing_answer {
    enum class state { firing, over, unknown } is = state::unknown;  // unknown: could not tell (a failed read)
    std::optional<timestamp> ended_at;  // over: when it resolved, if known
    std::string error;                  // unknown: why
    // The alert's first acknowledgement, if any: a card that shows it again after a
    // silence must read acknowledged, not firing.
    std::optional<std::string> acknowledged_by;
    std::string ack_comment;
};
class alert_status {
public:
    virtual firing_answer still_firing(std::string_view alert_id) const = 0;

protected:
    ~alert_status() = default;
};

}  // namespace redflag::delivery
