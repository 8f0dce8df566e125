"""Vendor events of customers no account is known for yet, against the real binary: kept
(200, listed at GET /v1/hooks/unmatched, counted), applied in their own time order once an
account event's external_ids maps the customer (through POST /v1/events or a vendor hook),
and nothing lost to a kill -9 in between."""
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, metric_value, wait_for  # noqa: E402
from test_hooks import STRIPE_SECRET, Hooks, iso, stripe_event  # noqa: E402

CONFIG = """
adapters:
  stripe:
    secret: %s
    products: {prod_PjT2Analytics: analytics, prod_PjT2Platform: platform}
    seat_products: [prod_PjT2Analytics]
""" % STRIPE_SECRET


def subscription(path, customer, created):
    e = stripe_event(path, created)
    e["data"]["object"]["customer"] = customer
    return e


class Unmatched(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(CONFIG)
        cls.hooks = Hooks(cls.svc)

    @classmethod
    def tearDownClass(cls):
        cls.svc.cleanup()

    def metric(self, name, **labels):
        return metric_value(self.svc.metrics(), name, labels) or 0

    def waiting(self, query=""):
        status, body = self.svc.json("GET", "/v1/hooks/unmatched" + query)
        self.assertEqual(status, 200, body)
        return body

    def mrr(self, account):
        status, body = self.svc.json("GET", "/v1/accounts/" + account)
        return body["contract"]["mrr"] if status == 200 and body.get("contract") else None

    def test_waiting_events_apply_in_time_order_once_external_ids_map_the_customer(self):
        customer = "cus_it_" + uuid.uuid4().hex[:10]
        account = "acct-" + customer
        now = int(time.time())
        counted0 = self.metric("redflag_hook_events_total", vendor="stripe", outcome="unmatched")
        # The raise arrives before the creation: both wait, and apply in their own order.
        raised = subscription("stripe/customer.subscription.updated.json", customer, now - 2 * 3600)
        created = subscription("stripe/customer.subscription.created.json", customer, now - 3 * 3600)
        for e in (raised, created):
            self.assertEqual(self.hooks.stripe(e), (200, {"accepted": 0, "duplicates": 0, "ignored": 0, "unmatched": 1}))
        # A redelivery while waiting is not stored twice.
        self.assertEqual(self.hooks.stripe(raised)[1]["unmatched"], 1)
        listed = [e for e in self.waiting("?vendor=stripe")["unmatched"] if e["customer"] == customer]
        self.assertEqual([(e["vendor"], e["type"], e["id"]) for e in listed],
                         [("stripe", "contract", "stripe:" + created["id"]), ("stripe", "contract", "stripe:" + raised["id"])])
        self.assertEqual(listed[0]["at"], iso(now - 3 * 3600))
        self.assertIn("received_at", listed[0])
        self.assertEqual(self.metric("redflag_hook_events_total", vendor="stripe", outcome="unmatched") - counted0, 3)
        self.assertGreaterEqual(self.metric("redflag_hook_unmatched_events"), 2)
        self.assertEqual(self.svc.json("GET", "/v1/accounts/" + account)[0], 404)

        status, body = self.svc.post_events({"type": "account", "account": account, "name": "Late Co",
                                             "external_ids": {"stripe": customer}, "at": iso(now - 4 * 3600)})
        self.assertEqual(status, 202, body)
        self.assertTrue(wait_for(lambda: self.mrr(account) == 1000, timeout=20), self.mrr(account))
        status, body = self.svc.json("GET", "/v1/accounts/" + account)
        self.assertEqual([(m["kind"], m["before"], m["after"]) for m in body["contract"]["movements"]],
                         [("new", 0, 700), ("expansion", 700, 1000)])
        self.assertTrue(wait_for(lambda: not [e for e in self.waiting()["unmatched"] if e["customer"] == customer]))
        # Redelivered now: the index resolves it, and it is a duplicate.
        self.assertEqual(self.hooks.stripe(created), (200, {"accepted": 0, "duplicates": 1, "ignored": 0, "unmatched": 0}))

    def test_a_stripe_customer_named_by_its_metadata_maps_the_customer(self):
        customer = "cus_it_" + uuid.uuid4().hex[:10]
        account = "meta-" + customer
        now = int(time.time())
        created = subscription("stripe/customer.subscription.created.json", customer, now - 600)
        self.assertEqual(self.hooks.stripe(created)[1]["unmatched"], 1)
        named = stripe_event("stripe/customer.updated.json", now - 300)
        named["data"]["object"]["id"] = customer
        named["data"]["object"]["metadata"] = {"redflag_account": account}
        self.assertEqual(self.hooks.stripe(named)[0], 200)
        self.assertTrue(wait_for(lambda: self.mrr(account) == 700, timeout=20), self.mrr(account))

    def test_listing_refuses_bad_parameters(self):
        self.assertEqual(self.svc.json("GET", "/v1/hooks/unmatched?limit=0")[0], 400)
        self.assertEqual(self.svc.json("GET", "/v1/hooks/unmatched?limit=x")[0], 400)
        self.assertEqual(self.svc.json("GET", "/v1/hooks/unmatched?color=red")[0], 400)
        self.assertEqual(self.waiting("?vendor=zendesk")["unmatched"], [])


class UnmatchedDurability(unittest.TestCase):
    def test_kill_9_between_the_200_and_the_mapping_loses_nothing(self):
        with Service(CONFIG) as svc:
            hooks = Hooks(svc)
            now = int(time.time())
            created = subscription("stripe/customer.subscription.created.json", "cus_it_crash", now - 600)
            self.assertEqual(hooks.stripe(created)[1]["unmatched"], 1)
            svc.kill9()
            svc.start()
            status, body = svc.json("GET", "/v1/hooks/unmatched")
            self.assertEqual([e["customer"] for e in body["unmatched"]], ["cus_it_crash"], body)
            self.assertEqual(metric_value(svc.metrics(), "redflag_hook_unmatched_events", {}), 1)
            status, body = svc.post_events({"type": "account", "account": "crash-co",
                                            "external_ids": {"stripe": "cus_it_crash"}})
            self.assertEqual(status, 202, body)

            def mrr():
                status, body = svc.json("GET", "/v1/accounts/crash-co")
                return body["contract"]["mrr"] if status == 200 and body.get("contract") else None
            self.assertTrue(wait_for(lambda: mrr() == 700, timeout=20), mrr())
            self.assertTrue(wait_for(lambda: svc.json("GET", "/v1/hooks/unmatched")[1]["unmatched"] == []))
            # The mapping survives a crash too: a redelivery resolves and is a duplicate.
            svc.kill9()
            svc.start()
            self.assertEqual(hooks.stripe(created), (200, {"accepted": 0, "duplicates": 1, "ignored": 0, "unmatched": 0}))


if __name__ == "__main__":
    unittest.main()
