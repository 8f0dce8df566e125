"""Invariants of examples/generate, the seeded CS world generator.

Run: /usr/bin/python3 -m unittest discover -s tests/examples

A small world (40 accounts, 6 months) is generated once into a temporary folder; the
tests read it back and check what events.md demands of every event, what the generator
promises (order, unique ids, reproducibility, no usage while churned) and that
truth.json agrees with the contract events.
"""
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "generate"))

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

TYPES = {"account", "contract", "usage", "user", "ticket", "nps", "csat", "activity", "milestone", "goal", "spend"}
COMMON = {"id", "type", "account", "at"}
FIELDS = {
    "account": {"name", "csm", "csm_email", "segment", "plan", "industry", "status", "seats",
                "employees", "locations", "signed_at", "attributes"},
    "contract": {"mrr", "seats", "products", "renewal_at", "status"},
    "usage": {"metric", "value", "user_id"},
    "user": {"user_id", "email", "name", "role", "active"},
    "ticket": {"ticket_id", "status", "priority", "subject", "handle_minutes", "first_response_at"},
    "nps": {"score", "respondent", "comment"},
    "csat": {"score", "ticket_id", "comment"},
    "activity": {"kind", "by", "note", "minutes"},
    "milestone": {"name", "note"},
    "goal": {"goal_id", "title", "due_at", "status"},
    "spend": {"amount", "category", "segment"},
}
REQUIRED = {"contract": {"mrr"}, "usage": {"metric"}, "user": {"user_id"},
            "ticket": {"ticket_id", "status"}, "nps": {"score"}, "csat": {"score"},
            "activity": {"kind"}, "milestone": {"name"}, "goal": {"goal_id", "status"},
            "spend": {"amount", "category"}}
SMALL = ["--accounts", "40", "--months", "6", "--start", "2026-01-01"]


def run_generator(out, seed, extra=SMALL):
    subprocess.run([sys.executable, GENERATOR, "--seed", str(seed), "--out", out, "--quiet"] + list(extra),
                   check=True, timeout=120)


def parse_time(s):
    return dt.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def validate(e):
    """The problems of one event against spec/events.md (an empty list when valid)."""
    t = e.get("type")
    if t not in TYPES:
        return ["unknown type %r" % t]
    out = []
    if t == "spend":  # company-level: no account
        if "account" in e:
            out.append("spend must not name an account")
    elif not (isinstance(e.get("account"), str) and 1 <= len(e["account"]) <= 200):
        out.append("account must be a string of 1..200 chars")
    extra = set(e) - COMMON - FIELDS[t]
    if extra:
        out.append("fields not in events.md: %s" % sorted(extra))
    for f in REQUIRED.get(t, ()):
        if f not in e:
            out.append("missing %s" % f)

    def s(f):
        if f in e and not (isinstance(e[f], str) and e[f]):
            out.append("%s must be a non-empty string" % f)

    def ts(f):
        if f in e and not (isinstance(e[f], str) and RFC3339_Z.match(e[f])):
            out.append("%s must be an RFC 3339 time" % f)

    def nonneg_int(f):
        if f in e and not (is_int(e[f]) and e[f] >= 0):
            out.append("%s must be an integer >= 0" % f)

    def one_of(f, allowed):
        if f in e and e[f] not in allowed:
            out.append("%s=%r not in %s" % (f, e[f], allowed))

    if t == "account":
        for f in ("name", "csm", "csm_email", "segment", "plan", "industry"):
            s(f)
        one_of("status", ["onboarding", "active", "churned"])
        for f in ("seats", "employees", "locations"):
            nonneg_int(f)
        ts("signed_at")
        if "attributes" in e:
            a = e["attributes"]
            if not isinstance(a, dict) or any(not isinstance(v, (str, int, float, bool)) for v in a.values()):
                out.append("attributes must be an object of string, number or bool")
        one_of("segment", ["smb", "mid_market", "enterprise"])
    elif t == "contract":
        if not (is_num(e.get("mrr")) and e["mrr"] >= 0):
            out.append("mrr must be a number >= 0")
        nonneg_int("seats")
        if "products" in e and not (isinstance(e["products"], list)
                                    and all(isinstance(p, str) and p for p in e["products"])):
            out.append("products must be an array of ids")
        ts("renewal_at")
        one_of("status", ["active", "cancel_requested", "churned"])
    elif t == "usage":
        s("metric")
        if "value" in e and not is_num(e["value"]):
            out.append("value must be a number")
        if "value" in e and is_num(e["value"]) and e["value"] < 0:
            out.append("usage value is negative")
        s("user_id")
    elif t == "user":
        for f in ("user_id", "email", "name", "role"):
            s(f)
        if "active" in e and not isinstance(e["active"], bool):
            out.append("active must be a bool")
    elif t == "ticket":
        s("ticket_id")
        s("subject")
        one_of("status", ["open", "pending", "solved", "closed"])
        one_of("priority", ["low", "normal", "high", "urgent"])
    elif t == "nps":
        if not (is_int(e.get("score")) and 0 <= e["score"] <= 10):
            out.append("nps score must be an integer from 0 to 10")
    elif t == "csat":
        if not (is_int(e.get("score")) and 1 <= e["score"] <= 5):
            out.append("csat score must be an integer from 1 to 5")
    elif t == "activity":
        one_of("kind", ["meeting", "call", "email", "qbr", "training", "note"])
        s("by")
    elif t == "milestone":
        s("name")
    elif t == "goal":
        s("goal_id")
        s("title")
        ts("due_at")
        one_of("status", ["open", "achieved", "missed", "dropped"])
    elif t == "spend":
        if not (is_num(e.get("amount")) and e["amount"] >= 0):
            out.append("spend amount must be a number >= 0")
        s("category")
        s("segment")
    if t == "activity" and "minutes" in e and not (is_num(e["minutes"]) and 0 <= e["minutes"] <= 525600):
        out.append("activity minutes must be a number from 0 to 525600")
    if t == "ticket":
        ts("first_response_at")
        if "handle_minutes" in e and not (is_num(e["handle_minutes"]) and 0 <= e["handle_minutes"] <= 525600):
            out.append("handle_minutes must be a number from 0 to 525600")
    return out


