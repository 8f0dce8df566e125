#include "delivery/channels/render.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

namespace redflag::delivery::channels {

namespace json = boost::json;

namespace {

// Slack's documented limits (Block Kit reference): header text 150 characters, section
// text 3000, a field 2000, a button's text 75 and its url 3000. Counted here in bytes,
// which is never more characters than that.
constexpr std::size_t slack_header_max = 150;
constexpr std::size_t slack_section_max = 3000;
constexpr std::size_t slack_field_max = 2000;
constexpr std::size_t slack_url_max = 3000;

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

std::string capitalised(std::string_view s) {
    std::string out(s);
    if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return out;
}

bool is_web_url(std::string_view url) {
    return (url.starts_with("https://") || url.starts_with("http://")) && url.size() <= slack_url_max &&
           url.find_first_of(" <>|\"") == std::string_view::npos;
}

std::string_view severity_emoji(const notification& n) {
    switch (n.kind) {
        case notice_kind::resolved: return ":white_check_mark:";
        case notice_kind::acknowledged: return ":eyes:";
        case notice_kind::snoozed: return ":zzz:";
        case notice_kind::silence_began: return ":no_bell:";
        case notice_kind::resolved_silently: return ":white_check_mark:";
        default: break;
    }
    if (n.severity == "critical") return ":rotating_light:";
    if (n.severity == "high") return ":red_circle:";
    if (n.severity == "medium") return ":large_orange_circle:";
    return ":large_yellow_circle:";
}

// "16:00 UTC, 2 Nov 2026"-style text would need a locale; RFC 3339 is unambiguous.
std::string when(timestamp t) { return format_rfc3339(t); }

json::object plain_text(std::string_view text) {
    return {{"type", "plain_text"}, {"text", text}, {"emoji", true}};
}

json::object mrkdwn(std::string_view text) { return {{"type", "mrkdwn"}, {"text", text}}; }

json::object section(std::string_view markdown) {
    return {{"type", "section"}, {"text", mrkdwn(truncate_utf8(markdown, slack_section_max))}};
}

// "<https://crm/acme|Acme>" when the account has a link, else "Acme"; escaped.
std::string linked_account(const notification& n) {
    if (is_web_url(n.account_url)) return "<" + n.account_url + "|" + slack_escape(n.account_name) + ">";
    return slack_escape(n.account_name);
}

std::string owner_text(const notification& n, std::string_view mention) {
    if (!mention.empty()) return std::string(mention);
    if (!n.csm.empty() && !n.csm_email.empty() && n.csm != n.csm_email)
        return slack_escape(n.csm) + " (" + slack_escape(n.csm_email) + ")";
    if (!n.csm.empty()) return slack_escape(n.csm);
    if (!n.csm_email.empty()) return slack_escape(n.csm_email);
    return "_no owner_";
}

// The short form posted in the alert's thread.
std::string thread_markdown(const notification& n, std::string_view mention) {
    std::string out;
    switch (n.kind) {
        case notice_kind::firing:
        case notice_kind::repeat:
            out = "*" + slack_escape(n.kind == notice_kind::repeat ? "Still firing" : "Firing") + "* since " +
                  when(n.firing_since);
            if (!n.message.empty()) out += ": " + slack_escape(n.message);
            if (!mention.empty()) out += " " + std::string(mention);
            break;
        case notice_kind::resolved:
            out = "*Recovered*: " + slack_escape(n.title) + ", " + linked_account(n);
            break;
        case notice_kind::acknowledged:
            out = "*Acknowledged by " + slack_escape(n.ack_by.empty() ? "someone" : n.ack_by) + "*";
            if (!n.ack_comment.empty()) out += ": " + slack_escape(n.ack_comment);
            break;
        case notice_kind::snoozed:
            out = "*Snoozed by " + slack_escape(n.ack_by.empty() ? "someone" : n.ack_by) + "* until " +
                  when(n.snoozed_until.value_or(n.at));
            if (!n.ack_comment.empty()) out += ": " + slack_escape(n.ack_comment);
            break;
        case notice_kind::silence_began:
            out = "*Silenced by " + slack_escape(n.ack_by.empty() ? "someone" : n.ack_by) + "* until " +
                  when(n.snoozed_until.value_or(n.at));
            if (!n.ack_comment.empty()) out += ": " + slack_escape(n.ack_comment);
            break;
        case notice_kind::silence_ended:
            out = "*Silence ended*: still firing since " + when(n.firing_since);
            break;
        case notice_kind::resolved_silently:
            out = "*Resolved* without a notice: " + slack_escape(n.title) + ", " + linked_account(n);
            break;
    }
    return out;
}

}  // namespace

std::string severity_tag(std::string_view severity) { return "[" + upper(severity) + "]"; }

std::string headline(const notification& n) {
    switch (n.kind) {
        case notice_kind::firing: return n.title;
        case notice_kind::repeat: return "Still firing: " + n.title;
        case notice_kind::resolved: return "Recovered: " + n.title;
        case notice_kind::acknowledged: return "Acknowledged: " + n.title;
        case notice_kind::snoozed: return "Snoozed: " + n.title;
        case notice_kind::silence_began: return "Silenced: " + n.title;
        case notice_kind::silence_ended: return n.title;
        case notice_kind::resolved_silently: return "Resolved: " + n.title;
    }
    return n.title;
}

std::string summary(const notification& n) {
    switch (n.kind) {
        case notice_kind::resolved: return "Recovered: " + n.title + ", " + n.account_name;
        case notice_kind::acknowledged: {
            std::string out = "Acknowledged by " + (n.ack_by.empty() ? std::string("someone") : n.ack_by);
            if (!n.ack_comment.empty()) out += ": " + n.ack_comment;
            return out + " (" + n.title + ", " + n.account_name + ")";
        }
        case notice_kind::snoozed: {
            std::string out = "Snoozed by " + (n.ack_by.empty() ? std::string("someone") : n.ack_by) + " until " +
                              when(n.snoozed_until.value_or(n.at));
            if (!n.ack_comment.empty()) out += ": " + n.ack_comment;
            return out + " (" + n.title + ", " + n.account_name + ")";
        }
        case notice_kind::silence_began: {
            std::string out = "Silenced by " + (n.ack_by.empty() ? std::string("someone") : n.ack_by) + " until " +
                              when(n.snoozed_until.value_or(n.at));
            if (!n.ack_comment.empty()) out += ": " + n.ack_comment;
            return out + " (" + n.title + ", " + n.account_name + ")";
        }
        case notice_kind::silence_ended: return "Silence ended, still firing: " + n.title + ", " + n.account_name;
        case notice_kind::resolved_silently: return "Resolved without a notice: " + n.title + ", " + n.account_name;
        default: return severity_tag(n.severity) + " " + n.account_name + ": " + headline(n);
    }
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return std::string(text);
    static constexpr std::string_view ellipsis = "\xE2\x80\xA6";  // U+2026
    if (max_bytes < ellipsis.size()) return {};
    std::size_t end = max_bytes - ellipsis.size();
    // Back up over continuation bytes (10xxxxxx) to the start of a character.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return std::string(text.substr(0, end)) + std::string(ellipsis);
}

std::string slack_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            default: out.push_back(c);
        }
    }
    return out;
}

