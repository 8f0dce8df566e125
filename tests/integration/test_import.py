"""`redflag import` against the real service: a CRM export lands as account events,
a re-run stores nothing twice, and a file with a bad row sends nothing."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BINARY, Service, metric_value  # noqa: E402

GOOD = 'Company ID,Name,Owner,Seats,Tier\nacme,Acme Corp,Dana,25,gold\nglobex,"Globex, Inc.",Lee,7,silver\n'
BAD = "Company ID,Name,Owner,Seats,Tier\ninitech,Initech,Bob,many,gold\numbrella,Umbrella,Eve,3,gold\n"


class Import(unittest.TestCase):
    def run_import(self, svc, text, *extra):
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write(text)
        try:
            return subprocess.run([BINARY, "import", f.name, "--url", "http://127.0.0.1:%d" % svc.port,
                                   "--map", "Company ID=account", "--map", "Owner=csm", "--map", "Tier=attributes.tier",
                                   *extra], capture_output=True, text=True, timeout=60, env=dict(os.environ,
                                   REDFLAG_TOKEN="t0ken")), f.name
        finally:
            os.unlink(f.name)

    def test_import_then_rerun_then_bad_file(self):
        with Service("ingest: {tokens: [t0ken]}\n") as svc:
            proc, _ = self.run_import(svc, GOOD)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn("2 accepted, 0 duplicates", proc.stdout)
            status, body = svc.json("GET", "/v1/accounts/globex", headers={"Authorization": "Bearer t0ken"})
            self.assertEqual(status, 200, body)
            self.assertEqual((body["profile"]["name"], body["profile"]["csm"], body["profile"]["seats"]),
                             ("Globex, Inc.", "Lee", 7))
            self.assertEqual(body["profile"]["attributes"], {"tier": "silver"})
            again, _ = self.run_import(svc, GOOD)
            self.assertEqual(again.returncode, 0, again.stderr)
            self.assertIn("0 accepted, 2 duplicates", again.stdout)
            bad, name = self.run_import(svc, BAD)
            self.assertEqual(bad.returncode, 1)
            self.assertIn("%s:2:21: seats must be an integer" % name, bad.stderr)
            status, _ = svc.json("GET", "/v1/accounts/umbrella", headers={"Authorization": "Bearer t0ken"})
            self.assertEqual(status, 404)  # the good row of the bad file was not sent either
            self.assertEqual(metric_value(svc.metrics(), "redflag_events_ingested_total",
                                          {"type": "account", "outcome": "accepted"}), 2)


if __name__ == "__main__":
    unittest.main()
