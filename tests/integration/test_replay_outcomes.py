"""`redflag replay --outcomes` end to end: the real binary on a tiny hand-made log.

acme has a detractor NPS answer on 1 February and churns on 15 March (42 days later);
beta contracts on 10 February and is never alerted. The log ends on 1 July.
"""
import json
import os
import subprocess
import tempfile
import unittest

from harness import BINARY

RULES = """\
rule low_nps {
  when min(nps.score, 30d) <= 6
}

rule churned {
  when   account.status == "churned"
  labels { indicator = "lagging" }
}
"""

EVENTS = [
    {"type": "account", "account": "acme", "at": "2026-01-01T00:00:00Z", "name": "Acme", "status": "active"},
    {"type": "contract", "account": "acme", "at": "2026-01-01T00:00:00Z", "mrr": 1000},
    {"type": "account", "account": "beta", "at": "2026-01-01T00:00:00Z", "name": "Beta", "status": "active"},
    {"type": "contract", "account": "beta", "at": "2026-01-01T00:00:00Z", "mrr": 500},
    {"type": "nps", "account": "acme", "at": "2026-02-01T10:00:00Z", "score": 3},
    {"type": "contract", "account": "beta", "at": "2026-02-10T00:00:00Z", "mrr": 300},
    {"type": "contract", "account": "acme", "at": "2026-03-15T10:00:00Z", "mrr": 0},
    {"type": "usage", "account": "beta", "at": "2026-07-01T00:00:00Z", "metric": "active_users", "value": 12},
]


class ReplayOutcomes(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory(prefix="redflag-outcomes-")
        self.rules = os.path.join(self.folder.name, "outcomes.rules")
        self.events = os.path.join(self.folder.name, "events.ndjson")
        with open(self.rules, "w") as f:
            f.write(RULES)
        with open(self.events, "w") as f:
            f.writelines(json.dumps(e) + "\n" for e in EVENTS)

    def tearDown(self):
        self.folder.cleanup()

    def replay(self, *extra):
        return subprocess.run([BINARY, "replay", "--rules", self.rules, "--events", self.events, *extra],
                              capture_output=True, text=True, timeout=60)

    def test_table_on_stderr_transitions_alone_on_stdout(self):
        run = self.replay("--outcomes")
        self.assertEqual(run.returncode, 0, run.stderr)
        transitions = [json.loads(line) for line in run.stdout.splitlines()]
        self.assertEqual([(t["rule"], t["state"]) for t in transitions],
                         [("low_nps", "firing"), ("low_nps", "resolved"), ("churned", "firing")])
        table = run.stderr
        self.assertIn("2 accounts", table)
        self.assertIn("1 churns, 1 contractions", table)
        rows = {line.split()[0]: line.split() for line in table.splitlines() if line.startswith(("low_nps", "churned", "("))}
        # alerts, accounts, precision, alert precision, recall, recall >=30d, lead, alerts per account-month
        self.assertEqual(rows["low_nps"][1:8], ["1", "1", "100%", "100%", "100%", "100%", "42"])
        self.assertEqual(rows["churned"][1], "*")  # lagging
        self.assertEqual(rows["(combined)"][1:8], ["1", "1", "100%", "100%", "100%", "100%", "42"])

    def test_json_report_to_a_file(self):
        path = os.path.join(self.folder.name, "outcomes.json")
        run = self.replay("--outcomes-json", path)
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(path) as f:
            report = json.load(f)
        self.assertEqual(report["churns"], 1)
        self.assertEqual(report["contractions"], 1)
        self.assertEqual(report["window_days"], 90)
        by_rule = {r["rule"]: r for r in report["rules"]}
        self.assertEqual(by_rule["low_nps"]["recall"], 1.0)
        self.assertAlmostEqual(by_rule["low_nps"]["median_lead_days"], 42.0)
        self.assertTrue(by_rule["churned"]["lagging"])
        self.assertEqual(by_rule["churned"]["precision"], 0.0)
        self.assertEqual(report["combined"]["alerts"], 1)
        self.assertAlmostEqual(report["combined"]["alerts_per_account_month"], 1 / report["account_months"])

    def test_unwritable_json_exits_1(self):
        run = self.replay("--outcomes-json", os.path.join(self.folder.name, "missing", "outcomes.json"))
        self.assertEqual(run.returncode, 1)
        self.assertIn("cannot write", run.stderr)


if __name__ == "__main__":
    unittest.main()
