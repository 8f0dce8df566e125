"""Slack interactivity end to end: the real service on a free port, the Slack Web API
stand-in (slack_standin.py) on loopback, and Slack's interaction requests signed the way
Slack signs them (v0 HMAC-SHA256 of "v0:{timestamp}:{body}" under the signing secret).

What it proves (issue 13): every bot-token card carries Acknowledge / Snooze 1d / Snooze 7d
buttons; a click with a good signature acts like the API, records who (the email from
users.info, else slack:<user id>) and rewrites the card with chat.update; a wrong or
missing signature and a 6-minute-old timestamp are 401 and change nothing; Slack's retry
of a click acts once, also after a kill -9 and restart; a recovery turns the card green;
POST /v1/alerts/{id}/snooze holds repeats for its duration and they resume after it."""
import datetime
import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, wait_for, now_text, slack_signature  # noqa: E402
from slack_standin import SlackStandIn, service_config, urgent_rule  # noqa: E402

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AUTH = {"Authorization": "Bearer writer"}


class SlackInteractions(unittest.TestCase):
    def start(self, repeat="2s"):
        self.slack = SlackStandIn(token="xoxb-test", users={"jane@example.com": "U0JANE"}).start()
        self.addCleanup(self.slack.stop)
        # The management API is guarded: Slack's requests carry no bearer token, only its signature.
        self.svc = Service(service_config(self.slack.api_url, "signing_secret: " + SECRET),
                           rules={"urgent.rules": urgent_rule("repeat   %s" % repeat)})
        self.addCleanup(self.svc.cleanup)

    def open_ticket(self):
        status, body = self.svc.post_events([
            {"type": "account", "account": "acme", "name": "Acme Corp", "csm": "Dana",
             "csm_email": "dana@vendor.example", "at": now_text(-60)},
            {"type": "ticket", "account": "acme", "ticket_id": "t-1", "status": "open", "priority": "urgent",
             "at": now_text(-1)}])
        self.assertEqual(status, 202, body)

    def alert(self, state="firing"):
        status, body = self.svc.json("GET", "/v1/alerts?state=%s&account=acme" % state, headers=AUTH)
        self.assertEqual(status, 200, body)
        return body["alerts"][0] if body["alerts"] else None

    def full(self, alert_id):
        status, body = self.svc.json("GET", "/v1/alerts/" + alert_id, headers=AUTH)
        self.assertEqual(status, 200, body)
        return body

    def card(self):
        """The first message (the card), once posted."""
        posts = wait_for(lambda: [m for m in self.slack.messages if not m.get("thread_ts")])
        self.assertTrue(posts)
        return posts[0]

    def replies(self, card):
        return self.slack.thread(card["ts"])

    def click(self, action_id, alert_id, user="U0JANE", action_ts="1700000100.000100", age=0, secret=SECRET,
              signature=None, headers=None):
        payload = {
            "type": "block_actions", "user": {"id": user, "username": "jane", "team_id": "T0STANDIN"},
            "api_app_id": "A0REDFLAG", "trigger_id": "1.2.3", "response_url": "https://hooks.slack.invalid/x",
            "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0CARD"},
            "channel": {"id": "C0CARD", "name": "cs-red-flags"}, "message": {"ts": "1700000000.000100"},
            "actions": [{"action_id": action_id, "block_id": "redflag_actions", "value": alert_id,
                         "type": "button", "action_ts": action_ts}]}
        body = "payload=" + urllib.parse.quote(json.dumps(payload), safe="")
        timestamp = str(int(time.time()) - age)
        h = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp}
        if signature is not False:
            h["X-Slack-Signature"] = signature or slack_signature(secret, timestamp, body)
        h.update(headers or {})
        return self.svc.json("POST", "/v1/slack/interactions", body, h)

    # ------------------------------------------------------------------ tests

    def test_the_card_carries_the_three_buttons(self):
        self.start()
        self.open_ticket()
        alert = wait_for(self.alert)
        card = self.card()
        actions = [b for b in card["blocks"] if b["type"] == "actions"]
        self.assertEqual(len(actions), 1, card["blocks"])
        buttons = {e["action_id"]: e for e in actions[0]["elements"]}
        self.assertEqual(set(buttons), {"redflag_ack", "redflag_snooze_1d", "redflag_snooze_7d"})
        self.assertEqual([buttons[k]["text"]["text"] for k in ("redflag_ack", "redflag_snooze_1d",
                                                                "redflag_snooze_7d")],
                         ["Acknowledge", "Snooze 1d", "Snooze 7d"])
        self.assertTrue(all(b["value"] == alert["id"] and b["type"] == "button" for b in buttons.values()))

    def test_acknowledge_acts_once_records_the_email_and_rewrites_the_card(self):
        self.start()
        self.open_ticket()
        alert = wait_for(self.alert)
        card = self.card()
        status, body = self.click("redflag_ack", alert["id"])
        self.assertEqual(status, 200, body)
        acks = self.full(alert["id"])["acks"]
        self.assertEqual([a["by"] for a in acks], ["jane@example.com"])
        self.assertIn("U0JANE", self.slack.user_infos)
        update = self.slack.wait_for_updates(1)[0]
        self.assertEqual((update["channel"], update["ts"]), (card["channel_id"], card["ts"]))
        self.assertIn("Acknowledged", update["blocks"][0]["text"]["text"])
        self.assertIn("jane@example.com", json.dumps(update["blocks"]))
        self.assertNotIn("redflag_ack", json.dumps(update["blocks"]))  # nothing left to click
        self.assertTrue(wait_for(lambda: any("Acknowledged by jane@example.com" in json.dumps(m["blocks"])
                                             for m in self.replies(card))))
        # Slack's retry of the same click: answered 200, acts no more.
        status, body = self.click("redflag_ack", alert["id"], headers={"X-Slack-Retry-Num": "1",
                                                                      "X-Slack-Retry-Reason": "http_timeout"})
        self.assertEqual(status, 200, body)
        self.assertTrue(body.get("duplicate"), body)
        time.sleep(2.5)
        self.assertEqual(len(self.full(alert["id"])["acks"]), 1)
        self.assertEqual(len(self.slack.updates), 1, self.slack.updates)
        self.assertEqual(len([m for m in self.replies(card) if "Acknowledged" in json.dumps(m["blocks"])]), 1)

    def test_snooze_buttons_hold_repeats_and_rewrite_the_card(self):
        self.start(repeat="1s")
        self.open_ticket()
        alert = wait_for(self.alert)
        card = self.card()
        self.assertTrue(wait_for(lambda: len(self.replies(card)) >= 1))  # repeats run
        # A user users.info does not know: recorded by Slack id.
        status, body = self.click("redflag_snooze_1d", alert["id"], user="U0STRANGER")
        self.assertEqual(status, 200, body)
        snoozes = self.full(alert["id"])["snoozes"]
        self.assertEqual(snoozes[0]["by"], "slack:U0STRANGER")
        until = datetime.datetime.fromisoformat(snoozes[0]["until"].replace("Z", "+00:00"))
        left = until - datetime.datetime.now(datetime.timezone.utc)
        self.assertTrue(datetime.timedelta(hours=23) < left <= datetime.timedelta(days=1), left)
        update = self.slack.wait_for_updates(1)[0]
        self.assertIn("Snoozed", update["blocks"][0]["text"]["text"])
        self.assertIn("redflag_ack", json.dumps(update["blocks"]))  # a snoozed card can still be acked
        self.assertNotIn("redflag_snooze_1d", json.dumps(update["blocks"]))
        time.sleep(1.5)
        settled = len(self.slack.messages)
        time.sleep(3)  # three repeat intervals
        self.assertEqual(len(self.slack.messages), settled, self.slack.messages[settled:])
        # Snooze 7d, a new click: a second snooze.
        status, body = self.click("redflag_snooze_7d", alert["id"], action_ts="1700000200.000200")
        self.assertEqual(status, 200, body)
        snoozes = self.full(alert["id"])["snoozes"]
        self.assertEqual(len(snoozes), 2)
        until = datetime.datetime.fromisoformat(snoozes[1]["until"].replace("Z", "+00:00"))
        self.assertGreater(until - datetime.datetime.now(datetime.timezone.utc), datetime.timedelta(days=6))

    def test_bad_signatures_and_stale_timestamps_are_401_and_change_nothing(self):
        self.start()
        self.open_ticket()
        alert = wait_for(self.alert)
        self.card()
        cases = {
            "wrong signature": dict(secret="not-the-secret"),
            "missing signature": dict(signature=False),
            "six minutes old": dict(age=360),
        }
        for name, how in cases.items():
            status, body = self.click("redflag_ack", alert["id"], **how)
            self.assertEqual(status, 401, (name, body))
            self.assertIn("X-Slack-", body["error"], (name, body))
        # A body changed after signing.
        timestamp = str(int(time.time()))
        good = "payload=%7B%7D"
        status, body = self.svc.json("POST", "/v1/slack/interactions", good + "x", {
            "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": slack_signature(SECRET, timestamp, good)})
        self.assertEqual(status, 401, body)
        time.sleep(1.5)
        full = self.full(alert["id"])
        self.assertEqual(full["acks"], [])
        self.assertNotIn("snoozes", full)
        self.assertEqual(self.slack.updates, [])

    def test_a_reload_picks_up_a_rotated_signing_secret(self):
        self.start()
        self.open_ticket()
        alert = wait_for(self.alert)
        self.card()
        rotated = "0e5a51c7d2b34f6a8e9d1c2b3a4f5e6d"
        self.svc.edit_config("signing_secret: %s" % SECRET, "signing_secret: %s" % rotated)
        status, body = self.svc.json("POST", "/-/reload", None, AUTH)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "ok", body)
        status, body = self.click("redflag_ack", alert["id"])  # signed with the old secret
        self.assertEqual(status, 401, body)
        self.assertEqual(self.full(alert["id"])["acks"], [])
        status, body = self.click("redflag_ack", alert["id"], secret=rotated)
        self.assertEqual(status, 200, body)
        self.assertEqual([a["by"] for a in self.full(alert["id"])["acks"]], ["jane@example.com"])

    def test_malformed_payloads_are_400_and_other_actions_ignored(self):
        self.start()
        for body in ["payload=not-json", "nothing=here", "payload=%7B%22type%22%3A1%7D"]:
            timestamp = str(int(time.time()))
            status, answer = self.svc.json("POST", "/v1/slack/interactions", body, {
                "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": slack_signature(SECRET, timestamp, body)})
            self.assertEqual(status, 400, (body, answer))
            self.assertIn("payload", answer["error"])
        status, answer = self.click("open_account", "whatever")
        self.assertEqual(status, 200, answer)
        self.assertTrue(answer.get("ignored"))
        status, answer = self.click("redflag_ack", "0" * 32)
        self.assertEqual(status, 404, answer)

    def test_a_click_survives_kill_9_and_its_retry_still_acts_once(self):
        self.start()
        self.open_ticket()
        alert = wait_for(self.alert)
        self.card()
        status, body = self.click("redflag_ack", alert["id"])
        self.assertEqual(status, 200, body)
        self.svc.kill9()
        self.svc.start()
        self.assertEqual([a["by"] for a in self.full(alert["id"])["acks"]], ["jane@example.com"])
        status, body = self.click("redflag_ack", alert["id"], headers={"X-Slack-Retry-Num": "2"})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.full(alert["id"])["acks"]), 1)
        status, body = self.click("redflag_snooze_1d", alert["id"], action_ts="1700000300.000300")
        self.assertEqual(status, 200, body)
        self.svc.kill9()
        self.svc.start()
        self.assertEqual(len(self.full(alert["id"])["snoozes"]), 1)

    def test_recovery_turns_the_card_green(self):
        self.start()
        self.open_ticket()
        alert = wait_for(self.alert)
        card = self.card()
        self.assertIn(":red_circle:", card["blocks"][0]["text"]["text"])
        self.svc.post_events([{"type": "ticket", "account": "acme", "ticket_id": "t-1", "status": "closed",
                               "priority": "urgent", "at": now_text()}])
        self.assertTrue(wait_for(lambda: self.alert("resolved")))
        # The rule's default is `resolve notify`: the recovery notice rewrites the card.
        update = self.slack.wait_for_updates(1)[0]
        header = update["blocks"][0]["text"]["text"]
        self.assertIn(":white_check_mark:", header)
        self.assertNotIn(":red_circle:", header)
        self.assertNotIn("redflag_", json.dumps(update["blocks"]))
        self.assertEqual(update["ts"], card["ts"])

    def test_api_snooze_holds_repeats_until_it_ends(self):
        self.start(repeat="1s")
        self.open_ticket()
        alert = wait_for(self.alert)
        card = self.card()
        for bad, why in [({"for": "soon", "by": "liam"}, "for"), ({"for": "7d"}, "by"),
                         ({"for": "7d", "by": "liam", "until": "x"}, "until"),
                         ({"for": "7d", "by": "liam", "wake_if": "count(tickets) + 1"}, "wake_if\": 1:1: "),
                         ({"for": "7d", "by": "liam", "wake_if": "count(tickets) > 0 or nope > 1"}, "1:23: unknown name nope"),
                         ({"for": "7d", "by": "liam", "wake_if": 7}, "wake_if")]:
            status, body = self.svc.json("POST", "/v1/alerts/%s/snooze" % alert["id"], bad, headers=AUTH)
            self.assertEqual(status, 400, (bad, body))
            self.assertIn(why, body["error"])
        status, body = self.svc.json("POST", "/v1/alerts/%s/snooze" % alert["id"],
                                     {"for": "8s", "by": "liam", "comment": "on holiday"}, headers=AUTH)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["snoozes"][0]["by"], "liam")
        update = self.slack.wait_for_updates(1)[0]
        self.assertIn("on holiday", json.dumps(update["blocks"]))
        time.sleep(1.2)
        held = len([m for m in self.replies(card) if "Still firing" in json.dumps(m["blocks"])])
        time.sleep(2)
        self.assertEqual(len([m for m in self.replies(card) if "Still firing" in json.dumps(m["blocks"])]), held)
        # After the snooze, the repeats resume.
        self.assertTrue(wait_for(lambda: len([m for m in self.replies(card)
                                              if "Still firing" in json.dumps(m["blocks"])]) > held, timeout=15))

    def test_a_snooze_wakes_once_when_its_wake_if_turns_true_also_after_kill_9(self):
        self.start(repeat="1s")
        self.open_ticket()
        alert = wait_for(self.alert)
        card = self.card()
        status, body = self.svc.json("POST", "/v1/alerts/%s/snooze" % alert["id"], {
            "for": "1h", "by": "liam", "wake_if": 'count(tickets where priority == "low") > 0'}, headers=AUTH)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["snoozes"][0]["wake_if"], 'count(tickets where priority == "low") > 0')
        self.svc.kill9()  # the snooze and its condition are in the alert's record
        self.svc.start()
        status, full = self.svc.json("GET", "/v1/alerts/" + alert["id"], headers=AUTH)
        self.assertEqual(full["snoozes"][0]["by"], "liam")
        time.sleep(1.5)
        settled = len(self.replies(card))
        time.sleep(2.5)
        self.assertEqual(len(self.replies(card)), settled, self.replies(card)[settled:])
        # The condition turns true: one notice saying why, then the repeats resume.
        status, body = self.svc.post_events([{"type": "ticket", "account": "acme", "ticket_id": "t-2",
                                              "status": "open", "priority": "low", "at": now_text()}])
        self.assertEqual(status, 202, body)
        woke = lambda: [m for m in self.replies(card) if "Woke from snooze" in json.dumps(m["blocks"])]
        self.assertTrue(wait_for(woke, timeout=20))
        self.assertIn("Woke from snooze: wake_if count(tickets where priority", json.dumps(woke()[0]["blocks"]))
        self.assertIn("turned true", json.dumps(woke()[0]["blocks"]))
        self.assertTrue(wait_for(lambda: len(self.replies(card)) > settled + 2, timeout=8))
        self.assertEqual(len(woke()), 1)
        # The card no longer says it is snoozed: the wake rewrote it as firing.
        rewritten = [u for u in self.slack.updates if u["ts"] == card["ts"]]
        self.assertTrue(rewritten, self.slack.updates)
        self.assertNotIn("Snoozed", rewritten[-1]["blocks"][0]["text"]["text"])
        self.assertIn("redflag_snooze_1d", json.dumps(rewritten[-1]["blocks"]))
        status, full = self.svc.json("GET", "/v1/alerts/" + alert["id"], headers=AUTH)
        self.assertIn("woke_at", full["snoozes"][0])


if __name__ == "__main__":
    unittest.main()
