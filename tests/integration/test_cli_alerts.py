"""The amtool-like commands against the real service on a free port: `redflag alerts`,
`ack`, `snooze` (with a wake_if the service type-checks), `silence add|list|expire`,
with the token from REDFLAG_TOKEN, the service's message on refusals and exit codes
0 (done), 1 (refused or unreachable) and 2 (usage)."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BINARY, Service, free_port, wait_for, now_text  # noqa: E402

URGENT = """rule urgent_ticket {
  title    "Urgent ticket open"
  when     count(tickets where priority == "urgent") > 0
  severity high
}
"""


class AlertsCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service("api: {read_tokens: [reader], write_tokens: [writer]}\n", rules={"u.rules": URGENT})
        status, body = cls.svc.post_events([
            {"type": "account", "account": "acme", "name": "Acme Corp", "csm": "Dana",
             "csm_email": "dana@vendor.example", "at": now_text(-60)},
            {"type": "ticket", "account": "acme", "ticket_id": "t-1", "status": "open", "priority": "urgent",
             "at": now_text(-1)}])
        assert status == 202, body

    @classmethod
    def tearDownClass(cls):
        cls.svc.cleanup()

    def run_cli(self, *args, token="writer", user="dana"):
        env = dict(os.environ, USER=user)
        env.pop("REDFLAG_TOKEN", None)
        if token:
            env["REDFLAG_TOKEN"] = token
        proc = subprocess.run([BINARY] + list(args) + ["--url", "http://127.0.0.1:%d" % self.svc.port],
                              capture_output=True, text=True, env=env, timeout=30)
        return proc.returncode, proc.stdout, proc.stderr

    def alert_id(self):
        headers = {"Authorization": "Bearer reader"}
        found = wait_for(lambda: self.svc.json("GET", "/v1/alerts?state=firing", headers=headers)[1]["alerts"])
        self.assertTrue(found)
        return found[0]["id"]

    def test_alerts_lists_with_filters(self):
        alert = self.alert_id()
        rc, out, err = self.run_cli("alerts", "--state", "firing", "--csm", "dana@vendor.example", token="reader")
        self.assertEqual(rc, 0, err)
        self.assertIn(alert, out)
        self.assertIn("urgent_ticket", out)
        self.assertIn("Acme Corp", out)
        rc, out, err = self.run_cli("alerts", "--rule", "no_such_rule", token="reader")
        self.assertEqual(rc, 0, err)
        self.assertNotIn(alert, out)
        rc, out, err = self.run_cli("alerts", "--state", "sleeping", token="reader")
        self.assertEqual(rc, 1)
        self.assertIn("400", err)
        self.assertIn("query parameter state", err)

    def test_ack_and_snooze_act_and_refusals_say_why(self):
        alert = self.alert_id()
        rc, out, err = self.run_cli("snooze", alert, "--for", "7d", "--wake-if", "count(tickets) + 1")
        self.assertEqual(rc, 1, out)
        self.assertIn("wake_if\": 1:1: a condition must be true or false", err)
        rc, out, err = self.run_cli("snooze", alert, "--for", "soon")
        self.assertEqual(rc, 2)
        self.assertIn("--for must be a duration", err)
        rc, out, err = self.run_cli("snooze", alert, "--for", "7d", "--wake-if", "count(tickets) > 3")
        self.assertEqual(rc, 0, err)
        self.assertIn("snoozed %s until" % alert, out)
        rc, out, err = self.run_cli("ack", alert, "--comment", "calling them", token="reader")
        self.assertEqual(rc, 1)
        self.assertIn("403", err)
        self.assertIn("REDFLAG_TOKEN", err)
        rc, out, err = self.run_cli("ack", alert, "--comment", "calling them")
        self.assertEqual(rc, 0, err)
        status, full = self.svc.json("GET", "/v1/alerts/" + alert, headers={"Authorization": "Bearer reader"})
        self.assertEqual([(a["by"], a["comment"]) for a in full["acks"]], [("dana", "calling them")])
        self.assertEqual(full["snoozes"][0]["wake_if"], "count(tickets) > 3")
        rc, out, err = self.run_cli("alerts", "--state", "firing", token="reader")
        self.assertIn("acked by dana", out)
        rc, out, err = self.run_cli("ack", "0" * 32)
        self.assertEqual(rc, 1)
        self.assertIn("404: no alert", err)

    def test_silences_add_list_expire(self):
        rc, out, err = self.run_cli("silence", "add", "--account", "acme", "--for", "2h", "--reason", "migration")
        self.assertEqual(rc, 0, err)
        silence = out.strip()
        self.assertTrue(silence)
        rc, out, err = self.run_cli("silence", "list", token="reader")
        self.assertEqual(rc, 0, err)
        self.assertIn(silence, out)
        self.assertIn("active", out)
        self.assertIn("migration", out)
        rc, out, err = self.run_cli("silence", "expire", silence)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.run_cli("silence", "list", "--json", token="reader")
        self.assertIn('"state":"expired"', out)
        rc, out, err = self.run_cli("silence", "add", "--reason", "x", "--for", "1h")
        self.assertEqual(rc, 2)
        self.assertIn("--rule, --account", err)
        rc, out, err = self.run_cli("silence", "expire", "nope")
        self.assertEqual(rc, 1)
        self.assertIn("404", err)

    def test_an_unreachable_service_is_exit_1(self):
        proc = subprocess.run([BINARY, "alerts", "--url", "http://127.0.0.1:%d" % free_port()],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("cannot reach the service", proc.stderr)


if __name__ == "__main__":
    unittest.main()
