#include "delivery/group.hpp"

#include "delivery/outbox.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace redflag::delivery {

namespace json = boost::json;

namespace {

constexpr std::string_view state_names[] = {"firing", "acknowledged", "snoozed", "silenced"};

std::string string_of(const json::object& o, std::string_view name) {
    if (auto* v = o.if_contains(name); v && v->is_string()) return std::string(v->as_string());
    return {};
}

std::optional<std::int64_t> int_of(const json::object& o, std::string_view name) {
    if (auto* v = o.if_contains(name); v && v->is_int64()) return v->as_int64();
    return std::nullopt;
}

}  // namespace

const group_member* group_card::find(std::string_view alert_id) const {
    for (const auto& m : members)
        if (m.alert_id == alert_id) return &m;
    return nullptr;
}

bool belongs(const group_card& g, const notification& n) {
    return n.kind == notice_kind::firing || n.kind == notice_kind::repeat || g.find(n.alert_id) != nullptr;
}

bool remove_member(group_card& g, std::string_view alert_id) {
    auto it = std::find_if(g.members.begin(), g.members.end(), [&](const auto& m) { return m.alert_id == alert_id; });
    if (it == g.members.end()) return false;
    g.members.erase(it);
    return true;
}

void apply(group_card& g, const notification& n) {
    if (n.kind == notice_kind::resolved || n.kind == notice_kind::resolved_silently) {
        remove_member(g, n.alert_id);
        return;
    }
    auto it = std::find_if(g.members.begin(), g.members.end(), [&](const auto& m) { return m.alert_id == n.alert_id; });
    if (n.kind == notice_kind::firing || n.kind == notice_kind::repeat) {
        // The profile as the newest notification saw it (a renamed account, a new CSM).
        g.account = n.account;
        g.account_name = n.account_name;
        g.account_url = n.account_url;
        g.csm = n.csm;
        g.csm_email = n.csm_email;
        if (it == g.members.end()) it = g.members.insert(g.members.end(), group_member{});
        it->alert_id = n.alert_id;
        it->rule = n.rule;
        it->severity = n.severity;
        it->title = n.title;
        it->message = n.message;
        it->firing_since = n.firing_since;
        // A repeat goes out only while unacknowledged; a snoozed alert's repeat (or its
        // wake) means the snooze is over.
        it->is = group_member::state::firing;
        it->by.clear();
        it->until.reset();
        return;
    }
    if (it == g.members.end()) return;
    if (n.kind == notice_kind::silence_ended) {
        // Only a flag the silence changed reads firing again (not one acked meanwhile).
        if (it->is != group_member::state::silenced) return;
        it->is = group_member::state::firing;
        it->by.clear();
        it->until.reset();
        return;
    }
    // An acknowledged flag stays so under a silence: someone already owns it.
    if (n.kind == notice_kind::silence_began && it->is == group_member::state::acknowledged) return;
    it->is = n.kind == notice_kind::acknowledged ? group_member::state::acknowledged
             : n.kind == notice_kind::snoozed    ? group_member::state::snoozed
                                                 : group_member::state::silenced;
    it->by = n.ack_by;
    if (n.kind == notice_kind::snoozed || n.kind == notice_kind::silence_began) it->until = n.snoozed_until;
    else it->until.reset();
}

std::string group_key(std::string_view channel, std::string_view account) {
    return channel_meta_key("slack_group", channel, account);
}

std::string serialize_group(const group_card& g) {
    json::array members;
    for (const auto& m : g.members) {
        json::object o{{"alert_id", m.alert_id},
                       {"rule", m.rule},
                       {"severity", m.severity},
                       {"title", m.title},
                       {"message", m.message},
                       {"firing_since", to_millis(m.firing_since)},
                       {"state", state_names[static_cast<std::size_t>(m.is)]}};
        if (!m.by.empty()) o["by"] = m.by;
        if (m.until) o["until"] = to_millis(*m.until);
        members.push_back(std::move(o));
    }
    json::object o{{"v", 1},
                   {"thread", g.thread},
                   {"account", g.account},
                   {"account_name", g.account_name},
                   {"account_url", g.account_url},
                   {"csm", g.csm},
                   {"csm_email", g.csm_email},
                   {"members", std::move(members)}};
    return json::serialize(o);
}

std::optional<group_card> parse_group(std::string_view value, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<group_card> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    boost::system::error_code ec;
    json::value v = json::parse(value, ec);
    if (ec) return fail("not JSON: " + ec.message());
    if (!v.is_object()) return fail("not an object");
    const auto& o = v.as_object();
    if (int_of(o, "v") != 1) return fail("unknown version");
    group_card g;
    g.thread = string_of(o, "thread");
    g.account = string_of(o, "account");
    g.account_name = string_of(o, "account_name");
    g.account_url = string_of(o, "account_url");
    g.csm = string_of(o, "csm");
    g.csm_email = string_of(o, "csm_email");
    const auto* members = o.if_contains("members");
    if (!members || !members->is_array()) return fail("members: missing or not an array");
    for (const auto& item : members->as_array()) {
        if (!item.is_object()) return fail("members: an element is not an object");
        const auto& mo = item.as_object();
        group_member m;
        m.alert_id = string_of(mo, "alert_id");
        if (m.alert_id.empty()) return fail("members: an element has no alert_id");
        m.rule = string_of(mo, "rule");
        m.severity = string_of(mo, "severity");
        m.title = string_of(mo, "title");
        m.message = string_of(mo, "message");
        m.firing_since = from_millis(int_of(mo, "firing_since").value_or(0));
        std::string state = string_of(mo, "state");
        auto named = std::find(std::begin(state_names), std::end(state_names), state);
        if (named == std::end(state_names)) return fail("members: unknown state \"" + state + "\"");
        m.is = static_cast<group_member::state>(named - std::begin(state_names));
        m.by = string_of(mo, "by");
        if (auto until = int_of(mo, "until")) m.until = from_millis(*until);
        g.members.push_back(std::move(m));
    }
    return g;
}

}  // namespace redflag::delivery
