"""Cards that stay true (issue 13), the two transitions that notify nobody: the real
service on a free port and the Slack Web API stand-in (slack_standin.py) on loopback.

What it proves: a silence that starts to cover a firing alert rewrites its card with
chat.update (who, until when, the reason; no snooze buttons) and says so in the thread;
when the silence runs out or is expired the card reads firing again with its buttons;
the rewrite survives a kill -9 between the silence and the rewrite (Slack down meanwhile);
a silent resolve (`resolve silent`, a rule removed by a reload) rewrites the card to a
resolved look and posts nothing."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, wait_for, now_text  # noqa: E402
from slack_standin import SlackStandIn, service_config, urgent_rule  # noqa: E402

AUTH = {"Authorization": "Bearer writer"}


def header(update):
    return update["blocks"][0]["text"]["text"]


class SlackCards(unittest.TestCase):
    def start(self, resolve="notify"):
        self.slack = SlackStandIn(token="xoxb-test").start()
        self.addCleanup(self.slack.stop)
        self.svc = Service(service_config(self.slack.api_url), rules={"urgent.rules": urgent_rule("resolve  %s" % resolve)})
        self.addCleanup(self.svc.cleanup)

    def open_ticket(self, account="acme", name="Acme Corp"):
        status, body = self.svc.post_events([
            {"type": "account", "account": account, "name": name, "at": now_text(-60)},
            {"type": "ticket", "account": account, "ticket_id": "t-1", "status": "open", "priority": "urgent",
             "at": now_text(-1)}])
        self.assertEqual(status, 202, body)

    def alert(self, state="firing", account="acme"):
        status, body = self.svc.json("GET", "/v1/alerts?state=%s&account=%s" % (state, account), headers=AUTH)
        self.assertEqual(status, 200, body)
        return body["alerts"][0] if body["alerts"] else None

    def card(self, count=1):
        posts = wait_for(lambda: [m for m in self.slack.messages if not m.get("thread_ts")][:count]
                         if len([m for m in self.slack.messages if not m.get("thread_ts")]) >= count else None)
        self.assertTrue(posts)
        # Slack has the card a moment before the dispatcher records it as sent (with its
        # thread); a silence made in between finds no card to rewrite (README, "What
        # rewrites a card"). Wait for the record, as the tests' silences come next.
        self.assertTrue(wait_for(self.cards_recorded), "the card was never recorded as sent")
        return posts[0]

    def cards_recorded(self):
        status, body = self.svc.json("GET", "/v1/alerts?state=firing", headers=AUTH)
        self.assertEqual(status, 200, body)
        for a in body["alerts"]:
            status, full = self.svc.json("GET", "/v1/alerts/" + a["id"], headers=AUTH)
            self.assertEqual(status, 200, full)
            if any(n.get("kind") == "firing" and n.get("outcome") != "sent" for n in full["notifications"]):
                return False
        return True

    def silence(self, seconds, account="acme"):
        status, body = self.svc.json("POST", "/v1/silences", {
            "account": account, "until": now_text(seconds), "reason": "migration weekend", "by": "liam"},
            headers=AUTH)
        self.assertEqual(status, 201, body)
        return body

    def updates_of(self, card):
        return [u for u in self.slack.updates if u["ts"] == card["ts"]]

    def assert_silenced(self, update):
        self.assertIn("Silenced", header(update))
        text = json.dumps(update["blocks"])
        self.assertIn("Silenced by liam", text)
        self.assertIn("migration weekend", text)
        self.assertNotIn("redflag_snooze", text)  # nothing that pretends to act on the silence

    def assert_firing(self, update):
        self.assertNotIn("Silenced", header(update))
        self.assertIn(":red_circle:", header(update))
        self.assertIn("redflag_snooze_1d", json.dumps(update["blocks"]))  # its buttons are back

    # ------------------------------------------------------------------ tests

    def test_a_silence_rewrites_the_card_and_its_end_turns_it_firing_again(self):
        self.start()
        self.open_ticket()
        wait_for(self.alert)
        card = self.card()
        self.silence(4, account="beta")  # covers nothing that fires
        self.silence(4)
        update = self.slack.wait_for_updates(1)[0]
        self.assertEqual(update["ts"], card["ts"])
        self.assert_silenced(update)
        self.assertTrue(wait_for(lambda: any("Silenced by liam" in json.dumps(m["blocks"])
                                             for m in self.slack.thread(card["ts"]))))
        # The silence runs out while the alert still fires.
        self.assertTrue(wait_for(lambda: len(self.updates_of(card)) >= 2, timeout=15))
        self.assert_firing(self.updates_of(card)[1])
        self.assertTrue(wait_for(lambda: any("Silence ended" in json.dumps(m["blocks"])
                                             for m in self.slack.thread(card["ts"]))))
        time.sleep(1.5)
        self.assertEqual(len(self.slack.updates), 2, self.slack.updates)  # the beta silence rewrote nothing

    def test_expiring_a_silence_turns_the_card_firing_at_once(self):
        self.start()
        self.open_ticket()
        wait_for(self.alert)
        card = self.card()
        silence = self.silence(3600)
        self.assert_silenced(self.slack.wait_for_updates(1)[0])
        status, body = self.svc.json("DELETE", "/v1/silences/" + silence["id"], headers=AUTH)
        self.assertEqual(status, 200, body)
        self.assertTrue(wait_for(lambda: len(self.updates_of(card)) >= 2))
        self.assert_firing(self.updates_of(card)[1])

    def test_the_rewrite_of_a_silence_survives_kill_9(self):
        self.start()
        self.open_ticket()
        wait_for(self.alert)
        card = self.card()
        self.slack.set_down(True)  # the rewrite cannot go before the kill
        self.silence(3600)
        self.svc.kill9()
        self.slack.set_down(False)
        self.svc.start()
        update = self.slack.wait_for_updates(1, timeout=20)[0]
        self.assertEqual(update["ts"], card["ts"])
        self.assert_silenced(update)

    def test_a_silent_resolve_rewrites_the_card_and_posts_nothing(self):
        self.start(resolve="silent")
        self.open_ticket()
        alert = wait_for(self.alert)
        card = self.card()
        self.assertIn(":red_circle:", card["blocks"][0]["text"]["text"])
        posted = len(self.slack.messages)
        self.svc.post_events([{"type": "ticket", "account": "acme", "ticket_id": "t-1", "status": "closed",
                               "priority": "urgent", "at": now_text()}])
        self.assertTrue(wait_for(lambda: self.alert("resolved")))
        update = self.slack.wait_for_updates(1)[0]
        self.assertEqual(update["ts"], card["ts"])
        self.assertIn(":white_check_mark:", header(update))
        self.assertNotIn(":red_circle:", header(update))
        self.assertNotIn("redflag_", json.dumps(update["blocks"]))
        time.sleep(1.5)
        self.assertEqual(len(self.slack.messages), posted, self.slack.messages[posted:])  # no notice, no reply
        status, full = self.svc.json("GET", "/v1/alerts/" + alert["id"], headers=AUTH)
        self.assertEqual(status, 200, full)

    def test_a_rule_removed_by_a_reload_resolves_its_card(self):
        self.start()
        self.open_ticket()
        wait_for(self.alert)
        card = self.card()
        posted = len(self.slack.messages)
        with open(os.path.join(self.svc.rules_dir, "urgent.rules"), "w") as f:
            f.write(urgent_rule("resolve  notify").replace("urgent_ticket", "urgent_ticket_v2").replace(
                'priority == "urgent"', 'priority == "blocker"'))
        status, body = self.svc.json("POST", "/-/reload", None, AUTH)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "ok", body)
        update = self.slack.wait_for_updates(1)[0]
        self.assertEqual(update["ts"], card["ts"])
        self.assertIn(":white_check_mark:", header(update))
        self.assertNotIn("redflag_", json.dumps(update["blocks"]))
        time.sleep(1.5)
        self.assertEqual(len(self.slack.messages), posted, self.slack.messages[posted:])


if __name__ == "__main__":
    unittest.main()
