// The inbox: GET /v1/alerts a page at a time (limit + cursor), filtered and sorted on the
// server; the health band of each row from GET /v1/accounts/{id}; Acknowledge and Snooze
// post to the API with the CSRF token.
import { api, el, money, day, since, band, accountLink } from "/ui/assets/api.js";

const PAGE = 25;
const $ = (id) => document.getElementById(id);
let cursors = [""];  // the cursor of each page shown so far; the last one is the current page's

function query(cursor) {
  const p = new URLSearchParams({ limit: String(PAGE), state: $("state").value, sort: $("sort").value });
  const csm = $("csm").value.trim();
  if ($("mine").checked && csm) p.set("csm", csm);
  for (const k of ["rule", "severity", "segment"]) if ($(k).value.trim()) p.set(k, $(k).value.trim());
  if (cursor) p.set("cursor", cursor);
  return "/v1/alerts?" + p.toString();
}

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = "status" + (isError ? " error" : "");
}

async function healthBand(account) {
  try {
    const a = await api("GET", "/v1/accounts/" + encodeURIComponent(account));
    return a.scores && a.scores.health ? a.scores.health.band : null;
  } catch { return null; }
}

function actor() { return $("csm").value.trim() || "console"; }

function row(a) {
  const health = el("td", { text: "…" });
  healthBand(a.account).then((b) => { health.textContent = ""; health.append(b ? band(b) : "–"); });
  const ack = el("button", { type: "button", text: a.acks && a.acks.length ? "Acknowledged" : "Acknowledge",
                             disabled: a.acks && a.acks.length > 0, "aria-label": "Acknowledge " + a.id });
  ack.addEventListener("click", async () => {
    ack.disabled = true;
    try {
      await api("POST", "/v1/alerts/" + encodeURIComponent(a.id) + "/ack", { by: actor(), comment: "from the console" });
      ack.textContent = "Acknowledged";
      status("Acknowledged " + a.id);
    } catch (e) { ack.disabled = false; status("Acknowledging failed: " + e.message, true); }
  });
  const snooze = el("select", { "aria-label": "Snooze " + a.id },
                    el("option", { value: "", text: "Snooze…" }), el("option", { value: "1d", text: "1 day" }),
                    el("option", { value: "7d", text: "7 days" }));
  snooze.addEventListener("change", async () => {
    if (!snooze.value) return;
    try {
      await api("POST", "/v1/alerts/" + encodeURIComponent(a.id) + "/snooze", { for: snooze.value, by: actor() });
      status("Snoozed " + a.id + " for " + snooze.value);
    } catch (e) { status("Snoozing failed: " + e.message, true); }
    snooze.value = "";
  });
  return el("tr", { "data-alert": a.id },
    el("td", {}, accountLink(a.account, a.account_name), el("div", { class: "muted", text: a.rule + " · " + a.severity + " · " + a.state })),
    el("td", { class: "num", text: money(a.arr) }),
    el("td", { class: "hide-narrow", text: day(a.renewal_at) }),
    health,
    el("td", { text: a.message || a.rule }),
    el("td", { text: since(a.firing_since || a.started_at) }),
    el("td", {}, ack, " ", snooze));
}

async function load() {
  const cursor = cursors[cursors.length - 1];
  status("Loading…");
  try {
    const data = await api("GET", query(cursor));
    const body = $("alerts").tBodies[0];
    body.replaceChildren(...data.alerts.map(row));
    if (!data.alerts.length) body.append(el("tr", {}, el("td", { colspan: "7", text: "Nothing needs attention." })));
    $("next").disabled = !data.next_cursor;
    $("next").dataset.cursor = data.next_cursor || "";
    $("first").disabled = cursors.length === 1;
    status(`${data.alerts.length} alert(s), page ${cursors.length}`);
  } catch (e) { status("Loading alerts failed: " + e.message, true); }
}

$("csm").value = localStorage.getItem("redflag.csm") || "";
$("mine").checked = localStorage.getItem("redflag.mine") === "1";
$("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  localStorage.setItem("redflag.csm", $("csm").value.trim());
  localStorage.setItem("redflag.mine", $("mine").checked ? "1" : "0");
  cursors = [""];
  load();
});
$("next").addEventListener("click", () => { cursors.push($("next").dataset.cursor); load(); });
$("first").addEventListener("click", () => { cursors = [""]; load(); });
load();
