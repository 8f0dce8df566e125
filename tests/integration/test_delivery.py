"""Alert delivery end to end, with real peers on loopback: Debian's aiosmtpd as the SMTP
server, Debian's prometheus-alertmanager receiving the `format: alertmanager` webhook, and
the Slack Web API stand-in (slack_standin.py). What they prove (../shared/spec/alerts.md):
first fire, repeats until an ack, the ack and the recovery in the alert's Slack thread,
Slack's 429 honoured with exactly one message delivered, a silence holding back
notifications while the alert still fires, and a notification that waited while Slack
was down delivered after a kill -9 and a restart. Every notification and its outcome is
in the alert's history (GET /v1/alerts/{id})."""
import datetime
import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, free_port, metric_value, now_text  # noqa: E402

URGENT = """rule urgent_ticket {
  title    "Urgent ticket open"
  when     count(tickets where priority == "urgent") > 0
  severity high
  message  "{account.name}: an urgent ticket is open"
  notify   %s
  labels   { team = "support" }
%s}
"""


def wait_for(predicate, timeout=15, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class Peers(unittest.TestCase):
    """Helpers shared by the test classes: the account, its ticket, alerts and history."""

    svc = None

    def open_ticket(self, account="acme", ticket="t-1"):
        events = [
            {"type": "account", "account": account, "name": account.title() + " Corp", "csm": "Dana",
             "csm_email": "dana@vendor.example", "at": now_text(-60)},
            {"type": "ticket", "account": account, "ticket_id": ticket, "status": "open", "priority": "urgent",
             "at": now_text(-1)},
        ]
        status, body = self.svc.post_events(events)
        self.assertEqual(status, 202, body)

    def close_ticket(self, account="acme", ticket="t-1"):
        status, body = self.svc.post_events([{"type": "ticket", "account": account, "ticket_id": ticket,
                                              "status": "closed", "priority": "urgent", "at": now_text()}])
        self.assertEqual(status, 202, body)

    def alert(self, state="firing", account="acme"):
        status, body = self.svc.json("GET", "/v1/alerts?state=%s&account=%s" % (state, account))
        self.assertEqual(status, 200, body)
        return body["alerts"][0] if body["alerts"] else None

    def history(self, alert_id):
        status, body = self.svc.json("GET", "/v1/alerts/" + alert_id)
        self.assertEqual(status, 200, body)
        return body["notifications"]

    def settled(self, alert_id, count):
        """The alert's history once it has `count` notifications, none of them pending."""
        def done():
            h = self.history(alert_id)
            return len(h) >= count and all(n["outcome"] not in ("pending", "retry") for n in h) and h
        return wait_for(done)


# ---------------------------------------------------------------------------- SMTP, Alertmanager

class SmtpSink:
    """aiosmtpd on loopback, keeping every message it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.messages = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink.lock:
                    sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def parsed(self):
        with self.lock:
            return [(rcpt, email.message_from_bytes(content, policy=email.policy.default))
                    for _, rcpt, content in self.messages]

    def stop(self):
        self.controller.stop()


class Alertmanager:
    """Debian's prometheus-alertmanager on a free port with its own config and storage."""

    BINARY = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="redflag-am-")
        config = os.path.join(self.folder, "alertmanager.yml")
        with open(config, "w") as f:
            f.write("route:\n  receiver: nobody\n  group_wait: 1s\nreceivers:\n  - name: nobody\n")
        self.port = free_port()
        self.log = open(os.path.join(self.folder, "alertmanager.log"), "wb")
        self.process = subprocess.Popen(
            [self.BINARY, "--config.file=" + config, "--storage.path=" + os.path.join(self.folder, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_for(self.ready, timeout=30):
            self.stop()
            raise RuntimeError("alertmanager did not start")

    def ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def alerts(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v2/alerts" % self.port, timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@unittest.skipUnless(os.path.exists(Alertmanager.BINARY), "prometheus-alertmanager is not installed")
class EmailAndAlertmanager(Peers):
    def setUp(self):
        self.smtp = SmtpSink()
        self.addCleanup(self.smtp.stop)
        self.am = Alertmanager()
        self.addCleanup(self.am.stop)
        config = """engine: {tick: 1s}
ui: {account_url: "https://crm.example.com/accounts/{account.id}"}
channels:
  owner_email:
    type: email
    to: "{account.csm_email}"
    smtp: {host: 127.0.0.1, port: %d, starttls: false, from: "Redflag <redflag@example.com>"}
  pager:
    type: webhook
    url: http://127.0.0.1:%d/api/v2/alerts
    format: alertmanager
""" % (self.smtp.port, self.am.port)
        self.svc = Service(config, rules={"urgent.rules": URGENT % ("owner_email, pager", "")})
        self.addCleanup(self.svc.cleanup)

    def am_alert(self):
        for a in self.am.alerts():
            if a["labels"].get("alertname") == "urgent_ticket" and a["labels"].get("account") == "acme":
                return a
        return None

    def test_firing_and_recovery_reach_the_mailbox_and_alertmanager(self):
        self.open_ticket()
        alert = wait_for(lambda: self.alert())
        self.assertTrue(alert)

        # Email: one message to the CSM, subject with severity and account, text and HTML.
        self.assertTrue(wait_for(lambda: len(self.smtp.parsed()) == 1))
        rcpt, msg = self.smtp.parsed()[0]
        self.assertEqual(rcpt, ["dana@vendor.example"])
        self.assertIn("dana@vendor.example", msg["To"])
        self.assertTrue(msg["Subject"].startswith("[HIGH] Acme Corp"), msg["Subject"])
        self.assertIn("Urgent ticket open", msg["Subject"])
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        self.assertIn("Acme Corp: an urgent ticket is open", text)
        self.assertIn("https://crm.example.com/accounts/acme", text)
        self.assertIn("<html", html.lower())
        self.assertIn("Acme Corp", html)

        # Alertmanager: the alert is active, with our labels.
        am = wait_for(self.am_alert)
        self.assertTrue(am, self.am.alerts())
        self.assertEqual(am["labels"]["severity"], "high")
        self.assertEqual(am["labels"]["team"], "support")
        self.assertEqual(am["status"]["state"], "active")

        # Recovery: a "Recovered:" email, and the alert resolved in Alertmanager.
        self.close_ticket()
        self.assertTrue(wait_for(lambda: self.alert(state="resolved")))
        self.assertTrue(wait_for(lambda: len(self.smtp.parsed()) == 2))
        _, recovered = self.smtp.parsed()[1]
        self.assertIn("Recovered: Urgent ticket open", recovered["Subject"])
        self.assertTrue(wait_for(lambda: self.am_alert() is None), self.am.alerts())

        # The history: both channels, both notices, sent, with their idempotency keys.
        history = self.settled(alert["id"], 4)
        self.assertEqual(len(history), 4, history)
        seen = {(n["channel"], n["kind"], n["outcome"], n["key"]) for n in history}
        self.assertEqual(seen, {
            ("owner_email", "firing", "sent", alert["id"] + "-1"),
            ("pager", "firing", "sent", alert["id"] + "-1"),
            ("owner_email", "resolved", "sent", alert["id"] + "-2"),
            ("pager", "resolved", "sent", alert["id"] + "-2"),
        })
        metrics = self.svc.metrics()
        self.assertEqual(metric_value(metrics, "redflag_notifications_total",
                                      {"channel": "owner_email", "outcome": "sent"}), 2)
        self.assertEqual(metric_value(metrics, "redflag_outbox_pending", {"channel": "pager"}), 0)
        self.assertEqual(metric_value(metrics, "redflag_notification_delay_seconds_count", {"channel": "pager"}), 2)

    def test_a_dead_peer_makes_a_dead_notification_after_max_age(self):
        # An SMTP port nobody listens on, and a short max_age.
        self.svc.stop()
        self.svc.edit_config("port: %d" % self.smtp.port, "port: %d" % free_port())
        with open(self.svc.config_path, "a") as f:
            f.write("delivery: {max_age: 3s}\n")
        self.svc.start()
        self.open_ticket()
        alert = wait_for(lambda: self.alert())
        history = self.settled(alert["id"], 2)
        mail = [n for n in history if n["channel"] == "owner_email"][0]
        self.assertEqual(mail["outcome"], "dead", mail)
        self.assertGreaterEqual(mail["attempts"], 2)
        self.assertIn("max_age", mail["last_error"])
        self.assertEqual(metric_value(self.svc.metrics(), "redflag_notifications_total",
                                      {"channel": "owner_email", "outcome": "dead"}), 1)


def parse_time(text):
    """An RFC 3339 instant as Alertmanager writes it (0 to 9 fractional digits) → epoch seconds."""
    text = text.replace("Z", "+00:00")
    main, zone = text[:19], text[19:]
    fraction = "0"
    if zone.startswith("."):
        digits = len(zone) - len(zone[1:].lstrip("0123456789")) - 1
        fraction, zone = zone[1:1 + digits] or "0", zone[1 + digits:]
    t = datetime.datetime.strptime(main + zone, "%Y-%m-%dT%H:%M:%S%z").timestamp()
    return t + float("0." + fraction)


@unittest.skipUnless(os.path.exists(Alertmanager.BINARY), "prometheus-alertmanager is not installed")
class AlertmanagerReposting(Peers):
    """`format: alertmanager` keeps a firing alert alive in Alertmanager by posting it again
    every `resend` (each post holds it for 4 × resend), across a restart, and ends it there
    when ours resolves, here silently (`resolve silent`: no recovery notice)."""

    RESEND = 2  # seconds: each post holds the alert 8 s

    def setUp(self):
        self.am = Alertmanager()
        self.addCleanup(self.am.stop)
        config = """engine: {tick: 1s}
channels:
  pager:
    type: webhook
    url: http://127.0.0.1:%d/api/v2/alerts
    format: alertmanager
    resend: %ds
""" % (self.am.port, self.RESEND)
        self.svc = Service(config, rules={"urgent.rules": URGENT % ("pager", "  resolve  silent\n")})
        self.addCleanup(self.svc.cleanup)

    def am_alert(self):
        for a in self.am.alerts():
            if a["labels"].get("alertname") == "urgent_ticket" and a["labels"].get("account") == "acme":
                return a
        return None

    def stays_active(self, seconds):
        """Polls Alertmanager for `seconds`; fails if the alert is ever missing or not active.
        Returns the updatedAt values seen."""
        updates = set()
        deadline = time.time() + seconds
        while time.time() < deadline:
            a = self.am_alert()
            self.assertTrue(a, "the alert lapsed in Alertmanager")
            self.assertEqual(a["status"]["state"], "active", a)
            # Held for 4 × resend from the last post, not for a day.
            self.assertLess(parse_time(a["endsAt"]) - time.time(), 4 * self.RESEND + 1, a)
            updates.add(a["updatedAt"])
            time.sleep(0.25)
        return updates

    def test_a_firing_alert_stays_active_across_a_restart_and_ends_when_ours_resolves_silently(self):
        self.open_ticket()
        alert = wait_for(lambda: self.alert())
        self.assertTrue(alert)
        self.assertTrue(wait_for(self.am_alert), self.am.alerts())
        # Longer than 4 × resend: only re-posts keep it active; each one updates it.
        updates = self.stays_active(4 * self.RESEND + 3)
        self.assertGreaterEqual(len(updates), 3, updates)
        # A restart (kill -9): the set of posted alerts is rebuilt from the outbox.
        self.svc.kill9()
        self.svc.start()
        self.stays_active(4 * self.RESEND + 3)
        # Re-posts leave no outbox record: the history has the one firing notification.
        history = self.history(alert["id"])
        self.assertEqual([(n["kind"], n["outcome"]) for n in history], [("firing", "sent")], history)

        # Ours resolves silently: Alertmanager hears of it at the next round (≤ resend),
        # well before the last post's hold (4 × resend) would have ended it by itself.
        self.close_ticket()
        self.assertTrue(wait_for(lambda: self.alert(state="resolved")))
        resolved_at = time.time()
        self.assertTrue(wait_for(lambda: self.am_alert() is None, timeout=3 * self.RESEND), self.am_alert())
        self.assertLess(time.time() - resolved_at, 2 * self.RESEND + 1)
        # Still no recovery notice anywhere: the history is unchanged.
        self.assertEqual(len(self.history(alert["id"])), 1)


# ---------------------------------------------------------------------------- Slack

from slack_standin import SlackStandIn  # noqa: E402


class Slack(Peers):
    CONFIG = """engine: {tick: 1s}
channels:
  cs_red_flags:
    type: slack
    token: xoxb-test
    channel: "#cs-red-flags"
    api_url: %s
"""

    def start(self, repeat=""):
        self.slack = SlackStandIn(token="xoxb-test").start()
        self.addCleanup(self.slack.stop)
        self.svc = Service(self.CONFIG % self.slack.api_url,
                           rules={"urgent.rules": URGENT % ("cs_red_flags", repeat)})
        self.addCleanup(self.svc.cleanup)

    def posts(self):
        return [m for m in self.slack.messages if m.get("channel") == "#cs-red-flags"]

    def text_of(self, m):
        return json.dumps(m.get("blocks", [])) + m.get("text", "")

    def test_fire_repeat_until_ack_and_recovery_in_the_thread(self):
        self.start(repeat="  repeat   2s\n")
        self.open_ticket()
        alert = wait_for(lambda: self.alert())
        self.assertTrue(alert)
        # The first message, then repeats in its thread.
        self.assertTrue(wait_for(lambda: len(self.posts()) >= 3, timeout=20), self.posts())
        first = self.posts()[0]
        self.assertFalse(first.get("thread_ts"))
        self.assertIn("Urgent ticket open", self.text_of(first))
        for repeat in self.posts()[1:3]:
            self.assertEqual(repeat.get("thread_ts"), first["ts"])
        # An ack: a reply in the thread, and no repeats after it.
        status, body = self.svc.json("POST", "/v1/alerts/%s/ack" % alert["id"],
                                     {"by": "liam", "comment": "calling them today"})
        self.assertEqual(status, 200, body)
        self.assertTrue(wait_for(lambda: any("calling them today" in self.text_of(m) for m in self.posts())))
        settled = len(self.posts())
        time.sleep(5)  # two repeat intervals and more
        self.assertEqual(len(self.posts()), settled, self.posts()[settled:])
        # Recovery, in the thread.
        self.close_ticket()
        self.assertTrue(wait_for(lambda: len(self.posts()) == settled + 1))
        recovered = self.posts()[-1]
        self.assertEqual(recovered.get("thread_ts"), first["ts"])
        self.assertIn("Recovered", self.text_of(recovered))
        # The history has every one of them, sent, ack included.
        history = self.settled(alert["id"], settled + 1)
        kinds = [n["kind"] for n in history]
        self.assertEqual(kinds[0], "firing")
        self.assertIn("repeat", kinds)
        self.assertIn("acknowledged", kinds)
        self.assertEqual(kinds[-1], "resolved")
        self.assertTrue(all(n["outcome"] == "sent" for n in history), history)
        status, full = self.svc.json("GET", "/v1/alerts/" + alert["id"])
        self.assertEqual(full["acks"][0]["by"], "liam")

    def test_429_is_honoured_with_exactly_one_message(self):
        self.start()
        self.slack.set_rate_limit(1, retry_after_seconds=1)
        self.open_ticket()
        alert = wait_for(lambda: self.alert())
        history = self.settled(alert["id"], 1)
        self.assertEqual(history[0]["outcome"], "sent", history)
        self.assertEqual(history[0]["attempts"], 2)
        time.sleep(1.5)
        self.assertEqual(len(self.posts()), 1, self.posts())
        self.assertEqual(metric_value(self.svc.metrics(), "redflag_notifications_total",
                                      {"channel": "cs_red_flags", "outcome": "retry"}), 1)

    def test_a_silence_holds_back_notifications_while_the_alert_fires(self):
        self.start(repeat="  repeat   2s\n")
        status, silence = self.svc.json("POST", "/v1/silences", {
            "account": "acme", "until": now_text(3600), "reason": "migration weekend", "by": "dana"})
        self.assertEqual(status, 201, silence)
        self.open_ticket()
        alert = wait_for(lambda: self.alert())
        self.assertTrue(alert)
        # Firing, repeating, and nothing posted.
        history = wait_for(lambda: len(self.history(alert["id"])) >= 2 and self.history(alert["id"]), timeout=10)
        self.assertTrue(history)
        self.assertTrue(all(n["outcome"] == "silenced" and n["silence"] == silence["id"] for n in history
                            if n["outcome"] != "pending"), history)
        self.assertEqual(self.posts(), [])
        self.assertEqual(self.alert()["state"], "firing")
        status, listed = self.svc.json("GET", "/v1/silences")
        self.assertEqual([s["id"] for s in listed["silences"]], [silence["id"]])
        self.assertEqual(listed["silences"][0]["state"], "active")
        # Expired: the next repeat goes out.
        status, _ = self.svc.json("DELETE", "/v1/silences/" + silence["id"])
        self.assertEqual(status, 200)
        self.assertTrue(wait_for(lambda: len(self.posts()) >= 1, timeout=10))
        status, listed = self.svc.json("GET", "/v1/silences")
        self.assertEqual(listed["silences"][0]["state"], "expired")

    def test_a_notification_waiting_for_slack_survives_kill_9(self):
        self.start()
        self.slack.set_down(True, refuse=True)  # Slack is down: connections refused
        self.open_ticket()
        alert = wait_for(lambda: self.alert())
        self.assertTrue(wait_for(lambda: any(n["outcome"] == "retry" for n in self.history(alert["id"]))))
        self.svc.kill9()
        self.slack.set_down(False)
        self.svc.start()
        history = self.settled(alert["id"], 1)
        self.assertEqual(history[0]["outcome"], "sent", history)
        self.assertEqual(len(self.posts()), 1, self.posts())


if __name__ == "__main__":
    unittest.main()
