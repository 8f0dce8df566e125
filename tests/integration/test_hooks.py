"""Vendor webhooks against the real binary (POST /v1/hooks/{vendor}): each request is
signed here the vendor's documented way with Python's hmac, independently of the C++
adapters; the payloads are the samples of examples/hooks/ with fresh ids and times."""
import base64
import copy
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE_DIR, Service, metric_value, wait_for  # noqa: E402

STRIPE_SECRET = "whsec_it_4eC39HqLyjWDarjtT1zdp7dc"
ZENDESK_SECRET = "zendesk-it-secret"
SEGMENT_SECRET = "segment-it-secret"
HUBSPOT_SECRET = "hubspot-it-client-secret"
DELIGHTED_SECRET = "delighted-it-api-key"

CONFIG = """
adapters:
  stripe:
    secret: %s
    accounts: {cus_PjT3Xc9hQz2kLm: acme}
    products: {prod_PjT2Analytics: analytics, prod_PjT2Platform: platform}
    seat_products: [prod_PjT2Analytics]
  zendesk:
    secret: %s
    accounts: {"10002": acme}
  segment:
    secret: %s
    vendor_ids: true
  hubspot:
    secret: %s
    accounts: {"8793213140": acme}
    owners: {"482915207": {name: Maya Lind, email: maya@ourco.example}}
  delighted:
    secret: %s
""" % (STRIPE_SECRET, ZENDESK_SECRET, SEGMENT_SECRET, HUBSPOT_SECRET, DELIGHTED_SECRET)


def sample(path):
    with open(os.path.join(SOURCE_DIR, "examples", "hooks", path)) as f:
        return json.load(f)


