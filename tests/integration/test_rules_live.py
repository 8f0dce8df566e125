"""Rules in the running service: alerts and their API, acks, hot reload (good and bad,
over HTTP and SIGHUP), and alert state surviving kill -9."""
import datetime
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, metric_value  # noqa: E402

DETRACTOR = """rule detractor {
  title    "Detractor answer"
  when     min(nps.score, 30d) <= 6
  severity high
  message  "{account.name}: NPS {min(nps.score, 30d)} in 30 days"
}
"""

BROKEN = """rule broken {
  when since(activity) > 90
}
"""

TICKETS = """rule urgent_ticket {
  when count(tickets where priority == "urgent") > 0
}
"""


def now_text(offset_seconds=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_for(predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


class LiveRules(unittest.TestCase):
    def setUp(self):
        self.svc = Service(rules={"flags.rules": DETRACTOR})

    def tearDown(self):
        self.svc.cleanup()

    def send_detractor(self, account, csm="dana@vendor.example"):
        events = [
            {"type": "account", "account": account, "name": account.title(), "csm": "Dana", "csm_email": csm,
             "at": now_text(-60)},
            {"type": "nps", "account": account, "score": 3, "at": now_text(-30)},
        ]
        self.assertEqual(self.svc.post_events(events)[0], 202)

    def firing(self, **filters):
        query = "&".join("%s=%s" % kv for kv in dict(state="firing", **filters).items())
        status, body = self.svc.json("GET", "/v1/alerts?" + query)
        self.assertEqual(status, 200, body)
        return body["alerts"]

    def test_alert_fires_with_history_and_filters(self):
        self.send_detractor("acme")
        self.send_detractor("beta", csm="lee@vendor.example")
        alerts = wait_for(lambda: len(self.firing()) == 2 and self.firing())
        self.assertEqual({a["account"] for a in alerts}, {"acme", "beta"})
        self.assertEqual([a["account"] for a in self.firing(account="acme")], ["acme"])
        self.assertEqual([a["account"] for a in self.firing(csm="lee@vendor.example")], ["beta"])
        self.assertEqual(self.firing(rule="nope"), [])
        one = self.firing(account="acme")[0]
        self.assertEqual(one["rule"], "detractor")
        self.assertIn("Acme: NPS 3 in 30 days", one["message"])
        status, full = self.svc.json("GET", "/v1/alerts/" + one["id"])
        self.assertEqual(status, 200)
        self.assertEqual([t["to"] for t in full["transitions"]], ["firing"])
        self.assertEqual(self.svc.request("GET", "/v1/alerts/ffffffff")[0], 404)
        status, body = self.svc.json("GET", "/v1/alerts?state=exploded")
        self.assertEqual(status, 400)
        self.assertIn("state", body["error"])
        # the account view shows it too
        status, acct = self.svc.json("GET", "/v1/accounts/acme")
        self.assertEqual([a["id"] for a in acct["alerts"]], [one["id"]])
        text = self.svc.metrics()
        self.assertEqual(metric_value(text, "redflag_alerts", {"rule": "detractor", "state": "firing"}), 2)
        self.assertEqual(metric_value(text, "redflag_alerts_fired_total", {"rule": "detractor"}), 2)

    def test_ack_is_recorded(self):
        self.send_detractor("acme")
        alert = wait_for(lambda: self.firing(account="acme"))[0]
        status, body = self.svc.json("POST", "/v1/alerts/%s/ack" % alert["id"], {"by": "dana", "comment": "on it"})
        self.assertEqual(status, 200, body)
        status, full = self.svc.json("GET", "/v1/alerts/" + alert["id"])
        self.assertEqual(full["acks"][0]["by"], "dana")
        self.assertEqual(full["acks"][0]["comment"], "on it")
        status, body = self.svc.json("POST", "/v1/alerts/%s/ack" % alert["id"], {"comment": "nobody"})
        self.assertEqual(status, 400)
        self.assertIn("by", body["error"])

    def test_bad_reload_keeps_the_running_rules(self):
        with open(os.path.join(self.svc.rules_dir, "broken.rules"), "w") as f:
            f.write(BROKEN)
        status, body = self.svc.json("POST", "/-/reload")
        self.assertEqual(status, 400, body)
        d = body["diagnostics"][0]
        self.assertEqual((d["line"], d["column"]), (2, 26))
        self.assertIn("broken.rules", d["file"])
        self.assertIn("cannot compare duration with number", d["message"])
        text = self.svc.metrics()
        self.assertEqual(metric_value(text, "redflag_rule_reloads_total", {"outcome": "error"}), 1)
        self.assertEqual(metric_value(text, "redflag_rules_loaded"), 1)
        self.assertIn("rule files have errors", self.svc.read_log())
        # the old rule still works
        self.send_detractor("gamma")
        self.assertTrue(wait_for(lambda: self.firing(account="gamma")))

    def test_good_reload_over_http_and_sighup(self):
        with open(os.path.join(self.svc.rules_dir, "tickets.rules"), "w") as f:
            f.write(TICKETS)
        status, body = self.svc.json("POST", "/-/reload")
        self.assertEqual((status, body["status"], body["rules"]), (200, "ok", 2))
        self.assertEqual(self.svc.post_events({"type": "ticket", "account": "t1", "ticket_id": "x", "status": "open",
                                               "priority": "urgent", "at": now_text(-5)})[0], 202)
        self.assertTrue(wait_for(lambda: self.firing(rule="urgent_ticket")))
        # SIGHUP with a broken file: reported in the log and the metric; rules stay.
        with open(os.path.join(self.svc.rules_dir, "broken.rules"), "w") as f:
            f.write(BROKEN)
        self.svc.process.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: metric_value(self.svc.metrics(), "redflag_rule_reloads_total",
                                                      {"outcome": "error"}) == 1))
        self.assertEqual(metric_value(self.svc.metrics(), "redflag_rules_loaded"), 2)
        self.assertIn("broken.rules:2:26", self.svc.read_log())

    def test_alerts_survive_kill_9(self):
        self.send_detractor("acme")
        alert = wait_for(lambda: self.firing(account="acme"))[0]
        self.svc.kill9()
        self.svc.start()
        status, full = self.svc.json("GET", "/v1/alerts/" + alert["id"])
        self.assertEqual((status, full["state"]), (200, "firing"))
        status, acct = self.svc.json("GET", "/v1/accounts/acme")
        self.assertEqual([a["id"] for a in acct["alerts"]], [alert["id"]])
        # still one alert, not a second one started by the restart
        self.assertEqual(len(self.firing(account="acme")), 1)


class BadRulesAtStart(unittest.TestCase):
    def test_exit_2_with_file_line_column(self):
        svc = Service(rules={"broken.rules": BROKEN}, expect_start=False)
        try:
            code, log = svc.run_until_exit()
            self.assertEqual(code, 2)
            self.assertIn("broken.rules:2:26: error: cannot compare duration with number", log)
        finally:
            svc.cleanup()


if __name__ == "__main__":
    unittest.main()
