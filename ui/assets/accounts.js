// The accounts list: GET /v1/accounts (search, sort, pages) and the value/effort
// scatter of the page's accounts drawn with uPlot, one series per health band.
import { api, el, money, day, band, accountLink } from "/ui/assets/api.js";

const $ = (id) => document.getElementById(id);
let cursors = [""];
let plot = null;

const BAND_COLORS = { green: "#1d6b1d", yellow: "#b36b00", red: "#a40000", unknown: "#555555" };

function scoreOf(a, name) { return a.scores && a.scores[name] ? a.scores[name] : { score: null, band: "unknown" }; }

function scatter(accounts) {
  const pts = accounts.map((a) => ({ a, x: scoreOf(a, "effort").score, y: a.arr, band: scoreOf(a, "health").band }))
                      .filter((p) => p.x !== null && p.x !== undefined)
                      .sort((p, q) => p.x - q.x);
  const bands = [...new Set(pts.map((p) => p.band))];
  const data = [pts.map((p) => p.x), ...bands.map((b) => pts.map((p) => (p.band === b ? p.y : null)))];
  const width = Math.max(280, Math.min(900, $("scatter").clientWidth || 600));
  if (plot) plot.destroy();
  $("scatter").replaceChildren();
  plot = new window.uPlot({
    width, height: 300, mode: 1,
    scales: { x: { time: false } },
    axes: [{ label: "effort" }, { label: "ARR" }],
    series: [{ label: "effort" }, ...bands.map((b) => ({ label: "health " + b, stroke: BAND_COLORS[b] || "#333",
                                                        paths: () => null, points: { show: true, size: 9, fill: BAND_COLORS[b] || "#333" } }))],
    cursor: { points: { size: 12 } },
  }, data, $("scatter"));
  $("scatter").dataset.points = String(pts.length);
  plot.over.addEventListener("click", () => {
    const i = plot.cursor.idx;
    if (i !== null && i !== undefined && pts[i]) window.location.assign("/ui/accounts/" + encodeURIComponent(pts[i].a.id));
  });
}

async function load() {
  const p = new URLSearchParams({ sort: $("sort").value, limit: "50" });
  if ($("q").value.trim()) p.set("q", $("q").value.trim());
  const cursor = cursors[cursors.length - 1];
  if (cursor) p.set("cursor", cursor);
  $("status").textContent = "Loading…";
  try {
    const data = await api("GET", "/v1/accounts?" + p.toString());
    const body = $("accounts").tBodies[0];
    body.replaceChildren(...data.accounts.map((a) => el("tr", { "data-account": a.id },
      el("td", {}, accountLink(a.id, a.name)), el("td", { class: "num", text: money(a.arr) }),
      el("td", {}, String(scoreOf(a, "health").score ?? "–"), " ", band(scoreOf(a, "health").band)),
      el("td", { class: "hide-narrow", text: String(scoreOf(a, "effort").score ?? "–") }),
      el("td", { text: day(a.renewal_at) }), el("td", { class: "hide-narrow", text: a.csm || a.csm_email || "–" }))));
    if (!data.accounts.length) body.append(el("tr", {}, el("td", { colspan: "6", text: "No accounts match." })));
    $("next").disabled = !data.next_cursor;
    $("next").dataset.cursor = data.next_cursor || "";
    $("first").disabled = cursors.length === 1;
    $("status").textContent = `${data.accounts.length} account(s), page ${cursors.length}`;
    scatter(data.accounts);
  } catch (e) { $("status").textContent = "Loading accounts failed: " + e.message; $("status").className = "status error"; }
}

$("search").addEventListener("submit", (ev) => { ev.preventDefault(); cursors = [""]; load(); });
$("next").addEventListener("click", () => { cursors.push($("next").dataset.cursor); load(); });
$("first").addEventListener("click", () => { cursors = [""]; load(); });
load();
