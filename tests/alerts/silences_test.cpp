#include "alerts/silences.hpp"

#include "alerts/index.hpp"

#include "../delivery/support.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

using namespace redflag;
using namespace redflag::delivery;
using namespace redflag::alerts;
using namespace redflag::delivery::testing;
using namespace std::chrono_literals;

namespace {

std::optional<silence> from(const char* body, std::string& error) {
    error.clear();
    return silence_from_request(boost::json::parse(body), t0, error);
}

TEST(Silences, validates_a_request) {
    std::string error;
    auto s = from(R"({"rule":"usage_drop","until":"2026-11-03T00:00:00Z","reason":"migration","by":"dana"})", error);
    ASSERT_TRUE(s) << error;
    EXPECT_EQ(s->rule, "usage_drop");
    EXPECT_EQ(s->until, *parse_rfc3339("2026-11-03T00:00:00Z"));
    EXPECT_EQ(s->created_at, t0);
    EXPECT_FALSE(from(R"({"until":"2026-11-03T00:00:00Z","by":"dana"})", error));
    EXPECT_NE(error.find("rule"), std::string::npos) << error;
    EXPECT_FALSE(from(R"({"account":"acme","by":"dana"})", error));
    EXPECT_NE(error.find("until"), std::string::npos) << error;
    EXPECT_FALSE(from(R"({"account":"acme","until":"tomorrow","by":"dana"})", error));
    EXPECT_NE(error.find("RFC 3339"), std::string::npos) << error;
    EXPECT_FALSE(from(R"({"account":"acme","until":"2026-11-01T00:00:00Z","by":"dana"})", error));
    EXPECT_NE(error.find("future"), std::string::npos) << error;
    EXPECT_FALSE(from(R"({"account":"acme","until":"2026-11-03T00:00:00Z"})", error));
    EXPECT_NE(error.find("by"), std::string::npos) << error;
    EXPECT_FALSE(from(R"({"account":"acme","until":"2026-11-03T00:00:00Z","by":"dana","matchers":"csm=x"})", error));
    EXPECT_NE(error.find("matchers"), std::string::npos) << error;
    EXPECT_FALSE(from(R"({"account":"acme","until":"2026-11-03T00:00:00Z","by":"dana","matcher":[]})", error));
    EXPECT_NE(error.find("unknown body field \"matcher\""), std::string::npos) << error;
    EXPECT_FALSE(from(R"({"account":7,"until":"2026-11-03T00:00:00Z","by":"dana"})", error));
}

TEST(Silences, match_on_every_field_they_set_while_active) {
    silence s;
    s.rule = "usage_drop";
    s.account = "acme";
    s.created_at = t0;
    s.until = t0 + 1h;
    auto n = make_notification("a1", 1, notice_kind::firing, "slack", t0, t0);
    EXPECT_TRUE(s.matches(n));
    n.account = "beta";
    EXPECT_FALSE(s.matches(n));
    s.account.clear();
    EXPECT_TRUE(s.matches(n));
    n.rule = "churned";
    EXPECT_FALSE(s.matches(n));
    EXPECT_TRUE(s.active(t0));
    EXPECT_TRUE(s.active(t0 + 59min));
    EXPECT_FALSE(s.active(t0 + 1h));
    EXPECT_FALSE(s.active(t0 - 1s));
}

TEST(Silences, matchers_parse_like_alertmanagers_and_name_the_bad_one) {
    std::string error;
    auto m = parse_matcher(R"(csm=~".*@acme.com")", error);
    ASSERT_TRUE(m) << error;
    EXPECT_EQ(m->name, "csm");
    EXPECT_EQ(m->op, match_op::regex);
    EXPECT_EQ(m->value, ".*@acme.com");
    EXPECT_EQ(m->text(), R"(csm=~".*@acme.com")");
    auto plain = parse_matcher("segment!=smb", error);
    ASSERT_TRUE(plain) << error;
    EXPECT_EQ(plain->op, match_op::not_equal);
    EXPECT_EQ(plain->text(), R"(segment!="smb")");
    auto escaped = parse_matcher(R"(team="a \"b\" \\ c")", error);
    ASSERT_TRUE(escaped) << error;
    EXPECT_EQ(escaped->value, R"(a "b" \ c)");
    EXPECT_EQ(parse_matcher(escaped->text(), error)->value, escaped->value);  // round trip

    EXPECT_FALSE(parse_matcher(R"(csm=~"(unclosed")", error));
    EXPECT_NE(error.find("invalid regular expression"), std::string::npos) << error;
    EXPECT_NE(error.find("(unclosed"), std::string::npos) << error;  // names the matcher
    EXPECT_FALSE(parse_matcher("csm~x", error));
    EXPECT_NE(error.find("expected =, !=, =~ or !~"), std::string::npos) << error;
    EXPECT_FALSE(parse_matcher(R"(=~"x")", error));
    EXPECT_FALSE(parse_matcher(R"(csm="x)", error));
    EXPECT_FALSE(parse_matcher("csm=a b", error));
    EXPECT_FALSE(parse_matcher(std::string(2000, 'a') + "=b", error));

    auto body = from(R"({"matchers":["csm=~\".*@acme.com\"","csm=~\"(\""],"until":"2026-11-03T00:00:00Z","by":"dana"})", error);
    EXPECT_FALSE(body);
    EXPECT_NE(error.find("\"matchers\"[1]"), std::string::npos) << error;
    auto ok = from(R"({"matchers":["csm=~\".*@acme.com\""],"until":"2026-11-03T00:00:00Z","by":"dana"})", error);
    ASSERT_TRUE(ok) << error;
    ASSERT_EQ(ok->matchers.size(), 1u);
}