namespace {

json::object action_button(std::string_view text, std::string_view action_id, std::string_view alert_id,
                           bool primary) {
    json::object b{{"type", "button"}, {"text", plain_text(text)}, {"action_id", action_id}, {"value", alert_id}};
    if (primary) b["style"] = "primary";
    return b;
}

// The card: header, fields, the state or message, the buttons, the rule and alert id.
void card_blocks(const notification& n, std::string_view owner_mention, bool interactive, json::array& blocks) {
    blocks.push_back({{"type", "header"},
                      {"text", plain_text(truncate_utf8(std::string(severity_emoji(n)) + " " + headline(n),
                                                        slack_header_max))}});
    json::array fields;
    auto field = [&](std::string_view name, const std::string& value) {
        fields.push_back(mrkdwn(truncate_utf8("*" + std::string(name) + "*\n" + value, slack_field_max)));
    };
    field("Severity", slack_escape(capitalised(n.severity)));
    field("Account", linked_account(n));
    field("Owner", owner_text(n, owner_mention));
    if ((n.kind == notice_kind::resolved || n.kind == notice_kind::resolved_silently) && n.resolved_at)
        field("Recovered at", when(*n.resolved_at));
    else
        field("Firing since", when(n.firing_since));
    blocks.push_back({{"type", "section"}, {"fields", std::move(fields)}});

    if (n.kind == notice_kind::acknowledged || n.kind == notice_kind::snoozed || n.kind == notice_kind::silence_began)
        blocks.push_back(section(thread_markdown(n, {})));
    else if (!n.message.empty())
        blocks.push_back(section(slack_escape(n.message)));

    json::array elements;
    if (is_web_url(n.account_url))
        elements.push_back(json::object{{"type", "button"},
                                        {"text", plain_text("Open account")},
                                        {"url", n.account_url},
                                        {"action_id", "open_account"}});
    // What a CSM can still do: a firing card can be acked or snoozed, a snoozed or
    // silenced one acked (a snooze under a silence would change nothing anyone sees); an
    // acked or recovered card has nothing left to click.
    if (interactive && (n.kind == notice_kind::firing || n.kind == notice_kind::repeat ||
                        n.kind == notice_kind::snoozed || n.kind == notice_kind::silence_ended ||
                        n.kind == notice_kind::silence_began)) {
        elements.push_back(action_button("Acknowledge", slack_action_ack, n.alert_id, true));
        if (n.kind != notice_kind::snoozed && n.kind != notice_kind::silence_began) {
            elements.push_back(action_button("Snooze 1d", slack_action_snooze_1d, n.alert_id, false));
            elements.push_back(action_button("Snooze 7d", slack_action_snooze_7d, n.alert_id, false));
        }
    }
    if (!elements.empty())
        blocks.push_back({{"type", "actions"}, {"block_id", "redflag_actions"}, {"elements", std::move(elements)}});
    blocks.push_back({{"type", "context"},
                      {"elements", json::array{mrkdwn("Rule `" + slack_escape(n.rule) + "` \xC2\xB7 alert `" +
                                                      slack_escape(n.alert_id) + "`")}}});
}

}  // namespace

