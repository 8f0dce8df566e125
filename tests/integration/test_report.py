"""The weekly report against the real service on a free port: `redflag report weekly
--format json|text|html` (and GET /v1/reports/weekly) on a small fixed world stamped
relative to now, the CSM filter, refusals; and an email channel with `report:` sending
it to a real SMTP server (Debian's python3-aiosmtpd) at its scheduled minute."""
import datetime
import email
import email.policy
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BINARY, Service, free_port, wait_for  # noqa: E402

RULES = """rule urgent_ticket {
  title    "Urgent ticket open"
  when     count(tickets where priority == "urgent") > 0
  severity high
}

score health {
  component nps weight 1 = max(nps.score, 90d) / 10
  band green >= 70
  band red
}
"""


def stamp(days=0, seconds=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days, seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# acme (Ana): paying 1000 a month for 380 days (in the NRR cohort), renews in 30 days, an
# urgent ticket now (a red flag of this week), NPS 10 ten days ago (a promoter, health
# 100 green), onboarding completed two days ago, a goal due in 3 days and one overdue, a
# call yesterday.
# beta (Bo): paying 500 a month for 10 days, nothing else.
WORLD = [
    {"type": "account", "account": "acme", "name": "Acme Corp", "csm": "Ana", "csm_email": "ana@vendor.example",
     "at": stamp(-380)},
    {"type": "contract", "account": "acme", "mrr": 1000, "renewal_at": stamp(30), "at": stamp(-380)},
    {"type": "nps", "account": "acme", "score": 10, "at": stamp(-10)},
    {"type": "milestone", "account": "acme", "name": "onboarding_completed", "at": stamp(-2)},
    {"type": "goal", "account": "acme", "goal_id": "sso", "title": "Roll out SSO", "due_at": stamp(3),
     "status": "open", "at": stamp(-20)},
    {"type": "goal", "account": "acme", "goal_id": "qbr", "title": "Hold the QBR", "due_at": stamp(-1),
     "status": "open", "at": stamp(-20)},
    {"type": "activity", "account": "acme", "kind": "call", "by": "ana", "minutes": 30, "note": "renewal talk",
     "at": stamp(-1)},
    {"type": "ticket", "account": "acme", "ticket_id": "t-1", "status": "open", "priority": "urgent",
     "at": stamp(seconds=-5)},
    {"type": "account", "account": "beta", "name": "Beta GmbH", "csm": "Bo", "csm_email": "bo@vendor.example",
     "at": stamp(-10)},
    {"type": "contract", "account": "beta", "mrr": 500, "at": stamp(-10)},
]


class WeeklyReportCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service("api: {read_tokens: [reader], write_tokens: [writer]}\n", rules={"r.rules": RULES})
        try:
            status, body = cls.svc.post_events(WORLD)
            assert status == 202, body
            headers = {"Authorization": "Bearer reader"}
            assert wait_for(lambda: cls.svc.json("GET", "/v1/alerts?state=firing", headers=headers)[1]["alerts"])
        except BaseException:
            cls.svc.cleanup()  # tearDownClass does not run when setUpClass fails
            raise

    @classmethod
    def tearDownClass(cls):
        cls.svc.cleanup()

    def run_cli(self, *args, token="reader", command="weekly"):
        env = dict(os.environ)
        env.pop("REDFLAG_TOKEN", None)
        if token:
            env["REDFLAG_TOKEN"] = token
        proc = subprocess.run([BINARY, "report", command] + list(args) + ["--url", "http://127.0.0.1:%d" % self.svc.port],
                              capture_output=True, text=True, env=env, timeout=30)
        return proc.returncode, proc.stdout, proc.stderr

    def test_json_has_every_section(self):
        rc, out, err = self.run_cli("--format", "json")
        self.assertEqual(rc, 0, err)
        r = json.loads(out)
        self.assertIsNone(r["csm"])
        self.assertEqual([(f["rule"], f["account"]["id"], f["account"]["arr"]) for f in r["red_flags"]],
                         [("urgent_ticket", "acme", 12000)])
        self.assertEqual([x["account"]["id"] for x in r["renewals"]], ["acme"])  # beta has no renewal date
        self.assertEqual(r["renewals"][0]["health"], 100)  # max NPS 10 / 10 × 100
        self.assertEqual(r["renewals"][0]["band"], "green")
        self.assertEqual([x["account"]["id"] for x in r["onboardings"]], ["acme"])
        self.assertEqual([(p["account"]["id"], p["best_nps"]) for p in r["promoters"]], [("acme", 10)])
        self.assertEqual([g["goal_id"] for g in r["goals_due"]], ["sso"])
        self.assertEqual([g["goal_id"] for g in r["goals_overdue"]], ["qbr"])
        csms = {c["csm"]: c for c in r["csms"]}
        self.assertEqual(set(csms), {"ana@vendor.example", "bo@vendor.example"})
        # acme: 1000 now and 365 days ago: NRR = GRR = 1; NPS: one promoter = 100.
        self.assertEqual(csms["ana@vendor.example"]["nrr"], 1.0)
        self.assertEqual(csms["ana@vendor.example"]["grr"], 1.0)
        self.assertEqual(csms["ana@vendor.example"]["nps"], 100.0)
        self.assertEqual(csms["ana@vendor.example"]["nps_week_ago"], 100.0)
        self.assertIsNone(csms["bo@vendor.example"]["nrr"])  # beta was not paying a year ago

    def test_text_lists_the_sections_and_the_csm_filter_narrows_them(self):
        rc, out, err = self.run_cli()
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("Redflag weekly report, "), out)
        self.assertIn("New red flags (1)", out)
        self.assertIn("urgent_ticket", out)
        self.assertIn("Acme Corp", out)
        self.assertIn("Goals overdue (1)", out)
        self.assertIn("Hold the QBR", out)
        rc, out, err = self.run_cli("--csm", "bo@vendor.example")
        self.assertEqual(rc, 0, err)
        self.assertIn("for bo@vendor.example", out)
        self.assertIn("New red flags (0)", out)
        self.assertNotIn("Acme Corp", out)

    def test_html_and_refusals(self):
        rc, out, err = self.run_cli("--format", "html")
        self.assertEqual(rc, 0, err)
        self.assertIn("<h2>New red flags (1)</h2>", out)
        rc, out, err = self.run_cli("--format", "pdf")
        self.assertEqual(rc, 2)
        self.assertIn("--format must be text, html or json", err)
        status, body = self.svc.json("GET", "/v1/reports/weekly?format=pdf", headers={"Authorization": "Bearer reader"})
        self.assertEqual(status, 400)
        self.assertIn("query parameter format", body["error"])
        rc, out, err = self.run_cli(token=None)
        self.assertEqual(rc, 1)
        self.assertIn("401", err)


    def test_account_report_puts_health_next_to_actions_and_alerts(self):
        rc, out, err = self.run_cli("acme", "--days", "7", command="account")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("Health and actions of Acme Corp (acme), "), out)
        self.assertIn("call by ana (30.0 min): renewal talk", out)
        self.assertIn("alert urgent_ticket (high) fired", out)
        self.assertIn("100.0 (green)", out)  # today's history point: max NPS 10 / 10 x 100
        rc, out, err = self.run_cli("acme", "--format", "json", command="account")
        self.assertEqual(rc, 0, err)
        r = json.loads(out)
        self.assertEqual([a["kind"] for d in r["days"] for a in d["activities"]], ["call"])
        self.assertEqual([a["rule"] for d in r["days"] for a in d["alerts"]], ["urgent_ticket"])
        rc, out, err = self.run_cli("nobody", command="account")
        self.assertEqual(rc, 1)
        self.assertIn("404", err)


