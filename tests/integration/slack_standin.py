"""A Slack Web API stand-in on loopback, following Slack's documented contract.

Slack cannot be reached from the tests, so this server answers the calls Redflag makes
the way Slack documents them, and records what it was sent:

- ``POST /api/chat.postMessage`` (JSON body, ``Authorization: Bearer TOKEN``): HTTP 200
  with ``{"ok": true, "channel": "C...", "ts": "...", "message": {...}}``, or HTTP 200
  with ``{"ok": false, "error": E}`` for ``not_authed`` (no token), ``invalid_auth``
  (another token), ``channel_not_found`` (a channel not in ``channels``, when given),
  ``no_text`` (neither text nor blocks), ``invalid_blocks`` (blocks not a list of objects
  with a type, or beyond Block Kit's limits: more than 50 blocks, a ``block_id`` used
  twice in one message, an ``actions`` block of more than 25 elements). A ``thread_ts``
  is recorded as given (Slack documents no error for it).
- ``GET /api/users.lookupByEmail?email=E`` (bearer): ``{"ok": true, "user": {"id": ...}}``
  or ``{"ok": false, "error": "users_not_found"}``.
- ``POST /api/chat.update`` (JSON body ``{"channel": ID, "ts", "text"?, "blocks"?}``, bearer):
  ``{"ok": true, "channel": ID, "ts": TS, "text": ..., "message": {...}}``; errors
  ``not_authed``/``invalid_auth``, ``channel_not_found`` (not a channel id a message was
  posted to), ``message_not_found`` (no message with that ts in that channel; also for
  ids set with ``forget_message``), ``no_text``, ``invalid_blocks`` (as for chat.postMessage). Successful updates are recorded in
  ``updates`` (``messages`` keeps each message as posted).
- ``GET|POST /api/users.info?user=ID`` (bearer): ``{"ok": true, "user": {"id", "team_id",
  "name", "deleted", "is_bot", "real_name", "profile": {"email", "real_name"}}}`` or
  ``{"ok": false, "error": "user_not_found"}``; the user's email is the one given in
  ``users`` (without ``users:read.email`` Slack leaves ``email`` out: ``hide_emails=True``).
- ``POST /services/T.../B.../X...``: an incoming webhook; ``ok`` (text/plain) or HTTP 400
  ``invalid_payload`` / ``no_text``.
- Rate limits as Slack applies them: ``set_rate_limit(k, seconds)`` answers the next k
  calls with HTTP 429, ``Retry-After: seconds`` and ``{"ok": false, "error": "ratelimited"}``.
- Outages: ``set_down(True)`` answers every call with HTTP 503; ``set_down(True,
  refuse=True)`` closes the listening socket so connections are refused;
  ``set_down(False)`` serves again on the same port.

Use from Python (the standard library only, so Debian's /usr/bin/python3 runs it)::

    from slack_standin import SlackStandIn
    with SlackStandIn(token="xoxb-test", users={"jane@example.com": "U0JANE"}) as slack:
        config = "api_url: %s" % slack.api_url          # for a `type: slack` channel
        ...
        slack.wait_for_messages(1)
        assert slack.messages[0]["channel"] == "#cs-red-flags"

or by hand: ``/usr/bin/python3 tests/integration/slack_standin.py --port 8099``.
"""
import argparse
import copy
import http.server
import json
import socket
import threading
import time
import urllib.parse
import zlib

WEBHOOK_PATH = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


def blocks_valid(blocks):
    """Block Kit's documented limits: a list of at most 50 objects with a type, block_ids
    unique within the message, at most 25 elements in an actions block."""
    if not isinstance(blocks, list) or len(blocks) > 50:
        return False
    if not all(isinstance(b, dict) and b.get("type") for b in blocks):
        return False
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        return False
    return all(len(b.get("elements", [])) <= 25 for b in blocks if b["type"] == "actions")


