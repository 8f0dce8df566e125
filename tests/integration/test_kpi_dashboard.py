"""CS KPIs end to end: the real `redflag serve` fed a generated world (examples/generate),
its /metrics checked by `promtool check metrics`, scraped by Debian's `prometheus`, and
every query of the Grafana board (deploy/grafana/dashboards/redflag.json) run against
Prometheus's HTTP API with the template variables at `.*`: each must return data.

Alerts notify a webhook channel served by this test, so that the board's notification
panels have data too.
"""
import datetime
import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import SOURCE_DIR, Service, free_port, metric_value

BOARD = os.path.join(SOURCE_DIR, "deploy", "grafana", "dashboards", "redflag.json")
ACCOUNTS = int(os.environ.get("REDFLAG_KPI_TEST_ACCOUNTS", "60"))


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook peer that accepts every notification."""
    received = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Receiver.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def samples(text, name):
    """(labels, value) of every sample of `name` in the Prometheus text format."""
    for m in re.finditer(r"^%s(?:\{(.*)\})? (\S+)$" % re.escape(name), text, re.M):
        yield dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1) or "")), float(m.group(2))


def months_before(day, months):
    """The same day `months` earlier (clamped to the 28th), so the world ends today."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return datetime.date(y, m + 1, min(day.day, 28))


def with_notify(rules_text, channel):
    """The rule file with `notify CHANNEL` added to every rule."""
    return re.sub(r"^(rule \w+ \{\n)", r"\1  notify %s\n" % channel, rules_text, flags=re.M)


def board_queries():
    with open(BOARD) as f:
        board = json.load(f)
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def concrete(expr):
    """A board query as Grafana sends it with every variable at All (.*)."""
    for name in ("csm", "segment", "health_band"):
        expr = expr.replace("$" + name, ".*")
    return expr.replace("$__rate_interval", "1m").replace("$__range", "10m").replace("$__interval", "15s")


class KpiDashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.temp = tempfile.mkdtemp(prefix="redflag-kpi-")
        world = os.path.join(cls.temp, "world")
        start = months_before(datetime.date.today(), 18)
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "examples", "generate"), "--seed", "7", "--accounts",
                        str(ACCOUNTS), "--months", "18", "--start", start.isoformat(), "--out", world, "--quiet"],
                       check=True)
        cls.receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        threading.Thread(target=cls.receiver.serve_forever, daemon=True).start()
        rules = {}
        for name in sorted(os.listdir(os.path.join(SOURCE_DIR, "rules"))):
            if name.endswith(".rules"):
                with open(os.path.join(SOURCE_DIR, "rules", name)) as f:
                    rules[name] = with_notify(f.read(), "local")
        config = """engine: {tick: 1s, threads: 2}
kpi:
  currency: USD
  gross_margin: 80%%
  stack: {backup: 9, email_security: 6, archiving: 4, phishing_training: 3}
  cost: {csm_hourly: 90, support_hourly: 45}
  free_plans: [free]
channels:
  local: {type: webhook, url: "http://127.0.0.1:%d/hook", format: redflag}
""" % cls.receiver.server_address[1]
        # 18 months of history: older than the default storage.retention (400d), which
        # live ingest refuses.
        cls.service = Service(config, rules=rules, expect_start=False)
        cls.service.edit_config("storage: {path: ", "storage: {retention: 600d, path: ")
        cls.service.start()
        with open(os.path.join(world, "events.ndjson")) as f:
            lines = f.readlines()
        for i in range(0, len(lines), 5000):
            status, body = cls.service.json("POST", "/v1/events", "".join(lines[i:i + 5000]),
                                            {"Content-Type": "application/x-ndjson"})
            assert status == 202, (status, body)
        cls.events = len(lines)
        # Acknowledge one firing alert, as a CSM would, so that the scorecard's time to
        # acknowledge has an observation (redflag_alert_ack_seconds).
        deadline = time.time() + 60
        while True:
            status, body = cls.service.json("GET", "/v1/alerts?state=firing")
            assert status == 200, (status, body)
            if body["alerts"] or time.time() > deadline:
                break
            time.sleep(1)
        assert body["alerts"], "no alert fired on the generated world"
        status, body = cls.service.json("POST", "/v1/alerts/%s/ack" % body["alerts"][0]["id"],
                                        {"by": "dana", "comment": "on it"})
        assert status == 200, (status, body)
        # Shards publish KPIs within about a second of their last work (kpi/hub.hpp):
        # wait until the KPIs stop moving, and for the first notification.
        deadline = time.time() + 60
        previous = None
        while time.time() < deadline:
            kpis = [line for line in cls.service.metrics().splitlines()
                    if line.startswith("redflag_") and not line.startswith(("redflag_ingest", "redflag_rule_"))]
            if kpis == previous and _Receiver.received > 0:
                break
            previous = kpis
            time.sleep(1.5)
        cls.prometheus = None

    @classmethod
    def tearDownClass(cls):
        if cls.prometheus and cls.prometheus.poll() is None:
            cls.prometheus.terminate()
            cls.prometheus.wait(timeout=20)
        if cls.prometheus:
            cls.prometheus_log.close()
        cls.service.cleanup()
        cls.receiver.shutdown()
        cls.receiver.server_close()
        shutil.rmtree(cls.temp, ignore_errors=True)

    def test_kpis_describe_the_world(self):
        text = self.service.metrics()
        mrr = sum(float(v) for v in re.findall(r"^redflag_mrr\{[^}]*\} (\S+)$", text, re.M))
        arr = sum(float(v) for v in re.findall(r"^redflag_arr\{[^}]*\} (\S+)$", text, re.M))
        self.assertGreater(mrr, 0)
        self.assertAlmostEqual(arr, 12 * mrr, delta=1e-6 * arr)
        accounts = sum(float(v) for v in re.findall(r"^redflag_accounts\{[^}]*\} (\S+)$", text, re.M))
        self.assertEqual(accounts, ACCOUNTS)
        nrr = metric_value(text, "redflag_nrr_ratio")
        grr = metric_value(text, "redflag_grr_ratio")
        self.assertGreater(nrr, 0)
        self.assertLessEqual(grr, 1.0)
        self.assertLessEqual(grr, nrr + 1e-12)
        for category in ("promoter", "passive", "detractor"):
            self.assertIsNotNone(metric_value(text, "redflag_nps_responses", {"category": category}))
        health = sum(value for labels, value in samples(text, "redflag_score") if labels["score"] == "health")
        self.assertEqual(health, ACCOUNTS)

    def test_ratios_from_parts_equal_the_spec_gauges(self):
        """What the board computes from the additive parts with every variable at All is
        the spec's gauge of the whole book; the KPI-side alert count per book adds up to
        the engine's. Alerts move with the service clock, so a few scrapes are allowed
        for the two sides to agree."""
        text = self.service.metrics()

        def total(name, **match):
            return sum(value for labels, value in samples(text, name)
                       if all(labels.get(k) == v for k, v in match.items()))

        def moved(*kinds):
            return sum(total("redflag_mrr_moved_30d", kind=kind) for kind in kinds)

        self.assertAlmostEqual(total("redflag_cohort_arr_now") / total("redflag_cohort_arr_then"),
                               metric_value(text, "redflag_nrr_ratio"), places=9)
        self.assertAlmostEqual(total("redflag_cohort_arr_retained") / total("redflag_cohort_arr_then"),
                               metric_value(text, "redflag_grr_ratio"), places=9)
        self.assertAlmostEqual(total("redflag_accounts_churned_30d") / total("redflag_accounts_active_30d_ago"),
                               metric_value(text, "redflag_logo_churn_ratio"), places=9)
        self.assertAlmostEqual(moved("churn", "contraction") / total("redflag_mrr_30d_ago"),
                               metric_value(text, "redflag_revenue_churn_ratio"), places=9)
        for product in ("backup", "archiving"):
            self.assertAlmostEqual(total("redflag_stack_accounts", product=product) / total("redflag_active_accounts"),
                                   metric_value(text, "redflag_stack_alignment_ratio", {"product": product}), places=9)
        for _ in range(10):
            engine = {(l["rule"], l["severity"]): v for l, v in samples(text, "redflag_alerts") if l["state"] == "firing"}
            book = {}
            for labels, value in samples(text, "redflag_book_alerts"):
                if labels["state"] == "firing":
                    key = (labels["rule"], labels["severity"])
                    book[key] = book.get(key, 0) + value
            engine = {k: v for k, v in engine.items() if v}
            if engine == book:
                break
            time.sleep(1.5)
            text = self.service.metrics()
        self.assertEqual(book, engine)
        self.assertGreater(sum(book.values()), 0)

    def test_every_panel_follows_the_variables_or_says_why(self):
        with open(BOARD) as f:
            board = json.load(f)
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            exprs = [t["expr"] for t in panel["targets"]]
            if all(("$" + v) in e for e in exprs for v in ("csm", "segment", "health_band")):
                continue
            self.assertIn("Not filtered by csm, segment or health_band", panel.get("description", ""), panel["title"])
            self.assertTrue(all("channel" in e for e in exprs), panel["title"])

    def test_acquisition_team_and_cost_to_serve_follow_the_world(self):
        """The families of issue 16 on the generated world: weekly spend per segment,
        CAC from spend and new accounts, cost to serve from minutes, activities and goals;
        the company-level spend is no account (redflag_accounts adds up to the world's)."""
        text = self.service.metrics()

        def total(name, **match):
            return sum(value for labels, value in samples(text, name)
                       if all(labels.get(k) == v for k, v in match.items()))

        spend = {labels["segment"]: value for labels, value in samples(text, "redflag_acquisition_spend_90d")}
        self.assertEqual(set(spend), {"smb", "mid_market", "enterprise"})
        self.assertTrue(all(v > 0 for v in spend.values()), spend)
        new = total("redflag_new_accounts_90d")
        if new:
            self.assertAlmostEqual(metric_value(text, "redflag_cac"), sum(spend.values()) / new, places=6)
        self.assertGreater(total("redflag_cost_to_serve_90d"), 0)
        self.assertAlmostEqual(metric_value(text, "redflag_cost_to_serve_ratio"),
                               total("redflag_cost_to_serve_90d") / (3 * total("redflag_mrr")), places=9)
        self.assertGreater(total("redflag_activities_90d"), 0)
        self.assertGreater(total("redflag_goals"), 0)
        self.assertEqual(total("redflag_accounts"), ACCOUNTS)

    def test_product_led_growth_and_ticket_times_follow_the_world(self):
        """The PLG families and the ticket histograms on the generated world: new accounts
        are activated, some SMB accounts were free, users were active this month, and
        tickets were answered and solved (issue 16)."""
        text = self.service.metrics()

        def total(name, **match):
            return sum(value for labels, value in samples(text, name)
                       if all(labels.get(k) == v for k, v in match.items()))

        activated = total("redflag_activated_accounts")
        self.assertGreater(activated, 0)
        self.assertAlmostEqual(metric_value(text, "redflag_activation_ratio"), activated / ACCOUNTS, places=9)
        self.assertEqual(total("redflag_time_to_activate_seconds_count"), activated)
        free, converted = total("redflag_free_accounts_90d"), total("redflag_free_to_paid_90d")
        self.assertLessEqual(converted, free)
        dau, mau = total("redflag_active_users_1d"), total("redflag_active_users_30d")
        self.assertGreater(mau, 0)
        self.assertLessEqual(dau, mau)
        stickiness = {labels["segment"]: value for labels, value in samples(text, "redflag_stickiness_ratio")}
        for segment, value in stickiness.items():
            self.assertAlmostEqual(value, total("redflag_active_users_1d", segment=segment) /
                                   total("redflag_active_users_30d", segment=segment), places=9)
        self.assertGreater(total("redflag_ticket_first_response_seconds_count"), 0)
        self.assertGreater(total("redflag_ticket_resolution_seconds_count"), 0)
        pql = {labels["label"] for labels, _ in samples(text, "redflag_classification") if labels["name"] == "pql"}
        self.assertTrue(pql, "no redflag_classification of the shipped classify pql")

    def test_promtool_check_metrics_reports_nothing(self):
        text = self.service.metrics()
        # The families of issue 16 are in what promtool checks.
        for name in ("redflag_acquisition_spend_90d", "redflag_new_accounts_90d", "redflag_cac",
                     "redflag_ltv_cac_ratio", "redflag_cac_payback_months", "redflag_cost_to_serve_90d",
                     "redflag_cost_to_serve_ratio", "redflag_activities_90d", "redflag_goals",
                     "redflag_activated_accounts", "redflag_activation_ratio", "redflag_free_accounts_90d",
                     "redflag_free_to_paid_90d", "redflag_free_to_paid_ratio", "redflag_active_users_1d",
                     "redflag_active_users_30d", "redflag_stickiness_ratio"):
            self.assertIn("\n# TYPE %s gauge\n" % name, text)
        for name in ("redflag_time_to_activate_seconds", "redflag_ticket_first_response_seconds",
                     "redflag_ticket_resolution_seconds"):
            self.assertIn("\n# TYPE %s histogram\n" % name, text)
        check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout.decode() + check.stderr.decode())
        self.assertEqual(check.stdout.decode() + check.stderr.decode(), "")

    def start_prometheus(self):
        port = free_port()
        folder = os.path.join(self.temp, "prometheus")
        os.makedirs(folder, exist_ok=True)
        config = os.path.join(folder, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "scrape_configs:\n"
                    "  - job_name: redflag\n"
                    "    static_configs: [{targets: ['127.0.0.1:%d']}]\n" % self.service.port)
        log = open(os.path.join(folder, "prometheus.log"), "wb")
        type(self).prometheus_log = log
        type(self).prometheus = subprocess.Popen(
            ["prometheus", "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(folder, "data"),
             "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
        self.prometheus_port = port
        deadline = time.time() + 60
        while time.time() < deadline:
            self.assertIsNone(self.prometheus.poll(), "prometheus exited")
            try:
                up = self.query("up")
                if up and up[0]["value"][1] == "1":
                    return
            except OSError:
                pass
            time.sleep(0.5)
        self.fail("prometheus never scraped redflag")

    def query(self, expr):
        conn = http.client.HTTPConnection("127.0.0.1", self.prometheus_port, timeout=30)
        try:
            conn.request("GET", "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
            answer = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        if answer.get("status") != "success":
            raise AssertionError("query %r failed: %s" % (expr, answer))
        return answer["data"]["result"]

    def test_every_board_query_returns_data(self):
        self.start_prometheus()
        # rate() and increase() need two samples inside their 1m window.
        time.sleep(5)
        queries = list(board_queries())
        self.assertGreaterEqual(len({title for title, _ in queries}), 12)
        empty = []
        for title, expr in queries:
            if not self.query(concrete(expr)):
                empty.append("%s: %s" % (title, concrete(expr)))
        self.assertEqual(empty, [], "board queries without data:\n" + "\n".join(empty))


class BoardFile(unittest.TestCase):
    """The board imports into any Grafana: its data source is a variable, and its money
    units follow kpi.currency through deploy/grafana/set-currency."""

    def setUp(self):
        with open(BOARD) as f:
            self.board = json.load(f)

    def datasources(self, node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "datasource":
                    yield value
                else:
                    yield from self.datasources(value)
        elif isinstance(node, list):
            for item in node:
                yield from self.datasources(item)

    def test_a_datasource_variable_is_used_by_every_panel_and_variable(self):
        variables = {v["name"]: v for v in self.board["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        found = list(self.datasources(self.board))
        self.assertGreater(len(found), 20)
        for ds in found:
            self.assertEqual(ds, {"type": "prometheus", "uid": "${datasource}"})
        for panel in self.board["panels"]:
            if panel["type"] != "row":
                self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel["title"])

    def units(self, board):
        out = []
        for panel in board["panels"]:
            config = panel.get("fieldConfig", {})
            out.append(config.get("defaults", {}).get("unit"))
            for o in config.get("overrides", []):
                out += [p["value"] for p in o["properties"] if p["id"] == "unit"]
        return [u for u in out if u and u.startswith("currency")]

    def set_currency(self, code):
        p = subprocess.run([os.path.join(SOURCE_DIR, "deploy", "grafana", "set-currency"), code, "-"],
                           input=json.dumps(self.board), capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def test_money_panels_take_the_currency_of_the_config(self):
        shipped = self.units(self.board)
        self.assertGreaterEqual(len(shipped), 9)  # MRR, ARR, movements, renewals, opportunity, LTV...
        self.assertEqual(set(shipped), {"currencyUSD"})
        eur = self.set_currency("eur")
        self.assertEqual(self.units(eur), ["currencyEUR"] * len(shipped))
        # A currency Grafana has no unit for: its custom unit with the code.
        aud = self.set_currency("AUD")
        self.assertEqual(self.units(aud), ["currency:AUD"] * len(shipped))
        # Nothing but units changes.
        self.assertEqual(json.dumps(eur).replace("currencyEUR", "currencyUSD"), json.dumps(self.board))
        self.assertEqual(subprocess.run([os.path.join(SOURCE_DIR, "deploy", "grafana", "set-currency"), "euro"],
                                        capture_output=True).returncode, 2)


if __name__ == "__main__":
    unittest.main()