class WeeklyReportEmail(unittest.TestCase):
    """An email channel with `report:` at the coming minute sends one email to aiosmtpd."""

    def setUp(self):
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            self.skipTest("python3-aiosmtpd is not installed (run with Debian's /usr/bin/python3)")
        self.messages = []
        self.arrived = threading.Event()
        test = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                test.messages.append({"to": list(envelope.rcpt_tos), "data": envelope.content})
                test.arrived.set()
                return "250 Message accepted"

        for attempt in range(5):
            self.smtp_port = free_port()
            controller = Controller(Handler(), hostname="127.0.0.1", port=self.smtp_port)
            try:
                controller.start()
                self.addCleanup(controller.stop)
                break
            except Exception:
                if attempt == 4:
                    raise

    def test_the_report_is_mailed_at_its_scheduled_minute(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        if now.second >= 55:  # too close to the minute to start the service before it
            time.sleep(60 - now.second + 1)
            now = datetime.datetime.now(datetime.timezone.utc)
        at = (now + datetime.timedelta(minutes=1)).replace(second=0, microsecond=0)
        spec = "weekly %s %02d:%02d" % (at.strftime("%a").lower(), at.hour, at.minute)
        config = ("channels:\n  weekly:\n    type: email\n    to: \"head@vendor.example\"\n"
                  "    report: \"%s\"\n    smtp: {host: 127.0.0.1, port: %d, starttls: false, "
                  "from: \"Redflag <redflag@vendor.example>\"}\n" % (spec, self.smtp_port))
        svc = Service(config, rules={"r.rules": RULES})
        self.addCleanup(svc.cleanup)
        status, body = svc.post_events(WORLD)
        self.assertEqual(status, 202, body)
        self.assertTrue(self.arrived.wait(timeout=(at - now).total_seconds() + 30), svc.read_log())
        time.sleep(1)  # a second message would come right after the first
        self.assertEqual(len(self.messages), 1, svc.read_log())
        m = self.messages[0]
        self.assertEqual(m["to"], ["head@vendor.example"])
        mail = email.message_from_bytes(m["data"], policy=email.policy.default)
        self.assertTrue(mail["Subject"].startswith("Redflag weekly report "), mail["Subject"])
        text = mail.get_body(("plain",)).get_content()
        self.assertIn("New red flags (1)", text)
        self.assertIn("Acme Corp", text)
        self.assertIn("<h2>Renewals in the next 90 days (1)</h2>", mail.get_body(("html",)).get_content())
        self.assertIn("sent the weekly report", svc.read_log())


if __name__ == "__main__":
    unittest.main()