class SlackStandIn:
    """The server and what it saw. Thread-safe: the server runs on its own threads."""

    def __init__(self, token="xoxb-test", users=None, channels=None, host="127.0.0.1", port=0):
        self.token = token
        self.users = dict(users or {})      # email -> user id
        self.channels = set(channels) if channels is not None else None  # None: every channel exists
        self.host = host
        self.port = port
        self._lock = threading.RLock()  # _handle holds it while _reply records
        self._messages = []          # chat.postMessage calls that succeeded
        self._webhook_messages = []  # incoming-webhook posts that succeeded
        self._lookups = []           # emails asked of users.lookupByEmail
        self._updates = []           # chat.update calls that succeeded
        self._user_infos = []        # user ids asked of users.info
        self._forgotten = set()      # ts of messages chat.update answers message_not_found for
        self.hide_emails = False     # users.info without the users:read.email scope
        self._calls = []             # every request: (method, path, status)
        self._rate_limited_calls = 0
        self._retry_after = 1
        self._down = False
        self._refusing = False
        self._ts_counter = 0
        self._server = None
        self._thread = None
        self._connections = set()  # open client connections, closed by stop() like a real outage

    # ------------------------------------------------------------------ life cycle

    def start(self):
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as libcurl reuses connections

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with standin._lock:
                    standin._connections.add(self.connection)

            def finish(self):
                with standin._lock:
                    standin._connections.discard(self.connection)
                super().finish()

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

        server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="slack-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            with self._lock:
                for connection in list(self._connections):
                    try:
                        connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)

    @property
    def api_url(self):
        """The `api_url` of a `type: slack` channel."""
        return self.base_url + "/api"

    @property
    def webhook_url(self):
        """The `url` of a `type: slack_webhook` channel."""
        return self.base_url + WEBHOOK_PATH

    # ------------------------------------------------------------------ switches

    def set_rate_limit(self, calls, retry_after_seconds=1):
        """Answer the next `calls` requests with HTTP 429 and Retry-After."""
        with self._lock:
            self._rate_limited_calls = calls
            self._retry_after = retry_after_seconds

    def set_down(self, down, refuse=False):
        """Down: HTTP 503 to everything, or (refuse=True) no listening socket at all."""
        with self._lock:
            self._down = down and not refuse
        if down and refuse and not self._refusing:
            self.stop()
            self._refusing = True
        elif not down and self._refusing:
            self._refusing = False
            self.start()  # the same port: allow_reuse_address is set by HTTPServer

    def add_user(self, email, user_id):
        with self._lock:
            self.users[email] = user_id

    # ------------------------------------------------------------------ what it saw

    @property
    def messages(self):
        """Every message posted with chat.postMessage: the request's JSON plus the
        "ts" and "channel_id" it was given."""
        with self._lock:
            return copy.deepcopy(self._messages)

    @property
    def webhook_messages(self):
        with self._lock:
            return copy.deepcopy(self._webhook_messages)

    @property
    def lookups(self):
        with self._lock:
            return list(self._lookups)

    @property
    def updates(self):
        """Every successful chat.update: the request's JSON."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def user_infos(self):
        with self._lock:
            return list(self._user_infos)

    def forget_message(self, ts):
        """Make chat.update of message `ts` answer message_not_found (deleted in Slack)."""
        with self._lock:
            self._forgotten.add(ts)

    def wait_for_updates(self, count, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.updates
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError("expected %d chat.update calls within %ss, got %d" % (count, timeout, len(got)))

    @property
    def calls(self):
        with self._lock:
            return list(self._calls)

    def thread(self, ts):
        """The replies posted in the thread of message `ts`, oldest first."""
        return [m for m in self.messages if m.get("thread_ts") == ts]

    def wait_for_messages(self, count, timeout=10, webhook=False):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.webhook_messages if webhook else self.messages
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError("expected %d Slack messages within %ss, got %d" % (count, timeout, len(got)))

    # ------------------------------------------------------------------ the API

    def _channel_id(self, channel):
        return "C%08X" % (zlib.crc32(channel.encode()) & 0xFFFFFFFF)

    def _handle(self, request, method):
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(request.path)
        with self._lock:
            if self._down:
                return self._reply(request, method, url.path, 503, "text/plain", b"service unavailable")
            if self._rate_limited_calls > 0:
                self._rate_limited_calls -= 1
                return self._reply(request, method, url.path, 429, "application/json",
                                   json.dumps({"ok": False, "error": "ratelimited"}).encode(),
                                   {"Retry-After": str(self._retry_after)})
        if url.path == WEBHOOK_PATH and method == "POST":
            return self._incoming_webhook(request, url.path, body)
        if url.path == "/api/chat.postMessage" and method == "POST":
            return self._post_message(request, url.path, body)
        if url.path == "/api/chat.update" and method == "POST":
            return self._update_message(request, url.path, body)
        if url.path == "/api/users.info":
            query = dict(urllib.parse.parse_qsl(url.query))
            if method == "POST":
                query.update(dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"))))
            return self._user_info(request, method, url.path, query)
        if url.path == "/api/users.lookupByEmail":
            query = dict(urllib.parse.parse_qsl(url.query))
            if method == "POST":
                query.update(dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"))))
            return self._lookup_by_email(request, method, url.path, query)
        if url.path.startswith("/api/"):
            return self._api_error(request, method, url.path, "unknown_method")
        return self._reply(request, method, url.path, 404, "text/plain", b"not found")

    def _reply(self, request, method, path, status, content_type, payload, headers=None):
        with self._lock:
            self._calls.append((method, path, status))
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)

    def _api_ok(self, request, method, path, answer):
        answer = dict(answer, ok=True)
        self._reply(request, method, path, 200, "application/json; charset=utf-8", json.dumps(answer).encode())

    def _api_error(self, request, method, path, error):
        self._reply(request, method, path, 200, "application/json; charset=utf-8",
                    json.dumps({"ok": False, "error": error}).encode())

    def _auth_error(self, request):
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer "):].strip():
            return "not_authed"
        if auth[len("Bearer "):].strip() != self.token:
            return "invalid_auth"
        return None

    def _post_message(self, request, path, body):
        error = self._auth_error(request)
        if error:
            return self._api_error(request, "POST", path, error)
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return self._api_error(request, "POST", path, "invalid_form_data")
        try:
            message = json.loads(body)
        except ValueError:
            return self._api_error(request, "POST", path, "invalid_json")
        if not isinstance(message, dict):
            return self._api_error(request, "POST", path, "json_not_object")
        channel = message.get("channel")
        if not channel or (self.channels is not None and channel not in self.channels):
            return self._api_error(request, "POST", path, "channel_not_found")
        blocks = message.get("blocks")
        if not message.get("text") and not blocks:
            return self._api_error(request, "POST", path, "no_text")
        if blocks is not None and not blocks_valid(blocks):
            return self._api_error(request, "POST", path, "invalid_blocks")
        with self._lock:
            self._ts_counter += 1
            ts = "1700000000.%06d" % (100 * self._ts_counter)
            self._messages.append(dict(message, ts=ts, channel_id=self._channel_id(channel)))
        self._api_ok(request, "POST", path, {
            "channel": self._channel_id(channel), "ts": ts,
            "message": {"type": "message", "subtype": "bot_message", "text": message.get("text", ""),
                        "ts": ts, "blocks": blocks or [], "bot_id": "B0STANDIN"}})

    def _update_message(self, request, path, body):
        error = self._auth_error(request)
        if error:
            return self._api_error(request, "POST", path, error)
        try:
            update = json.loads(body)
        except ValueError:
            return self._api_error(request, "POST", path, "invalid_json")
        if not isinstance(update, dict):
            return self._api_error(request, "POST", path, "json_not_object")
        channel, ts = update.get("channel"), update.get("ts")
        with self._lock:
            posted = [m for m in self._messages if m["channel_id"] == channel]
            if not channel or not posted:
                return self._api_error(request, "POST", path, "channel_not_found")
            target = [m for m in posted if m["ts"] == ts]
            if not ts or not target or ts in self._forgotten:
                return self._api_error(request, "POST", path, "message_not_found")
            if not update.get("text") and not update.get("blocks"):
                return self._api_error(request, "POST", path, "no_text")
            if update.get("blocks") is not None and not blocks_valid(update["blocks"]):
                return self._api_error(request, "POST", path, "invalid_blocks")
            self._updates.append(update)  # `messages` keeps what was posted; `updates` what changed it
        self._api_ok(request, "POST", path, {
            "channel": channel, "ts": ts, "text": update.get("text", ""),
            "message": {"type": "message", "text": update.get("text", ""), "blocks": update.get("blocks", [])}})

    def _user_info(self, request, method, path, query):
        error = self._auth_error(request)
        if error:
            return self._api_error(request, method, path, error)
        user_id = query.get("user")
        if not user_id:
            return self._api_error(request, method, path, "invalid_arguments")
        with self._lock:
            self._user_infos.append(user_id)
            emails = [e for e, uid in self.users.items() if uid == user_id]
        if not emails:
            return self._api_error(request, method, path, "user_not_found")
        name = emails[0].split("@")[0]
        profile = {"real_name": name, "display_name": name}
        if not self.hide_emails:
            profile["email"] = emails[0]
        self._api_ok(request, method, path, {"user": {
            "id": user_id, "team_id": "T0STANDIN", "name": name, "deleted": False, "is_bot": False,
            "real_name": name, "profile": profile}})

    def _lookup_by_email(self, request, method, path, query):
        error = self._auth_error(request)
        if error:
            return self._api_error(request, method, path, error)
        email = query.get("email")
        if not email:
            return self._api_error(request, method, path, "invalid_arguments")
        with self._lock:
            self._lookups.append(email)
            user_id = self.users.get(email)
        if not user_id:
            return self._api_error(request, method, path, "users_not_found")
        self._api_ok(request, method, path, {"user": {
            "id": user_id, "name": email.split("@")[0], "deleted": False, "is_bot": False,
            "profile": {"email": email, "real_name": email.split("@")[0]}}})

    def _incoming_webhook(self, request, path, body):
        try:
            message = json.loads(body)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            return self._reply(request, "POST", path, 400, "text/plain", b"invalid_payload")
        if not message.get("text") and not message.get("blocks"):
            return self._reply(request, "POST", path, 400, "text/plain", b"no_text")
        with self._lock:
            self._webhook_messages.append(message)
        self._reply(request, "POST", path, 200, "text/plain", b"ok")



def urgent_rule(clause):
    """The Slack tests' red flag: an urgent ticket is open, notifying cs_red_flags, with one
    more clause of the test's (such as `resolve silent` or `repeat 2s`)."""
    return """rule urgent_ticket {
  title    "Urgent ticket open"
  when     count(tickets where priority == "urgent") > 0
  severity high
  message  "{account.name}: an urgent ticket is open"
  notify   cs_red_flags
  %s
}
""" % clause