TEST(Silences, matchers_are_anchored_and_read_csm_segment_and_labels) {
    silence s;
    s.created_at = t0;
    s.until = t0 + 1h;
    std::string error;
    s.matchers.push_back(*parse_matcher(R"(csm=~".*@acme.com")", error));
    auto n = make_notification("a1", 1, notice_kind::firing, "slack", t0, t0);
    n.csm = "Ana";
    n.csm_email = "ana@acme.com";
    EXPECT_TRUE(s.matches(n));
    n.csm_email = "ana@acme.com.evil.io";  // anchored: the whole value must match
    EXPECT_FALSE(s.matches(n));
    n.csm_email.clear();
    n.csm = "bob@acme.com";  // no csm_email: the csm field
    EXPECT_TRUE(s.matches(n));

    silence labels;
    labels.matchers = {*parse_matcher("segment=enterprise", error), *parse_matcher(R"(team!~"emea|apac")", error)};
    n.segment = "enterprise";
    n.labels = {{"team", "amer"}};
    EXPECT_TRUE(labels.matches(n));
    n.labels = {{"team", "emea"}};
    EXPECT_FALSE(labels.matches(n));
    n.labels.clear();  // a missing label is the empty string
    EXPECT_TRUE(labels.matches(n));
    n.segment = "smb";
    EXPECT_FALSE(labels.matches(n));
}

TEST(Silences, matchers_survive_a_restart) {
    temp_store db;
    std::string error;
    {
        silence_registry r(db.get());
        silence s;
        s.matchers = {*parse_matcher(R"(csm=~".*@acme.com")", error)};
        s.until = t0 + 2h;
        s.created_at = t0;
        s.by = "dana";
        ASSERT_TRUE(r.create(s).ok());
    }
    db.reopen();
    silence_registry r(db.get());
    ASSERT_TRUE(r.load().ok());
    ASSERT_EQ(r.list().size(), 1u);
    EXPECT_EQ(r.list()[0].matchers.at(0).text(), R"(csm=~".*@acme.com")");
    EXPECT_EQ(to_json(r.list()[0], t0).at("matchers").at(0), R"(csm=~".*@acme.com")");
    auto n = make_notification("a1", 1, notice_kind::firing, "slack", t0, t0);
    n.csm_email = "zoe@acme.com";
    EXPECT_TRUE(r.silenced_by(n, t0 + 1h));
    n.csm_email = "zoe@beta.io";
    EXPECT_FALSE(r.silenced_by(n, t0 + 1h));
}

TEST(Silences, are_stored_expired_and_loaded_again) {
    temp_store db;
    std::string id;
    {
        silence_registry r(db.get());
        silence s;
        s.account = "acme";
        s.until = t0 + 2h;
        s.created_at = t0;
        s.by = "dana";
        s.reason = "migration";
        auto created = r.create(s);
        ASSERT_TRUE(created.ok());
        id = created.value().id;
        EXPECT_EQ(id.size(), 32u);
        auto n = make_notification("a1", 1, notice_kind::firing, "slack", t0, t0);
        EXPECT_EQ(r.silenced_by(n, t0 + 1h), id);
        EXPECT_EQ(r.silenced_by(n, t0 + 2h), std::nullopt);
    }
    db.reopen();
    silence_registry r(db.get());
    ASSERT_TRUE(r.load().ok());
    auto all = r.list();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].id, id);
    EXPECT_EQ(all[0].reason, "migration");
    auto n = make_notification("a1", 1, notice_kind::firing, "slack", t0, t0);
    EXPECT_EQ(r.silenced_by(n, t0 + 1h), id);
    auto expired = r.expire(id, t0 + 30min);
    ASSERT_TRUE(expired.ok());
    ASSERT_TRUE(expired.value());
    EXPECT_EQ(expired.value()->until, t0 + 30min);
    EXPECT_EQ(r.silenced_by(n, t0 + 1h), std::nullopt);
    EXPECT_EQ(to_json(*expired.value(), t0 + 1h).at("state"), "expired");
    auto missing = r.expire("nope", t0);
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing.value());
    db.reopen();
    silence_registry again(db.get());
    ASSERT_TRUE(again.load().ok());
    EXPECT_EQ(again.list().at(0).until, t0 + 30min);  // the expiry was stored
}

}  // namespace