def shipped_rules():
    rules = {}
    for name in ("red_flags.rules", "scores.rules"):
        with open(os.path.join(SOURCE_DIR, "rules", name)) as f:
            rules[name] = f.read()
    return rules


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Hooks:
    """Signs and posts vendor payloads to a running service."""

    def __init__(self, svc):
        self.svc = svc

    def post(self, vendor, body, headers):
        status, _, data = self.svc.request("POST", "/v1/hooks/" + vendor, body,
                                           dict({"Content-Type": "application/json"}, **headers))
        return status, (json.loads(data) if data else None)

    def stripe(self, event, secret=STRIPE_SECRET, t=None):
        body = json.dumps(event)
        t = int(time.time()) if t is None else t
        sig = hmac.new(secret.encode(), ("%d.%s" % (t, body)).encode(), hashlib.sha256).hexdigest()
        return self.post("stripe", body, {"Stripe-Signature": "t=%d,v1=%s" % (t, sig)})

    def zendesk(self, event):
        body = json.dumps(event)
        stamp = iso(time.time())
        sig = base64.b64encode(hmac.new(ZENDESK_SECRET.encode(), (stamp + body).encode(), hashlib.sha256).digest())
        return self.post("zendesk", body, {"X-Zendesk-Webhook-Signature": sig.decode(),
                                           "X-Zendesk-Webhook-Signature-Timestamp": stamp})

    def segment(self, event):
        body = json.dumps(event)
        sig = hmac.new(SEGMENT_SECRET.encode(), body.encode(), hashlib.sha1).hexdigest()
        return self.post("segment", body, {"X-Signature": sig})

    def hubspot(self, events, host):
        body = json.dumps(events)
        ms = str(int(time.time() * 1000))
        uri = "http://%s/v1/hooks/hubspot" % host
        sig = base64.b64encode(hmac.new(HUBSPOT_SECRET.encode(), ("POST" + uri + body + ms).encode(),
                                        hashlib.sha256).digest())
        return self.post("hubspot", body, {"X-HubSpot-Signature-v3": sig.decode(), "X-HubSpot-Request-Timestamp": ms,
                                           "Host": host})

    def delighted(self, event):
        body = json.dumps(event)
        sig = hmac.new(DELIGHTED_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
        return self.post("delighted", body, {"X-Delighted-Webhook-Signature": "sha256=" + sig})


def stripe_event(path, created):
    e = sample(path)
    e["id"] = "evt_it_" + uuid.uuid4().hex[:16]
    e["created"] = created
    return e


def zendesk_ticket(ticket, priority="URGENT", status="NEW", kind="created"):
    e = sample("zendesk/ticket.created.json")
    e["id"] = str(uuid.uuid4())
    e["type"] = "zen:event-type:ticket." + kind
    e["time"] = iso(time.time() - 60)
    e["detail"].update(id=str(ticket), priority=priority, status=status, updated_at=e["time"])
    e["subject"] = "zen:ticket:%s" % ticket
    return e


class VendorHooks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(CONFIG, rules=shipped_rules())
        cls.hooks = Hooks(cls.svc)
        now = int(time.time())
        # The account exists with a name, as a CRM would have made it.
        status, _ = cls.svc.post_events({"type": "account", "account": "acme", "name": "Acme Corp", "at": iso(now - 4 * 3600)})
        assert status == 202

    @classmethod
    def tearDownClass(cls):
        cls.svc.cleanup()

    def metric(self, name, **labels):
        return metric_value(self.svc.metrics(), name, labels) or 0

    def account(self):
        status, body = self.svc.json("GET", "/v1/accounts/acme")
        self.assertEqual(status, 200, body)
        return body

    def test_stripe_created_raised_cancelled(self):
        now = int(time.time())
        expansion0 = self.metric("redflag_mrr_movement_total", kind="expansion")
        churn0 = self.metric("redflag_mrr_movement_total", kind="churn")
        created = stripe_event("stripe/customer.subscription.created.json", now - 3 * 3600)
        self.assertEqual(self.hooks.stripe(created), (200, {"accepted": 1, "duplicates": 0, "ignored": 0}))
        body = self.account()
        self.assertEqual(body["contract"]["mrr"], 700, body["contract"])
        raised = stripe_event("stripe/customer.subscription.updated.json", now - 2 * 3600)
        self.assertEqual(self.hooks.stripe(raised)[0], 200)
        self.assertEqual(self.account()["contract"]["mrr"], 1000)
        self.assertEqual([(m["kind"], m["before"], m["after"]) for m in self.account()["contract"]["movements"]][-2:],
                         [("new", 0, 700), ("expansion", 700, 1000)])
        # Shards publish their KPI aggregates on their own schedule: wait for the scrape.
        self.assertEqual(wait_for(lambda: self.metric("redflag_mrr_movement_total", kind="expansion") - expansion0 == 300,
                                  timeout=30), True)
        gone = stripe_event("stripe/customer.subscription.deleted.json", now - 3600)
        self.assertEqual(self.hooks.stripe(gone)[0], 200)
        body = self.account()
        self.assertEqual(body["contract"]["mrr"], 0)
        self.assertEqual(body["profile"]["status"], "churned", body["profile"])
        self.assertEqual(wait_for(lambda: self.metric("redflag_mrr_movement_total", kind="churn") - churn0 == 1000,
                                  timeout=30), True)
        # A redelivery of the same Stripe event is a duplicate, and counted as one.
        dup0 = self.metric("redflag_hook_events_total", vendor="stripe", outcome="duplicate")
        self.assertEqual(self.hooks.stripe(gone), (200, {"accepted": 0, "duplicates": 1, "ignored": 0}))
        self.assertEqual(self.metric("redflag_hook_events_total", vendor="stripe", outcome="duplicate") - dup0, 1)
        # Re-activate, so the other tests see a live account.
        back = stripe_event("stripe/customer.subscription.created.json", now - 1800)
        back["data"]["object"]["id"] = "sub_it_back"
        self.assertEqual(self.hooks.stripe(back)[0], 200)

    def test_stripe_refusals_store_nothing(self):
        now = int(time.time())
        event = stripe_event("stripe/customer.subscription.created.json", now)
        event["data"]["object"]["customer"] = "cus_refused_one"
        accepted0 = self.metric("redflag_events_ingested_total", type="contract", outcome="accepted")
        status, body = self.post_raw("stripe", json.dumps(event), {})
        self.assertEqual(status, 401, body)
        self.assertEqual(self.hooks.stripe(event, secret="whsec_wrong")[0], 401)
        self.assertEqual(self.hooks.stripe(event, t=now - 600)[0], 401)  # stale: 10 minutes old
        broken = copy.deepcopy(event)
        del broken["data"]["object"]["items"]["data"][0]["quantity"]
        status, body = self.hooks.stripe(broken)
        self.assertEqual(status, 400, body)
        self.assertEqual(body["field"], "data.object.items.data[0].quantity")
        status, body = self.post_raw("stripe", "{not json", {"Stripe-Signature": "t=%d,v1=%s" % (
            now, hmac.new(STRIPE_SECRET.encode(), ("%d.{not json" % now).encode(), hashlib.sha256).hexdigest())})
        self.assertEqual(status, 400, body)
        self.assertEqual(self.metric("redflag_events_ingested_total", type="contract", outcome="accepted"), accepted0)
        self.assertGreaterEqual(self.metric("redflag_hook_events_total", vendor="stripe", outcome="unauthorized"), 3)
        # An unmapped customer: kept by Stripe's retries until a mapping exists.
        status, body = self.hooks.stripe(event)
        self.assertEqual(status, 503, body)
        self.assertEqual(body["unmatched"], [{"vendor": "stripe", "kind": "customer", "id": "cus_refused_one"}])
        # An event type we do not map is acknowledged and counted.
        ignored0 = self.metric("redflag_hook_events_total", vendor="stripe", outcome="ignored")
        invoice = stripe_event("stripe/invoice.paid.json", now)
        self.assertEqual(self.hooks.stripe(invoice), (200, {"accepted": 0, "duplicates": 0, "ignored": 1}))
        self.assertEqual(self.metric("redflag_hook_events_total", vendor="stripe", outcome="ignored") - ignored0, 1)

    def post_raw(self, vendor, body, headers):
        return self.hooks.post(vendor, body, headers)

    def test_zendesk_ticket_storm_fires_support_overload(self):
        for n in range(3):
            status, body = self.hooks.zendesk(zendesk_ticket(77000 + n))
            self.assertEqual(status, 200, body)
        alerts = wait_for(lambda: self.svc.json("GET", "/v1/alerts?state=firing&rule=support_overload&account=acme")[1]
                          ["alerts"])
        self.assertEqual(len(alerts), 1, alerts)
        self.assertIn("3 urgent tickets opened in 14 days", alerts[0]["message"])
        # The same ticket solved: the update lands on the ticket.
        status, _ = self.hooks.zendesk(zendesk_ticket(77000, status="SOLVED", kind="status_changed"))
        self.assertEqual(status, 200)
        tickets = {t["id"]: t for t in self.account()["open_tickets"]}
        self.assertNotIn("77000", tickets)
        self.assertIn("77001", tickets)

    def test_segment_hubspot_and_delighted_land_on_the_account(self):
        track = sample("segment/track.json")
        track["messageId"] = "ajs-it-" + uuid.uuid4().hex
        track["timestamp"] = iso(time.time() - 120)
        self.assertEqual(self.hooks.segment(track)[0], 200)
        group = sample("segment/group.json")
        group["messageId"] = "ajs-it-" + uuid.uuid4().hex
        group["timestamp"] = iso(time.time() - 110)
        self.assertEqual(self.hooks.segment(group)[0], 200)
        changes = sample("hubspot/company.propertyChange.json")
        for i, c in enumerate(changes):
            c["eventId"] = int(time.time() * 1000) + i
            c["occurredAt"] = int(time.time() * 1000) - 100_000 + i
        status, body = self.hooks.hubspot(changes, "127.0.0.1:%d" % self.svc.port)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["accepted"], body["ignored"]), (4, 2))
        answer = sample("delighted/survey_response.created.json")
        answer["event_data"]["id"] = "it-" + uuid.uuid4().hex[:8]
        answer["event_data"]["created_at"] = int(time.time()) - 90
        self.assertEqual(self.hooks.delighted(answer)[0], 200)
        profile = self.account()["profile"]
        self.assertEqual(profile["csm"], "Maya Lind")
        self.assertEqual(profile["csm_email"], "maya@ourco.example")
        self.assertEqual(profile["segment"], "Enterprise")
        self.assertEqual(profile["plan"], "Enterprise")
        self.assertEqual(self.metric("redflag_events_ingested_total", type="nps", outcome="accepted") >= 1, True)

    def test_unconfigured_vendor_is_404(self):
        status, body = self.hooks.post("intercom", "{}", {})
        self.assertEqual(status, 404, body)