slack_message render_slack(const notification& n, std::string_view owner_mention, bool in_thread, bool interactive) {
    slack_message m;
    // The fallback is what Slack shows in notifications: a mention must be in it to ping.
    m.text = summary(n);
    if (!n.message.empty() && (n.kind == notice_kind::firing || n.kind == notice_kind::repeat))
        m.text += " \xE2\x80\x94 " + n.message;  // em dash
    m.text = slack_escape(truncate_utf8(m.text, slack_section_max));
    bool mention_here = !owner_mention.empty() && (n.kind == notice_kind::firing || n.kind == notice_kind::repeat);
    if (mention_here) m.text += " " + std::string(owner_mention);

    if (in_thread) {
        m.blocks.push_back(section(thread_markdown(n, mention_here ? owner_mention : std::string_view{})));
        return m;
    }
    card_blocks(n, owner_mention, interactive, m.blocks);
    return m;
}

slack_message render_slack_card(const notification& n) {
    slack_message m;
    m.text = slack_escape(truncate_utf8(summary(n), slack_section_max));
    card_blocks(n, {}, true, m.blocks);
    return m;
}

namespace {

std::string_view member_emoji(const group_member& m) {
    if (m.is == group_member::state::acknowledged) return ":eyes:";
    if (m.is == group_member::state::snoozed) return ":zzz:";
    if (m.is == group_member::state::silenced) return ":no_bell:";
    if (m.severity == "critical") return ":rotating_light:";
    if (m.severity == "high") return ":red_circle:";
    if (m.severity == "medium") return ":large_orange_circle:";
    return ":large_yellow_circle:";
}

// The header's emoji: the worst severity still firing, else the state of the rest.
std::string_view group_emoji(const group_card& g) {
    if (g.members.empty()) return ":white_check_mark:";
    static constexpr std::string_view order[] = {"critical", "high", "medium", "low"};
    for (auto severity : order)
        for (const auto& m : g.members)
            if (m.is == group_member::state::firing && m.severity == severity) return member_emoji(m);
    for (const auto& m : g.members)
        if (m.is == group_member::state::firing) return member_emoji(m);
    return member_emoji(g.members.front());
}

std::string group_title(const group_card& g) {
    std::string name = g.account_name.empty() ? g.account : g.account_name;
    if (g.members.empty()) return name + ": all red flags recovered";
    std::size_t n = g.members.size();
    return name + ": " + std::to_string(n) + (n == 1 ? " red flag" : " red flags");
}

std::string member_markdown(const group_member& m) {
    std::string out = std::string(member_emoji(m)) + " *" + slack_escape(severity_tag(m.severity) + " " + m.title) + "*";
    switch (m.is) {
        case group_member::state::firing:
            out += " firing since " + when(m.firing_since);
            if (!m.message.empty()) out += "\n" + slack_escape(m.message);
            break;
        case group_member::state::acknowledged:
            out += "\nAcknowledged by " + slack_escape(m.by.empty() ? "someone" : m.by);
            break;
        case group_member::state::snoozed:
            out += "\nSnoozed by " + slack_escape(m.by.empty() ? "someone" : m.by);
            if (m.until) out += " until " + when(*m.until);
            break;
        case group_member::state::silenced:
            out += "\nSilenced by " + slack_escape(m.by.empty() ? "someone" : m.by);
            if (m.until) out += " until " + when(*m.until);
            break;
    }
    return out;
}

}  // namespace

