"""GET /v1/accounts against the real binary: each sort's order (arr highest first, health
lowest first, renewal soonest first; accounts without the value last; ties by id), and
walking the pages by cursor gives the whole listing once, in that order, with
total_after_cursor counting what follows each cursor. The shards page their own accounts
first and the service merges those pages, so accounts are spread over both shards.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service  # noqa: E402

RULES = {"health.rules": """
score health {
  component nps weight 1 = avg(nps.score, 90d) / 10
  band green >= 70
  band red
}
"""}
AT = "2026-11-02T09:00:00Z"


def events():
    out = []
    for i in range(23):
        account = "acct-%02d" % i
        out.append({"id": "a%d" % i, "type": "account", "account": account, "name": "Account %d" % i, "at": AT})
        if i % 5 != 4:  # some accounts without a contract: no ARR, no renewal
            out.append({"id": "c%d" % i, "type": "contract", "account": account, "mrr": 100 * (i % 7),
                        "renewal_at": "2027-%02d-01T00:00:00Z" % (1 + i % 6), "status": "active", "at": AT})
        if i % 4 != 3:  # some without an NPS answer: no health score
            out.append({"id": "n%d" % i, "type": "nps", "account": account, "score": i % 11, "at": AT})
    return out


class AccountsList(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service("engine: {threads: 2}\n", rules=RULES)
        status, body = cls.svc.post_events(events())
        assert status == 202, body

    @classmethod
    def tearDownClass(cls):
        cls.svc.cleanup()

    def listing(self, query):
        status, body = self.svc.json("GET", "/v1/accounts?" + query)
        self.assertEqual(status, 200, body)
        return body

    def expected(self, sort):
        whole = self.listing("sort=%s&limit=1000" % sort)["accounts"]
        self.assertEqual(len(whole), 23)
        last = float("inf")

        def key(a):
            if sort == "arr":
                return -a["arr"] if a["arr"] is not None else last
            if sort == "renewal":
                return a["renewal_at"] or "~"  # RFC 3339 texts order as their instants here
            score = a["scores"].get("health", {}).get("score")
            return score if score is not None else last
        return whole, sorted(whole, key=lambda a: (key(a), a["id"]))

    def test_each_sort_orders_the_accounts_and_the_pages_walk_it(self):
        for sort in ("arr", "health", "renewal"):
            whole, ordered = self.expected(sort)
            self.assertEqual([a["id"] for a in whole], [a["id"] for a in ordered], sort)
            walked, cursor, pages = [], None, 0
            while True:
                body = self.listing("sort=%s&limit=4" % sort + ("&cursor=" + cursor if cursor else ""))
                self.assertEqual(body["total_after_cursor"], 23 - len(walked), sort)
                walked += [a["id"] for a in body["accounts"]]
                pages += 1
                cursor = body["next_cursor"]
                if cursor is None:
                    break
                self.assertEqual(len(body["accounts"]), 4)
            self.assertEqual(walked, [a["id"] for a in whole], sort)
            self.assertEqual(pages, 6)

    def test_a_query_filters_before_paging(self):
        body = self.listing("sort=arr&limit=2&q=ACCOUNT%201")  # names "Account 1", "Account 10".."19"
        self.assertEqual(body["total_after_cursor"], 11)
        self.assertEqual(len(body["accounts"]), 2)
        self.assertIsNotNone(body["next_cursor"])


if __name__ == "__main__":
    unittest.main()
