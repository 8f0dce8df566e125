// The rule playground: POST /v1/rules/check as you type (diagnostics with line:col),
// "Matches now" (the same with matches: true) and "Backtest" (POST /v1/rules/backtest:
// the outcomes of `redflag replay --outcomes` over the stored events, the candidate's
// rows next to the shipped rules'). Nothing here changes the running rules.
import { api, el, money, accountLink } from "/ui/assets/api.js";

const $ = (id) => document.getElementById(id);
let timer = null;

function showDiagnostics(result) {
  const list = $("diagnostics");
  list.replaceChildren(...(result.diagnostics || []).map((d) =>
    el("li", { class: d.severity === "error" ? "error" : "muted", "data-line": String(d.line), "data-column": String(d.column),
               text: `${d.line}:${d.column}: ${d.severity}: ${d.message}${d.hint ? " (" + d.hint + ")" : ""}` })));
  if (result.error) list.append(el("li", { text: result.error }));
  if (result.ok && !(result.diagnostics || []).length) list.append(el("li", { class: "muted", text: "No problems." }));
}

async function check(matches) {
  const result = await api("POST", "/v1/rules/check", { text: $("rule-text").value, matches });
  showDiagnostics(result);
  return result;
}

function ratio(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%"; }
function num(x, digits) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits); }

$("rule-text").addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => check(false).catch((e) => { $("status").textContent = e.message; }), 300);
});

$("matches-button").addEventListener("click", async () => {
  $("status").textContent = "Evaluating…";
  try {
    const result = await check(true);
    const rows = result.matches || [];
    $("matches").tBodies[0].replaceChildren(...rows.map((m) => el("tr", { "data-account": m.account },
      el("td", { text: m.rule }), el("td", {}, accountLink(m.account, m.name)), el("td", { class: "num", text: money(m.arr) }))));
    if (!rows.length) $("matches").tBodies[0].append(el("tr", {}, el("td", { colspan: "3", text: result.ok ? "No account matches now." : "Fix the rule first." })));
    $("status").textContent = result.ok ? `${rows.length} match(es) now` : "The rule has errors";
  } catch (e) { $("status").textContent = "Checking failed: " + e.message; }
});

$("backtest-button").addEventListener("click", async () => {
  $("status").textContent = "Replaying the stored events…";
  try {
    const checked = await check(false);
    if (!checked.ok) { $("status").textContent = "The rule has errors"; return; }
    const result = await api("POST", "/v1/rules/backtest", { text: $("rule-text").value });
    const mine = new Set(Object.keys(result.flagged || {}));
    const rows = [...result.outcomes.rules, result.outcomes.combined];
    $("backtest").tBodies[0].replaceChildren(...rows.map((r) => el("tr", { "data-rule": r.rule, class: mine.has(r.rule) ? "candidate" : "" },
      el("th", { scope: "row", text: r.rule + (mine.has(r.rule) ? " (this rule)" : "") + (r.lagging ? " (lagging)" : "") }),
      el("td", { class: "num", text: String(r.alerts) }), el("td", { class: "num", text: ratio(r.precision) }),
      el("td", { class: "num", text: ratio(r.recall) }), el("td", { class: "num", text: num(r.median_lead_days, 1) }),
      el("td", { class: "num", text: num(r.alerts_per_account_month, 4) }))));
    const flagged = [];
    for (const [rule, accounts] of Object.entries(result.flagged || {}))
      for (const a of accounts) flagged.push(el("li", {}, rule + ": ", accountLink(a)));
    $("flagged").replaceChildren(...flagged);
    if (!flagged.length) $("flagged").append(el("li", { text: "None." }));
    $("status").textContent = `Replayed ${result.events} stored events`;
  } catch (e) { $("status").textContent = "Backtest failed: " + e.message; }
});

check(false).catch(() => {});