slack_message render_slack_group(const group_card& g) {
    slack_message m;
    m.text = slack_escape(truncate_utf8(group_title(g), slack_section_max));
    m.blocks.push_back({{"type", "header"},
                        {"text", plain_text(truncate_utf8(std::string(group_emoji(g)) + " " + group_title(g),
                                                          slack_header_max))}});
    std::string name = g.account_name.empty() ? g.account : g.account_name;
    std::string account = is_web_url(g.account_url) ? "<" + g.account_url + "|" + slack_escape(name) + ">"
                                                    : slack_escape(name);
    std::string owner = !g.csm.empty() && !g.csm_email.empty() && g.csm != g.csm_email
                            ? slack_escape(g.csm) + " (" + slack_escape(g.csm_email) + ")"
                        : !g.csm.empty()       ? slack_escape(g.csm)
                        : !g.csm_email.empty() ? slack_escape(g.csm_email)
                                               : std::string("_no owner_");
    m.blocks.push_back({{"type", "section"},
                        {"fields", json::array{mrkdwn(truncate_utf8("*Account*\n" + account, slack_field_max)),
                                               mrkdwn(truncate_utf8("*Owner*\n" + owner, slack_field_max))}}});

    std::size_t shown = std::min(g.members.size(), slack_group_max_flags);
    for (std::size_t i = 0; i < shown; ++i) {
        const auto& member = g.members[i];
        m.blocks.push_back(section(member_markdown(member)));
        // As on a single card: a firing flag can be acked or snoozed, a snoozed one acked.
        if (member.is == group_member::state::acknowledged) continue;
        json::array elements;
        elements.push_back(action_button("Acknowledge", slack_action_ack, member.alert_id, true));
        if (member.is == group_member::state::firing) {
            elements.push_back(action_button("Snooze 1d", slack_action_snooze_1d, member.alert_id, false));
            elements.push_back(action_button("Snooze 7d", slack_action_snooze_7d, member.alert_id, false));
        }
        m.blocks.push_back({{"type", "actions"},
                            {"block_id", "redflag_actions_" + std::to_string(i)},
                            {"elements", std::move(elements)}});
    }
    if (shown < g.members.size()) {
        std::string rest = "…and " + std::to_string(g.members.size() - shown) + " more:";
        for (std::size_t i = shown; i < g.members.size(); ++i)
            rest += "\n" + slack_escape(severity_tag(g.members[i].severity) + " " + g.members[i].title);
        m.blocks.push_back(section(rest));
    }
    std::string context = g.members.empty() ? "No red flag left for this account"
                                             : "Grouped by account \xC2\xB7 " + std::to_string(g.members.size()) +
                                                   (g.members.size() == 1 ? " alert" : " alerts");
    m.blocks.push_back({{"type", "context"}, {"elements", json::array{mrkdwn(context)}}});
    return m;
}

