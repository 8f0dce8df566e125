// The account page: GET /v1/accounts/{id} (profile, contract, users, tickets, event
// counts), GET /v1/alerts?account= (every alert, with GET /v1/alerts/{id} for its
// history) and GET /v1/accounts/{id}/history drawn with uPlot (npm, ui/package.json).
import { api, el, money, day, band } from "/ui/assets/api.js";

const $ = (id) => document.getElementById(id);
const id = decodeURIComponent(window.location.pathname.replace(/^\/ui\/accounts\//, ""));

function rows(table, list, cells, empty) {
  const body = $(table).tBodies[0];
  body.replaceChildren(...list.map((x) => el("tr", {}, ...cells(x).map((c) =>
    typeof c === "object" && c !== null && c.nodeType ? el("td", {}, c) : el("td", { text: c ?? "–" })))));
  if (!list.length) body.append(el("tr", {}, el("td", { colspan: String($(table).tHead.rows[0].cells.length), text: empty })));
}

function definition(list, term, value) {
  list.append(el("dt", { text: term }), el("dd", {}, value));
}

function alertHistory(a) {
  const parts = (a.transitions || []).map((t) => `${day(t.at)} ${t.from}→${t.to}`);
  for (const k of a.acks || []) parts.push(`${day(k.at)} acknowledged by ${k.by}`);
  return parts.join("; ");
}

let chart = null;
function draw(history, score) {
  const points = history.points || [];
  const comps = new Set();
  for (const p of points) for (const c of Object.keys((p.components || {})[score] || {})) comps.add(c);
  const names = [score, ...[...comps].map((c) => score + "." + c)];
  const xs = points.map((p) => Date.parse(p.day + "T00:00:00Z") / 1000);
  const series = names.map((n, i) => points.map((p) => {
    const v = i === 0 ? (p.scores || {})[score] : ((p.components || {})[score] || {})[n.slice(score.length + 1)];
    return v === undefined || v === null ? null : (i === 0 ? v : 100 * v);
  }));
  const colors = ["#a40000", "#0645ad", "#1d6b1d", "#7a4a00", "#5b2a86", "#00687a"];
  const width = Math.max(280, Math.min(900, $("chart").clientWidth || 600));
  const opts = {
    width, height: 260, scales: { y: { range: [0, 100] } },
    series: [{}, ...names.map((n, i) => ({ label: i === 0 ? n : n + " ×100", stroke: colors[i % colors.length],
                                            width: i === 0 ? 3 : 1.5, points: { show: true } }))],
    axes: [{}, { label: "0–100" }],
  };
  if (chart) chart.destroy();
  $("chart").replaceChildren();
  chart = new window.uPlot(opts, [xs, ...series], $("chart"));
  $("chart").dataset.points = String(xs.length);
  $("chart-note").textContent = xs.length ? `${xs.length} day(s) of ${score}; components scaled ×100.`
                                          : "No history kept yet for this account.";
}

async function load() {
  try {
    const a = await api("GET", "/v1/accounts/" + encodeURIComponent(id));
    const p = a.profile || {};
    $("title").textContent = p.name || id;
    document.title = (p.name || id) + " · Redflag";
    const prof = $("profile");
    definition(prof, "Id", id);
    definition(prof, "CSM", [p.csm, p.csm_email].filter(Boolean).join(" · ") || "–");
    definition(prof, "Segment · plan", [p.segment, p.plan].filter(Boolean).join(" · ") || "–");
    definition(prof, "ARR", money(a.contract.arr));
    definition(prof, "Renewal", day(a.contract.renewal_at));
    definition(prof, "Seats", String(p.seats ?? "–"));
    const scores = a.scores || {};
    for (const [name, s] of Object.entries(scores)) definition(prof, name, el("span", {}, String(s.score ?? "–"), " ", band(s.band)));
    rows("movements", a.contract.movements || [], (m) => [day(m.at), m.kind, money(m.before), money(m.after)], "No movements.");
    rows("users", a.users || [], (u) => [u.name || u.email || u.id, u.role, day(u.last_seen)], "No users.");
    rows("tickets", a.open_tickets || [], (t) => [t.subject, t.priority, day(t.opened_at)], "No open tickets.");
    const counts = (a.event_counts || {}).last_30d || {};
    for (const [type, n] of Object.entries(counts)) if (n) definition($("events"), type + " (30 days)", String(n));

    const all = await api("GET", "/v1/alerts?account=" + encodeURIComponent(id));
    rows("alerts", all.alerts, (x) => [x.rule, x.state + (x.acks && x.acks.length ? " (acknowledged)" : ""),
                                       day(x.started_at), x.message || "", alertHistory(x)], "No alerts.");

    const select = $("score");
    for (const name of Object.keys(scores)) select.append(el("option", { value: name, text: name }));
    if (scores.health) select.value = "health";
    const history = await api("GET", "/v1/accounts/" + encodeURIComponent(id) + "/history");
    draw(history, select.value);
    select.addEventListener("change", () => draw(history, select.value));
  } catch (e) {
    $("status").textContent = "Loading the account failed: " + e.message;
    $("status").className = "status error";
  }
}
load();
