// The console's one way to the JSON API: same origin, the session cookie goes along; a
// request that changes state sends the CSRF token (the cookie redflag_csrf, double submit);
// a 401 sends the browser to the sign-in page.
function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)redflag_csrf=([^;]*)/);
  return m ? m[1] : "";
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, credentials: "same-origin",
                                  body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) { window.location.assign("/ui/login"); throw new ApiError(401, "not signed in"); }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || res.statusText);
  return data;
}

// Text into an element, never HTML: data from events is untrusted.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

export function money(n) {
  if (n === null || n === undefined || n === "") return "–";
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: 0 });
}

export function day(t) { return t ? String(t).slice(0, 10) : "–"; }

// "3d 4h" since an RFC 3339 instant.
export function since(t) {
  if (!t) return "–";
  let s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m`;
}

export function band(name) {
  const b = name || "unknown";
  return el("span", { class: "band band-" + b.replace(/[^a-z_]/gi, ""), text: b });
}

export function accountLink(id, name) {
  return el("a", { href: "/ui/accounts/" + encodeURIComponent(id), text: name || id });
}