def service_config(api_url, *channel_lines):
    """A service config for the Slack tests: a 1 s tick, the write token `writer`, and the
    channel cs_red_flags (bot token xoxb-test, #cs-red-flags) on the stand-in at `api_url`,
    with `channel_lines` (such as "signing_secret: ...") added to the channel."""
    lines = ["type: slack", "token: xoxb-test", 'channel: "#cs-red-flags"', "api_url: %s" % api_url]
    lines += list(channel_lines)
    return ("engine: {tick: 1s}\napi: {write_tokens: [writer]}\nchannels:\n  cs_red_flags:\n" +
            "".join("    %s\n" % line for line in lines))

def main():
    parser = argparse.ArgumentParser(description="A Slack Web API stand-in on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="xoxb-test")
    parser.add_argument("--user", action="append", default=[], metavar="EMAIL=ID",
                        help="a user users.lookupByEmail finds (repeatable)")
    args = parser.parse_args()
    users = dict(u.split("=", 1) for u in args.user)
    with SlackStandIn(token=args.token, users=users, port=args.port) as slack:
        print("api_url: %s\nwebhook url: %s\ntoken: %s" % (slack.api_url, slack.webhook_url, slack.token),
              flush=True)
        seen = 0
        try:
            while True:
                time.sleep(0.5)
                for m in slack.messages[seen:]:
                    print(json.dumps({k: m.get(k) for k in ("channel", "ts", "thread_ts", "text")}), flush=True)
                seen = len(slack.messages)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
