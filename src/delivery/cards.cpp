#include "delivery/cards.hpp"

#include "delivery/group.hpp"

#include <spdlog/spdlog.h>

#include <map>

namespace redflag::delivery {

store::result<std::vector<posted_card>> posted_cards(const store::store& store, std::string_view alert_id) {
    // Per channel: the latest firing or repeat record sent, unless a recovery followed
    // (keys come in the order of the alert's transitions).
    std::map<std::string, std::optional<notification>> shown;
    auto st = store.for_each_prefix(store::column::outbox, alert_prefix(alert_id),
                                    [&](std::string_view key, std::string_view value) {
                                        auto head = peek_record(value);
                                        if (head && head->kind != notice_kind::firing &&
                                            head->kind != notice_kind::repeat && head->kind != notice_kind::resolved &&
                                            head->kind != notice_kind::resolved_silently)
                                            return true;
                                        std::string why;
                                        auto e = parse_entry(key, value, &why);
                                        if (!e) {
                                            spdlog::warn("alert {}: skipping an unreadable outbox record: {}",
                                                         alert_id, why);
                                            return true;
                                        }
                                        auto& slot = shown[e->n.channel];
                                        if (e->n.kind == notice_kind::resolved ||
                                            e->n.kind == notice_kind::resolved_silently) {
                                            if (e->outcome == delivery_outcome::sent) slot.reset();
                                        } else if (e->outcome == delivery_outcome::sent) {
                                            slot = std::move(e->n);
                                        }
                                        return true;
                                    });
    if (!st.ok()) return st;
    std::vector<posted_card> cards;
    for (auto& [channel, n] : shown) {
        if (!n) continue;
        auto thread = store.get(store::column::meta, thread_key(channel, alert_id));
        if (!thread.ok()) return thread.error();
        if (thread.value() && !thread.value()->empty()) {
            cards.push_back({channel, std::move(*n), false});
            continue;
        }
        auto stored = store.get(store::column::meta, group_key(channel, n->account));
        if (!stored.ok()) return stored.error();
        if (!stored.value()) continue;
        auto group = parse_group(*stored.value());
        if (group && !group->thread.empty() && group->find(alert_id)) cards.push_back({channel, std::move(*n), true});
    }
    return cards;
}

outbox_entry card_rewrite(const posted_card& card, notice_kind kind, std::string key, timestamp at,
                          timestamp created_at) {
    notification n = card.shown;
    n.kind = kind;
    n.key = std::move(key);
    n.channel = card.channel;
    n.at = at;
    n.created_at = created_at;
    n.ack_by.clear();
    n.ack_comment.clear();
    n.snoozed_until.reset();
    n.resolved_at.reset();
    return make_entry(std::move(n));
}

}  // namespace redflag::delivery