class Durability(unittest.TestCase):
    def test_kill_9_after_200_loses_no_hook(self):
        with Service(CONFIG, rules=shipped_rules()) as svc:
            hooks = Hooks(svc)
            sent = []
            for n in range(20):
                e = zendesk_ticket(88000 + n, priority="LOW")
                self.assertEqual(hooks.zendesk(e)[0], 200)
                sent.append(e)
            svc.kill9()
            svc.start()
            status, body = svc.json("GET", "/v1/accounts/acme")
            self.assertEqual(status, 200, body)
            open_ids = {t["id"] for t in body["open_tickets"]}
            self.assertEqual(open_ids, {str(88000 + n) for n in range(20)})
            # Redelivered after the restart: all duplicates.
            self.assertEqual(hooks.zendesk(sent[0]), (200, {"accepted": 0, "duplicates": 1, "ignored": 0}))


class Config(unittest.TestCase):
    def test_an_adapter_without_a_secret_is_refused_at_start(self):
        svc = Service("adapters:\n  stripe:\n    products: {}\n", expect_start=False)
        try:
            code, log = svc.run_until_exit()
            self.assertEqual(code, 2, log)
            self.assertRegex(log, r"redflag\.yaml:\d+:\d+: adapters\.stripe needs a secret")
        finally:
            svc.cleanup()
        svc = Service("adapters:\n  stripe: {insecure: true}\n")
        try:
            self.assertEqual(svc.request("GET", "/readyz")[0], 200)
        finally:
            svc.cleanup()


if __name__ == "__main__":
    unittest.main()
