// Silences (../shared/spec/alerts.md, "Acting on alerts"): POST /v1/silences
// {"rule"?, "account"?, "until", "reason", "by"} holds back the notifications of matching
// alerts until `until`; alerts still change state and show in the API. DELETE expires a
// silence (its `until` becomes now) and keeps it listed, like Alertmanager.
//
// Semantics:
//  - a silence matches a notification when each field it sets equals the
//    notification's (`rule` the rule's name, `account` the account id), every one of its
//    `matchers` matches, and it is active (created_at <= now < until). At least one of
//    rule, account and matchers is required: a silence of everything is more likely a
//    mistake than a wish.
//  - matchers are Alertmanager's: `NAME OP "VALUE"` with OP one of = != =~ !~; a regex
//    is RE2 syntax, fully anchored (`=~".*@acme.com"` matches the whole value), linear in
//    time whatever the pattern. NAME is `rule`, `account`, `account_name`, `severity`,
//    `csm` (the CSM's email, or the csm field when the account has no csm_email),
//    `segment`, or any alert label (a label the alert lacks is the empty string, so
//    `team!="emea"` matches alerts without a team).
//  - silences are checked by the dispatcher when a notification is due, not when the
//    engine writes it: a silence created later still holds back notifications already
//    waiting (retries, digests). A held-back notification is final, outcome `silenced`
//    with the silence's id in the alert's history; it is not sent when the silence ends
//    (that is what Alertmanager does too: the alert's next repeat or recovery notifies).
//  - a firing alert whose Slack card was posted (delivery/cards.hpp) and that a new
//    silence matches gets its card rewritten: a `silence_began` record (who, until when,
//    the reason), and a `silence_ended` record due at `until` that turns it firing again;
//    expiring the silence early adds a `silence_ended` due at once (the one due at the old
//    `until` is then moot, see dispatcher.hpp). Both are written in the same batch as the
//    silence, so a kill -9 between the silence and the rewrite loses neither.
//
// Storage: column `silences`, key the silence id, value JSON (to_json).
// Thread-safe: one mutex around a small vector; matched once per due notification on a
// dispatcher thread, never on a shard.
#pragma once

#include "core/time.hpp"
#include "delivery/alert_view.hpp"
#include "delivery/notification.hpp"
#include "delivery/outbox.hpp"
#include "store/store.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace redflag::alerts {

using delivery::notification;

class alert_index;

namespace matching {
class compiled_regex;  // RE2, kept out of this header
}

enum class match_op : std::uint8_t { equal, not_equal, regex, not_regex };
inline constexpr std::string_view match_op_names[] = {"=", "!=", "=~", "!~"};

struct matcher {
    std::string name;
    match_op op = match_op::equal;
    std::string value;
    std::shared_ptr<const matching::compiled_regex> regex;  // for =~ and !~

    bool matches(const notification& n) const;
    // Canonical text: name, operator, value in double quotes with \ and " escaped.
    std::string text() const;
    friend bool operator==(const matcher& a, const matcher& b) {
        return a.name == b.name && a.op == b.op && a.value == b.value;
    }
};

// Parses `csm=~".*@acme.com"` (the value may be unquoted when it has no spaces or
// quotes); nullopt with what is wrong (an unknown operator, a bad regex: RE2's message).
std::optional<matcher> parse_matcher(std::string_view text, std::string& error);

struct silence {
    std::string id;  // 32 hex digits
    std::string rule;
    std::string account;
    std::vector<matcher> matchers;  // all must match
    timestamp until{};
    std::string reason;
    std::string by;
    timestamp created_at{};

    bool active(timestamp now) const { return created_at <= now && now < until; }
    bool matches(const notification& n) const {
        if (!rule.empty() && rule != n.rule) return false;
        if (!account.empty() && account != n.account) return false;
        for (const auto& m : matchers)
            if (!m.matches(n)) return false;
        return true;
    }
    friend bool operator==(const silence&, const silence&) = default;
};

boost::json::object to_json(const silence& s, timestamp now);  // with "state": active | expired
std::optional<silence> silence_from_json(const boost::json::value& v, std::string* error = nullptr);

// Validates a POST /v1/silences body into a silence created at `now` (id left empty);
// nullopt with a message saying what is wrong.
std::optional<silence> silence_from_request(const boost::json::value& body, timestamp now, std::string& error);

// The dispatcher's silence_check (delivery/alert_view.hpp), wired by app/.
class silence_registry final : public delivery::silence_check {
public:
    explicit silence_registry(store::store& store) : store_(store) {}

    // Reads every stored silence. Start-up. Unreadable ones are skipped (logged, and
    // counted in unreadable() for redflag_degraded_total).
    store::status load();
    std::size_t unreadable() const { return unreadable_; }

    // Card rewrites: the firing alerts (`index`) whose cards a silence changes, and where
    // their records go once durable (the dispatcher). Before the first create(); either
    // null: silences rewrite no card.
    void attach_cards(const alert_index* index, delivery::outbox_sink* sink) {
        index_ = index;
        sink_ = sink;
    }

    // Stores `s` with a fresh id (written before it takes effect); returns it.
    store::result<silence> create(silence s);
    // Expires silence `id` at `now`: nullopt when there is no such silence.
    store::result<std::optional<silence>> expire(const std::string& id, timestamp now);
    std::vector<silence> list() const;

    // The id of an active silence matching `n` at `now`, if any.
    std::optional<std::string> silenced_by(const notification& n, timestamp now) const override;
    std::optional<timestamp> until_of(std::string_view id) const override;

private:
    // Puts into `batch` the card rewrites of `s` (began: its start; else its end at
    // s.until, keyed with `suffix`) for every firing alert's card it matches.
    store::status put_card_rewrites(const silence& s, bool began, std::string_view suffix, store::write_batch& batch,
                                    std::vector<delivery::outbox_ref>& refs) const;

    store::store& store_;
    const alert_index* index_ = nullptr;
    delivery::outbox_sink* sink_ = nullptr;
    mutable std::mutex mutex_;
    std::vector<silence> silences_;  // guarded by mutex_
    std::size_t unreadable_ = 0;     // by the last load()
};

}  // namespace redflag::alerts