// Issue 12, item 4: an unreadable silence is skipped at load and counted (serve adds the
// count to redflag_degraded_total{what="silence"}).
TEST(Silences, an_unreadable_silence_is_skipped_and_counted) {
    temp_store db;
    store::write_batch batch(db.get());
    batch.put(store::column::silences, "s1", "{not json");
    ASSERT_TRUE(db.get().write(batch).ok());
    silence_registry r(db.get());
    ASSERT_TRUE(r.load().ok());
    EXPECT_EQ(r.unreadable(), 1u);
    EXPECT_TRUE(r.list().empty());
}

namespace {

struct recording_sink final : delivery::outbox_sink {
    void enqueue(std::vector<outbox_ref> refs) override { got.insert(got.end(), refs.begin(), refs.end()); }
    std::vector<outbox_ref> got;
};

}  // namespace

// Cards that stay true (issue 13): the rewrites of the cards a silence covers are stored
// with the silence, so a kill -9 before the dispatcher sends them loses nothing.
TEST(Silences, a_new_silence_stores_the_rewrites_of_the_cards_it_covers_with_itself) {
    temp_store db;
    // a1 (acme) has a card on "slack"; a2 (beta) too; a3 (acme) fires but has no card.
    for (auto [id, account] : {std::pair{"a1", "acme"}, std::pair{"a2", "beta"}, std::pair{"a3", "acme"}}) {
        auto e = make_entry(make_notification(id, 1, notice_kind::firing, "slack", t0, t0));
        e.n.account = account;
        e.storage_key = outbox_key(e.n);
        e.outcome = delivery_outcome::sent;
        store::write_batch batch(db.get());
        batch.put(store::column::outbox, e.storage_key, serialize(e));
        if (std::string(id) != "a3") batch.put(store::column::meta, thread_key("slack", id), "1700000000.0001 C0");
        ASSERT_TRUE(db.get().write(batch).ok());
    }
    alert_index firing;
    for (auto id : {"a1", "a2", "a3"}) {
        index_entry e;
        e.id = id;
        e.state = alert_state::firing;
        firing.put(e);
    }
    recording_sink sink;
    silence s;
    s.account = "acme";
    s.by = "dana";
    s.reason = "migration";
    s.created_at = t0 + 1min;
    s.until = t0 + 2h;
    {
        silence_registry unattached(db.get());
        ASSERT_TRUE(unattached.create(s).ok());
        EXPECT_EQ(db.history("a1").size(), 1u);  // not wired: no rewrite
    }
    silence_registry registry(db.get());
    registry.attach_cards(&firing, &sink);
    auto created = registry.create(s);
    ASSERT_TRUE(created.ok());
    ASSERT_EQ(sink.got.size(), 2u);
    auto history = db.history("a1");
    ASSERT_EQ(history.size(), 3u);
    EXPECT_EQ(history[1].n.kind, notice_kind::silence_began);
    EXPECT_EQ(history[1].outcome, delivery_outcome::pending);
    EXPECT_EQ(history[1].n.at, t0 + 1min);
    EXPECT_EQ(history[1].n.ack_by, "dana");
    EXPECT_EQ(history[1].n.ack_comment, "migration");
    EXPECT_EQ(history[1].silence, created.value().id);
    EXPECT_EQ(history[2].n.kind, notice_kind::silence_ended);
    EXPECT_EQ(history[2].next_attempt, t0 + 2h);  // due when the silence runs out
    EXPECT_EQ(history[2].n.snoozed_until, t0 + 2h);
    EXPECT_EQ(db.history("a2").size(), 1u);  // beta: not covered
    EXPECT_EQ(db.history("a3").size(), 1u);  // no card to rewrite

    // Expired early: its end is due now.
    auto expired = registry.expire(created.value().id, t0 + 30min);
    ASSERT_TRUE(expired.ok() && expired.value());
    EXPECT_EQ(registry.until_of(created.value().id), t0 + 30min);
    ASSERT_EQ(sink.got.size(), 3u);
    history = db.history("a1");
    ASSERT_EQ(history.size(), 4u);
    EXPECT_EQ(history[2].n.kind, notice_kind::silence_ended);
    EXPECT_EQ(history[2].n.at, t0 + 30min);
    EXPECT_EQ(history[2].n.snoozed_until, t0 + 30min);
    // Expiring it again changes nothing more.
    ASSERT_TRUE(registry.expire(created.value().id, t0 + 40min).ok());
    EXPECT_EQ(db.history("a1").size(), 4u);
}