class GeneratedWorld(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="redflag-world-")
        cls.a = os.path.join(cls.tmp, "a")
        run_generator(cls.a, 7)
        with open(os.path.join(cls.a, "events.ndjson"), encoding="utf-8") as f:
            cls.lines = f.read().split("\n")
        assert cls.lines[-1] == "", "file must end with a newline"
        cls.lines = cls.lines[:-1]
        cls.events = [json.loads(line) for line in cls.lines]
        with open(os.path.join(cls.a, "truth.json"), encoding="utf-8") as f:
            cls.truth = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ------------------------------------------------------------ the program
    def test_generator_is_an_executable_python3_script(self):
        self.assertTrue(os.access(GENERATOR, os.X_OK), "examples/generate must be executable")
        with open(GENERATOR, encoding="utf-8") as f:
            self.assertEqual(f.readline().rstrip("\n"), "#!/usr/bin/env python3")

    def test_writes_the_three_files(self):
        for name in ("events.ndjson", "truth.json", "README-world.txt"):
            self.assertTrue(os.path.getsize(os.path.join(self.a, name)) > 0, name)
        self.assertGreater(len(self.events), 1000)

    def test_same_seed_gives_identical_files_and_another_seed_differs(self):
        b = os.path.join(self.tmp, "b")
        c = os.path.join(self.tmp, "c")
        run_generator(b, 7)
        run_generator(c, 8)
        for name in ("events.ndjson", "truth.json", "README-world.txt"):
            self.assertEqual(read_bytes(os.path.join(self.a, name)), read_bytes(os.path.join(b, name)),
                             "%s differs between two runs with seed 7" % name)
        for name in ("events.ndjson", "truth.json"):
            self.assertNotEqual(read_bytes(os.path.join(self.a, name)), read_bytes(os.path.join(c, name)),
                                "%s is the same for seeds 7 and 8" % name)

    def test_bad_arguments_are_refused(self):
        r = subprocess.run([sys.executable, GENERATOR, "--out", os.path.join(self.tmp, "x"),
                            "--start", "2026-13-01"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 2)

    # ------------------------------------------------------------ the stream
    def test_one_json_object_per_line(self):
        for i, line in enumerate(self.lines):
            self.assertTrue(line.startswith("{") and line.endswith("}"), "line %d" % (i + 1))
            self.assertIsInstance(self.events[i], dict)

    def test_ids_are_unique_and_present(self):
        ids = [e.get("id") for e in self.events]
        for i in ids:
            self.assertIsInstance(i, str)
            self.assertTrue(1 <= len(i) <= 200)
        self.assertEqual(len(ids), len(set(ids)))

    def test_events_are_in_time_order_inside_the_world(self):
        times = [e["at"] for e in self.events]
        for s in times:
            self.assertRegex(s, RFC3339_Z)
        # fixed-width UTC timestamps sort as strings
        self.assertEqual(times, sorted(times))
        self.assertGreaterEqual(times[0], "2026-01-01T00:00:00Z")
        self.assertLess(times[-1], "2026-07-01T00:00:00Z")

    def test_every_event_is_valid_per_events_md(self):
        problems = []
        for i, e in enumerate(self.events):
            for p in validate(e):
                problems.append("line %d: %s: %s" % (i + 1, p, self.lines[i][:200]))
        self.assertEqual(problems[:20], [])

    def test_the_world_has_every_kind_of_event(self):
        kinds = {e["type"] for e in self.events}
        self.assertEqual(kinds, TYPES)
        metrics = {e["metric"] for e in self.events if e["type"] == "usage"}
        self.assertTrue({"active_users", "logins"} <= metrics, metrics)
        roles = {e.get("role") for e in self.events if e["type"] == "user"}
        self.assertTrue({"superuser", "admin", "decision_maker", "member"} <= roles, roles)
        self.assertTrue(any(e["type"] == "usage" and "user_id" in e for e in self.events))

    # ------------------------------------------------------------ the model
    def by_account(self):
        out = {}
        for e in self.events:
            if e["type"] != "spend":  # company-level
                out.setdefault(e["account"], []).append(e)
        return out

    def test_every_account_starts_with_its_profile_and_users(self):
        for acc, evs in self.by_account().items():
            self.assertEqual(evs[0]["type"], "account", acc)
            for f in ("name", "csm", "csm_email", "segment", "plan", "status", "seats", "signed_at"):
                self.assertIn(f, evs[0], acc)

    def test_mrr_is_never_negative_and_seats_never_negative(self):
        for e in self.events:
            if e["type"] == "contract":
                self.assertGreaterEqual(e["mrr"], 0, e)
            if "seats" in e:
                self.assertGreaterEqual(e["seats"], 0, e)

    def test_churned_accounts_produce_no_usage_until_reactivated(self):
        seen = 0
        for acc, evs in self.by_account().items():
            churned = False
            for e in evs:
                if e["type"] == "contract":
                    if e["mrr"] == 0 or e.get("status") == "churned":
                        churned = True
                        seen += 1
                    else:
                        churned = False
                elif e["type"] == "usage":
                    self.assertFalse(churned, "usage after churn: %s" % e)
        self.assertGreater(seen, 0, "the small world should hold at least one churn")

    def test_usage_by_user_names_a_known_active_user(self):
        for acc, evs in self.by_account().items():
            users = {}
            for e in evs:
                if e["type"] == "user":
                    users[e["user_id"]] = e.get("active", True)
                elif e["type"] == "usage" and "user_id" in e:
                    self.assertIn(e["user_id"], users, e)
                    self.assertTrue(users[e["user_id"]], "usage by an inactive user: %s" % e)

    def test_every_account_has_a_superuser_and_a_decision_maker(self):
        for acc, evs in self.by_account().items():
            roles = {e.get("role") for e in evs if e["type"] == "user"}
            self.assertIn("superuser", roles, acc)
            self.assertIn("decision_maker", roles, acc)

    def test_tickets_open_before_they_change(self):
        for acc, evs in self.by_account().items():
            first = {}
            for e in evs:
                if e["type"] == "ticket":
                    first.setdefault(e["ticket_id"], e["status"])
            for tid, status in first.items():
                self.assertEqual(status, "open", tid)

    def test_first_responses_follow_the_opening_and_goals_are_due_after_they_are_set(self):
        for acc, evs in self.by_account().items():
            opened, goals = {}, {}
            for e in evs:
                if e["type"] == "ticket":
                    opened.setdefault(e["ticket_id"], e["at"])
                    if "first_response_at" in e:
                        self.assertLessEqual(opened[e["ticket_id"]], e["first_response_at"], e)
                        self.assertLessEqual(e["first_response_at"], e["at"], e)
                if e["type"] == "goal" and e["status"] == "open":
                    self.assertLess(e["at"], e["due_at"], e)
                    goals[e["goal_id"]] = e
        solved = [e for e in self.events if e["type"] == "ticket" and e["status"] == "solved"]
        self.assertTrue(solved and all("handle_minutes" in e for e in solved))
        self.assertTrue(all("minutes" in e for e in self.events if e["type"] == "activity"))
        statuses = {e["status"] for e in self.events if e["type"] == "goal"}
        self.assertEqual(statuses, {"open", "achieved", "missed", "dropped"})

    def test_free_plans_convert_after_activation_and_new_accounts_activate(self):
        converted = free = 0
        for acc, evs in self.by_account().items():
            plans = [(e["at"], e["plan"]) for e in evs if e["type"] == "account" and "plan" in e]
            activated = [e["at"] for e in evs if e["type"] == "milestone" and e["name"] == "activated"]
            first_value = [e["at"] for e in evs if e["type"] == "milestone" and e["name"] == "first_value"]
            self.assertLessEqual(len(activated), 1, acc)
            if activated and first_value:
                self.assertLess(activated[0], first_value[0], acc)
            if plans[0][1] == "free":
                free += 1
                self.assertEqual(evs[0]["segment"], "smb", acc)
                self.assertTrue(activated, acc)
                if len(plans) > 1:
                    converted += 1
                    self.assertNotEqual(plans[1][1], "free", acc)
                    self.assertLess(activated[0], plans[1][0], acc)
        self.assertGreater(free, 0)
        self.assertGreater(converted, 0)

    def test_spend_is_weekly_per_segment_and_category(self):
        spend = [e for e in self.events if e["type"] == "spend"]
        pairs = {(e["segment"], e["category"]) for e in spend}
        self.assertEqual(pairs, {(s, c) for s in ("smb", "mid_market", "enterprise") for c in ("marketing", "sales")})
        weeks = {e["at"][:10] for e in spend}
        self.assertEqual(len(spend), 6 * len(weeks))
        self.assertTrue(all(parse_time(e["at"]).weekday() == 0 for e in spend))
        # 6 months: 25 to 27 Mondays.
        self.assertTrue(25 <= len(weeks) <= 27, len(weeks))

    def test_weekends_are_quieter_than_weekdays(self):
        wk, we = [], []
        for e in self.events:
            if e["type"] == "usage" and e["metric"] == "active_users":
                (we if parse_time(e["at"]).weekday() >= 5 else wk).append(e["value"])
        self.assertLess(sum(we) / len(we), 0.6 * sum(wk) / len(wk))

    # ------------------------------------------------------------ truth.json
    def test_truth_lists_every_account_once(self):
        accs = [a["account"] for a in self.truth["accounts"]]
        self.assertEqual(len(accs), 40)
        self.assertEqual(len(set(accs)), 40)
        self.assertEqual(sorted(accs), sorted(self.by_account()))

    def test_truth_agrees_with_contract_events(self):
        byacc = self.by_account()
        for a in self.truth["accounts"]:
            contracts = [e for e in byacc[a["account"]] if e["type"] == "contract"]
            self.assertTrue(contracts, a["account"])
            self.assertEqual(contracts[0]["mrr"], a["mrr_initial"], a["account"])
            self.assertEqual(contracts[-1]["mrr"], a["mrr_final"], a["account"])
            churns = [e for e in contracts if e["mrr"] == 0 or e.get("status") == "churned"]
            self.assertEqual(a["churned"], bool(churns), a["account"])
            self.assertEqual(a["churned_at"], churns[0]["at"] if churns else None, a["account"])
            self.assertEqual(a["churned"], a["fate"] in ("drift_churn", "silent_churn"), a["account"])
            cancels = [e for e in contracts if e.get("status") == "cancel_requested"]
            self.assertEqual(a["cancel_requested_at"], cancels[0]["at"] if cancels else None)
            if cancels and churns:
                self.assertLess(cancels[0]["at"], churns[0]["at"])
            # movements recomputed from the contract events
            prev, contractions, expansions, reactivated = None, [], [], None
            for e in contracts:
                m = e["mrr"]
                if prev is not None:
                    if prev == 0 and m > 0:
                        reactivated = e["at"]
                    elif 0 < m < prev:
                        contractions.append({"at": e["at"], "mrr_before": prev, "mrr_after": m})
                    elif prev > 0 and m > prev:
                        expansions.append({"at": e["at"], "mrr_before": prev, "mrr_after": m})
                prev = m
            self.assertEqual(a["contractions"], contractions, a["account"])
            self.assertEqual(a["contracted"], bool(contractions), a["account"])
            self.assertEqual(a["expansions"], expansions, a["account"])
            self.assertEqual(a["reactivated_at"], reactivated, a["account"])

    def test_truth_drift_is_well_formed(self):
        known = {"usage_decline", "superuser_quiet", "detractor", "ticket_spike", "owner_change", "silence"}
        fates = {"healthy", "drift_churn", "drift_recovered", "silent_churn"}
        for a in self.truth["accounts"]:
            self.assertIn(a["fate"], fates)
            d = a["drift"]
            if a["fate"] in ("drift_churn", "drift_recovered"):
                self.assertIsNotNone(d, a["account"])
                self.assertTrue(1 <= len(d["patterns"]) <= 2)
                self.assertTrue(set(d["patterns"]) <= known, d["patterns"])
                days = (parse_time(d["end"]) - parse_time(d["start"])).days
                self.assertTrue(45 <= days <= 150, days)
                self.assertEqual(d["recovered"], a["fate"] == "drift_recovered")
                if a["fate"] == "drift_churn":
                    self.assertEqual(d["end"][:10], a["churned_at"][:10])
            else:
                self.assertIsNone(d, a["account"])

    def test_truth_summary_counts_match(self):
        s = self.truth["summary"]
        self.assertEqual(s["events"], len(self.events))
        counts = {}
        for e in self.events:
            counts[e["type"]] = counts.get(e["type"], 0) + 1
        self.assertEqual(s["events_by_type"], {k: counts[k] for k in sorted(counts)})
        self.assertEqual(s["churned"], sum(1 for a in self.truth["accounts"] if a["churned"]))

    def test_onboarding_milestones_only_for_new_signings(self):
        byacc = self.by_account()
        for a in self.truth["accounts"]:
            ms = [e for e in byacc[a["account"]] if e["type"] == "milestone"]
            if a["existing"]:
                self.assertEqual(ms, [], a["account"])
            names = [e["name"] for e in ms if e["name"] == "onboarding_completed"]
            self.assertEqual(bool(names), a["onboarding_completed_at"] is not None, a["account"])


class Validator(unittest.TestCase):
    """The checker itself must catch what events.md forbids."""

    def test_rejects_out_of_range_and_unknown_values(self):
        bad = [
            {"type": "nps", "account": "a", "score": 11},
            {"type": "nps", "account": "a", "score": 7.5},
            {"type": "csat", "account": "a", "score": 0},
            {"type": "ticket", "account": "a", "ticket_id": "t", "status": "new"},
            {"type": "ticket", "account": "a", "ticket_id": "t", "status": "open", "priority": "p1"},
            {"type": "activity", "account": "a", "kind": "lunch"},
            {"type": "account", "account": "a", "status": "paused"},
            {"type": "contract", "account": "a", "mrr": -1},
            {"type": "contract", "account": "a", "status": "active"},
            {"type": "usage", "account": "a"},
            {"type": "user", "account": "a", "user_id": "u", "active": "yes"},
            {"type": "refund", "account": "a"},
            {"type": "milestone", "account": "", "name": "x"},
            {"type": "spend", "account": "a", "amount": 5, "category": "sales"},
            {"type": "spend", "amount": -5, "category": "sales"},
            {"type": "goal", "account": "a", "goal_id": "g", "status": "done"},
            {"type": "activity", "account": "a", "kind": "call", "minutes": -1},
        ]
        for e in bad:
            self.assertNotEqual(validate(e), [], e)
        self.assertEqual(validate({"type": "nps", "account": "a", "score": 0, "at": "2026-01-01T00:00:00Z"}), [])


class HandMadeExample(unittest.TestCase):
    """examples/events.ndjson, the small story for manual tests."""

    def test_example_events_are_valid_sorted_and_unique(self):
        path = os.path.join(HERE, "..", "..", "examples", "events.ndjson")
        with open(path, encoding="utf-8") as f:
            events = [json.loads(line) for line in f if line.strip()]
        self.assertTrue(50 <= len(events) <= 150, len(events))
        problems = [(i + 1, p) for i, e in enumerate(events) for p in validate(e)]
        self.assertEqual(problems, [])
        ids = [e["id"] for e in events]
        self.assertEqual(len(ids), len(set(ids)))
        times = [e["at"] for e in events]
        self.assertEqual(times, sorted(times))
        self.assertTrue(all(t.startswith("2026-") for t in times))
        self.assertTrue(3 <= len({e["account"] for e in events}) <= 5)


if __name__ == "__main__":
    unittest.main()
