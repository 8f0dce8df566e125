"""Operable like its peers (issue 11): the command line an operator reaches for first
(version, help, an unknown command, `check --config`) and the metrics Prometheus'
own dashboards expect (build info, process metrics, the last successful reload), against
the real binary.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BINARY, SOURCE_DIR, Service, metric_value  # noqa: E402

RULES = os.path.join(SOURCE_DIR, "rules")


def run(*args, env=None):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


class CommandLine(unittest.TestCase):
    def test_version_three_ways(self):
        outputs = [run("version"), run("--version")]
        for p in outputs:
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout, r"^redflag \d+\.\d+\.\d+ \(revision ([0-9a-f]+(-dirty)?|unknown)\)\n")
        self.assertEqual(outputs[0].stdout, outputs[1].stdout)

    def test_help_and_dash_dash_help_are_the_manual(self):
        manual = run("help")
        self.assertEqual(manual.returncode, 0, manual.stderr)
        for section in ("Usage: redflag", "serve", "check", "replay", "CONFIGURATION", "SIGNALS", "EXIT STATUS",
                        "FILES", "/etc/redflag/redflag.yaml", "api.write_tokens"):
            self.assertIn(section, manual.stdout)
        self.assertEqual(run("--help").stdout, manual.stdout)
        check = run("help", "check")
        self.assertEqual(check.returncode, 0)
        self.assertIn("Usage: redflag check", check.stdout)
        self.assertIn("--config", check.stdout)

    def test_unknown_command_names_itself(self):
        p = run("serv")
        self.assertEqual(p.returncode, 2)
        self.assertIn('unknown command "serv"', p.stderr)
        self.assertIn("serve", p.stderr)
        self.assertIn("import", p.stderr)
        # Every command of the manual is known, and `help` knows each.
        for command in ("serve", "check", "test", "replay", "fmt", "import", "version", "help"):
            self.assertEqual(run("help", command).returncode, 0, command)

    def test_check_without_anything_is_a_usage_error(self):
        p = run("check")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--config", p.stderr)


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="redflag-check-")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.folder])

    def write(self, name, text):
        path = os.path.join(self.folder, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_only_config_checks_the_config_and_its_rule_paths(self):
        good = self.write("good.yaml", "rules: {paths: [%s]}\n" % RULES)
        p = run("check", "--config", good)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"ok: config .*good\.yaml, \d+ rules")
        broken_rules = self.write("broken.rules", "rule broken {\n  when since(activity) > 90\n}\n")
        cfg = self.write("r.yaml", "rules: {paths: [%s]}\n" % broken_rules)
        p = run("check", "--config", cfg)
        self.assertEqual(p.returncode, 1)
        self.assertIn("broken.rules:2:", p.stdout)

    def test_config_errors_have_file_line_column(self):
        cfg = self.write("bad.yaml", "listen: 127.0.0.1:8080\nstorage:\n  path: ./d\n  synk: true\n"
                                     "ingest: {hmac_secret: ${IT_UNSET_SECRET}}\n")
        p = run("check", "--config", cfg, RULES)
        self.assertEqual(p.returncode, 1)
        self.assertIn(cfg + ':4:3: error: unknown key "synk" in storage', p.stdout)
        self.assertIn(cfg + ":5:23: error: environment variable IT_UNSET_SECRET is not set", p.stdout)
        p = run("check", "--config", cfg, "--format", "json", RULES)
        self.assertEqual(p.returncode, 1)
        found = {(d["line"], d["column"], d["code"]) for d in json.loads(p.stdout)["diagnostics"]}
        self.assertEqual(found, {(4, 3, "config"), (5, 23, "config")})

    def test_a_listener_serve_would_refuse_is_reported(self):
        cfg = self.write("public.yaml", "listen: 0.0.0.0:8080\ningest: {tokens: [t]}\n")
        p = run("check", "--config", cfg, RULES)
        self.assertEqual(p.returncode, 1)
        self.assertIn("api.write_tokens", p.stdout)
        cfg = self.write("ok.yaml", "listen: 0.0.0.0:8080\ningest: {tokens: [t]}\napi: {write_tokens: [w]}\n")
        self.assertEqual(run("check", "--config", cfg, RULES).returncode, 0)

    def test_channels_of_the_config_are_known_to_notify(self):
        rules = self.write("n.rules", "rule n {\n  when since(activity) > 90d\n  notify ops\n}\n")
        cfg = self.write("c.yaml", "channels: {ops: {type: webhook, url: http://127.0.0.1:9/x}}\n")
        self.assertEqual(run("check", "--config", cfg, rules).returncode, 0)
        cfg = self.write("c2.yaml", "channels: {}\n")
        p = run("check", "--config", cfg, rules)
        self.assertEqual(p.returncode, 1)
        self.assertIn("ops", p.stdout)


class OperatorMetrics(unittest.TestCase):
    def test_build_process_and_reload_metrics(self):
        rule = "rule quiet {\n  when since(activity) > 90d\n}\n"
        with Service(rules={"quiet.rules": rule}) as svc:
            text = svc.metrics()
            version = run("version").stdout.split()[1]
            self.assertEqual(metric_value(text, "redflag_build_info", {"version": version}), 1)
            self.assertGreater(metric_value(text, "process_resident_memory_bytes"), 1 << 20)
            self.assertGreater(metric_value(text, "process_open_fds"), 5)
            self.assertGreater(metric_value(text, "process_max_fds"), 0)
            self.assertIsNotNone(metric_value(text, "process_cpu_seconds_total"))
            start = metric_value(text, "process_start_time_seconds")
            self.assertLess(abs(start - time.time()), 120)
            loaded = metric_value(text, "redflag_config_last_reload_success_timestamp_seconds")
            self.assertLess(abs(loaded - time.time()), 60)

            # A successful reload moves it; a failed one leaves it.
            time.sleep(1.1)
            self.assertEqual(svc.json("POST", "/-/reload")[0], 200)
            reloaded = metric_value(svc.metrics(), "redflag_config_last_reload_success_timestamp_seconds")
            self.assertGreater(reloaded, loaded + 1)
            with open(os.path.join(svc.rules_dir, "bad.rules"), "w") as f:
                f.write("rule broken {\n  when since(activity) > 90\n}\n")
            self.assertEqual(svc.json("POST", "/-/reload")[0], 400)
            self.assertEqual(metric_value(svc.metrics(), "redflag_config_last_reload_success_timestamp_seconds"),
                             reloaded)


if __name__ == "__main__":
    unittest.main()