slack_message render_slack_group_reply(const notification& n, std::string_view owner_mention) {
    slack_message m;
    m.text = slack_escape(truncate_utf8(summary(n), slack_section_max));
    std::string text = m.text;
    if (!owner_mention.empty() && (n.kind == notice_kind::firing || n.kind == notice_kind::repeat)) {
        m.text += " " + std::string(owner_mention);
        text += " " + std::string(owner_mention);
    }
    m.blocks.push_back(section(text));
    return m;
}

std::string slack_update_body(std::string_view channel_id, std::string_view ts, const slack_message& m) {
    json::object body{{"channel", channel_id}, {"ts", ts}, {"text", m.text}, {"blocks", m.blocks}};
    return json::serialize(body);
}

std::string slack_post_body(std::string_view channel, const slack_message& m, std::string_view thread_ts) {
    json::object body;
    if (!channel.empty()) body["channel"] = channel;
    body["text"] = m.text;
    body["blocks"] = m.blocks;
    if (!thread_ts.empty()) body["thread_ts"] = thread_ts;
    body["unfurl_links"] = false;  // the account link would otherwise add a preview card
    return json::serialize(body);
}

json::object render_redflag_json(const notification& n) {
    json::object labels;
    for (const auto& [name, value] : n.labels) labels[name] = value;
    return {{"id", n.alert_id},
            {"rule", n.rule},
            {"account", n.account},
            {"account_name", n.account_name},
            {"csm_email", n.csm_email},
            {"state", name_of(n.kind)},
            {"severity", n.severity},
            {"title", n.title},
            {"message", n.message},
            {"labels", std::move(labels)},
            {"at", format_rfc3339(n.at)},
            {"idempotency_key", n.key}};
}

namespace {

// Alertmanager's label names match [a-zA-Z_][a-zA-Z0-9_]*.
std::string label_name(std::string_view name) {
    std::string out;
    for (char c : name) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_');
    if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out.insert(out.begin(), '_');
    return out;
}

}  // namespace

json::array render_alertmanager_json(const notification& n, timestamp now, duration hold) {
    json::object labels;
    for (const auto& [name, value] : n.labels) labels[label_name(name)] = value;
    labels["alertname"] = n.rule;
    labels["account"] = n.account;
    labels["severity"] = n.severity;

    json::object annotations{{"title", n.title},
                             {"summary", summary(n)},
                             {"account_name", n.account_name},
                             {"alert_id", n.alert_id},
                             {"idempotency_key", n.key}};
    if (!n.message.empty()) annotations["description"] = n.message;
    if (!n.csm.empty()) annotations["csm"] = n.csm;
    if (!n.csm_email.empty()) annotations["csm_email"] = n.csm_email;
    if (!n.account_url.empty()) annotations["account_url"] = n.account_url;

    timestamp ends = n.kind == notice_kind::resolved ? n.resolved_at.value_or(n.at) : std::max(now, n.at) + hold;
    // Alertmanager rejects an alert whose end is before its start.
    ends = std::max(ends, n.firing_since);
    json::object alert{{"labels", std::move(labels)},
                       {"annotations", std::move(annotations)},
                       {"startsAt", format_rfc3339(n.firing_since)},
                       {"endsAt", format_rfc3339(ends)}};
    if (is_web_url(n.account_url)) alert["generatorURL"] = n.account_url;
    return json::array{std::move(alert)};
}

json::array render_alertmanager_json(std::span<const notification> alerts, timestamp now, duration hold) {
    json::array out;
    out.reserve(alerts.size());
    for (const auto& n : alerts) out.push_back(std::move(render_alertmanager_json(n, now, hold)[0]));
    return out;
}

}  // namespace redflag::delivery::channels
