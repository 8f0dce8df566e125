// What a notification looks like on each channel, as pure functions of the notification
// (and, where a peer needs one, the current time), separate from the I/O so that every
// format is unit tested without a peer (tests/delivery/channels/render_test.cpp).
//
//   text lines      headline(), summary()              every channel's one-line form
//   Slack           render_slack(), slack_post_body()  Block Kit blocks + plain-text fallback
//   JSON webhook    render_redflag_json()              ../shared/spec/alerts.md's object
//                   render_alertmanager_json()         Alertmanager's v2 alert array
//
// Pure functions, thread-safe, no failure modes (text is cut to the peers' limits, never
// rejected).
#pragma once

#include "core/time.hpp"
#include "delivery/group.hpp"
#include "delivery/notification.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <span>
#include <string>
#include <string_view>

namespace redflag::delivery::channels {

// "[HIGH]": the severity, upper-cased, bracketed.
std::string severity_tag(std::string_view severity);

// The title as the notice's kind puts it: "Usage dropped", "Still firing: Usage dropped",
// "Recovered: Usage dropped", "Acknowledged: Usage dropped".
std::string headline(const notification& n);

// One line for a plain-text channel or a notification preview:
//   firing / repeat  "[HIGH] Acme: Usage dropped" (repeat: "... Still firing: Usage dropped")
//   resolved         "Recovered: Usage dropped, Acme"  (the spec's recovery notice)
//   acknowledged     "Acknowledged by liam: calling them today (Usage dropped, Acme)"
std::string summary(const notification& n);

// Cuts `text` to at most `max_bytes` bytes on a UTF-8 character boundary, ending it with
// "…" when it was cut.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

// Slack's mrkdwn control characters: & < > become &amp; &lt; &gt;.
std::string slack_escape(std::string_view text);

struct slack_message {
    std::string text;            // the plain-text fallback (notifications, screen readers)
    boost::json::array blocks;   // Block Kit
};

// The message for `n`. `owner_mention` is "<@U123>" when the CSM was found in Slack, or
// empty (the owner is then named as text). `in_thread`: a follow-up posted under the
// alert's first message, so it is short (one section) instead of the whole card.
// `interactive` (bot-token channels): the card carries the buttons Acknowledge
// (action_id redflag_ack), Snooze 1d (redflag_snooze_1d) and Snooze 7d
// (redflag_snooze_7d), each with the alert id as `value`, answered by
// POST /v1/slack/interactions (http/slack_interactions.hpp).
slack_message render_slack(const notification& n, std::string_view owner_mention, bool in_thread,
                           bool interactive = false);

inline constexpr std::string_view slack_action_ack = "redflag_ack";
inline constexpr std::string_view slack_action_snooze_1d = "redflag_snooze_1d";
inline constexpr std::string_view slack_action_snooze_7d = "redflag_snooze_7d";

// The alert's first message (its card) as it must read after `n` (acknowledged, snoozed,
// resolved): the state in the header (a recovered card turns green, an acked one :eyes:,
// a snoozed one :zzz:), who and until when, and only the buttons that still apply.
slack_message render_slack_card(const notification& n);

// The card of an account's group (`group_by: [account]`, delivery/group.hpp):
//   header   ":red_circle: Acme: 3 red flags" (the worst severity's emoji), or
//            ":white_check_mark: Acme: all red flags recovered" once none is left;
//   section  the account (linked) and its owner;
//   per flag a section ("*[HIGH] Usage dropped* firing since …", its message, or who
//            acknowledged / snoozed it until when) and, while something can still be
//            done, an actions block (block_id "redflag_actions_<i>") with the same
//            buttons as a single card, each carrying that flag's alert id;
//   context  how many flags the card shows.
// Within Slack's Block Kit limit of 50 blocks: at most slack_group_max_flags flags get
// their own blocks, the rest are listed by title in one section ("…and 4 more").
slack_message render_slack_group(const group_card& g);
inline constexpr std::size_t slack_group_max_flags = 23;

// A follow-up in the group card's thread: the notification's one line (summary()),
// with the owner's mention for firing and repeat.
slack_message render_slack_group_reply(const notification& n, std::string_view owner_mention);

// The chat.update body: {"channel", "ts", "text", "blocks"}.
std::string slack_update_body(std::string_view channel_id, std::string_view ts, const slack_message& m);

// The chat.postMessage body: {"channel", "text", "blocks", "thread_ts"?, "unfurl_links": false}.
// `channel` empty leaves it out (incoming webhooks post to their own channel).
std::string slack_post_body(std::string_view channel, const slack_message& m, std::string_view thread_ts);

// `format: redflag`: {"id","rule","account","account_name","csm_email","state","severity",
// "title","message","labels","at","idempotency_key"}; `labels` is an object. `state` is the
// kind's name; `acknowledged` is never posted (the webhook sender skips it).
boost::json::object render_redflag_json(const notification& n);

// `format: alertmanager`: a one-element v2 alert array. Labels: alertname (the rule),
// account, severity and the rule's labels (names made valid for Alertmanager; ours win a
// clash). startsAt is firing_since. endsAt: for `resolved`, the instant it resolved; for
// `firing`/`repeat`, `now + hold`: Alertmanager resolves an alert by itself when endsAt
// passes, so the dispatcher re-posts firing alerts every `resend` with hold = 4 × resend,
// as Prometheus does (a lost re-post or two does not end the alert).
boost::json::array render_alertmanager_json(const notification& n, timestamp now, duration hold);
// Several alerts in one array (a re-post), each as render_alertmanager_json renders it.
boost::json::array render_alertmanager_json(std::span<const notification> alerts, timestamp now, duration hold);

}  // namespace redflag::delivery::channels
