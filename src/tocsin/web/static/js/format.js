// Shared presentation: level names and colours, dates, small DOM helpers.

// The level table comes with the page from the server (tocsin.core.levels, also served at
// GET /api/v1/levels): ranks, colours and labels are written there and nowhere else.
const TABLE = JSON.parse(document.getElementById("tocsin-levels").textContent);
export const LEVELS = [...TABLE.levels].sort((a, b) => b.rank - a.rank).map((l) => l.level); // red first
export const RANK = Object.fromEntries(TABLE.levels.map((l) => [l.level, l.rank]));
export const COLOURS = Object.fromEntries(TABLE.levels.map((l) => [l.level, l.colour]));
export const LABELS = Object.fromEntries(TABLE.levels.map((l) => [l.level, l.label]));
export const NONE_COLOUR = TABLE.none_colour;

// Risk classes of the composite index (INFORM's five), lightest to darkest; white text on the
// two darkest.
export const RISK_COLOURS = {
  "Very High": "#a8201a", High: "#e0603f", Medium: "#f7a35c", Low: "#fdd189", "Very Low": "#fff1c7",
};
export function riskStyle(cls) {
  const ink = cls === "Very High" || cls === "High" ? "#fff" : "#1b1f24";
  return `background:${RISK_COLOURS[cls] || "#eee"};color:${ink}`;
}

// An element: h("td", {class: "x", dataset: {id: 1}}, "text", child, ...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Fills a detail panel with what `load` fetches, drawn by `draw` (or says why it cannot be
// loaded); draws nothing when `stillWanted()` no longer holds (another was chosen meanwhile).
export async function fillPanel(box, { load, draw, what, stillWanted, focus = true }) {
  let loaded;
  try {
    loaded = await load();
  } catch (err) {
    box.hidden = false;
    box.replaceChildren(h("p", { class: "error" }, `Cannot load ${what}: ${err.message}`));
    return;
  }
  if (!stillWanted()) return;
  box.hidden = false;
  box.replaceChildren(...draw(...loaded));
  if (focus) box.querySelector("h3")?.focus();
}

export function badge(level, text) {
  const lv = level || "none";
  return h("span", { class: `badge lvl-${lv}` }, text ?? (level ? level.toUpperCase() : "none"));
}

// The server's clock, as learnt from /api/v1/web/summary: expiries and ages are computed on it,
// so a browser whose clock is off does not shorten a silence or misstate an age.
let offset = 0;
export function setServerNow(iso) {
  const t = Date.parse(iso);
  if (!Number.isNaN(t)) offset = t - Date.now();
}
export function serverNow() {
  return Date.now() + offset;
}

export function ago(iso, now = serverNow()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  let s = Math.round((now - t) / 1000);
  const future = s < 0;
  s = Math.abs(s);
  const units = [["d", 86400], ["h", 3600], ["min", 60]];
  for (const [u, n] of units) if (s >= n) return `${future ? "in " : ""}${Math.floor(s / n)} ${u}${future ? "" : " ago"}`;
  return future ? "in a moment" : "just now";
}

export function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

export function number(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  return Number(v).toLocaleString("en", { maximumSignificantDigits: digits });
}

const MAX_TOASTS = 3;

export function toast(text) {
  const box = document.getElementById("toasts");
  const el = h("div", { class: "toast" }, text);
  box.append(el);
  while (box.children.length > MAX_TOASTS) box.firstElementChild.remove(); // a storm never stacks them
  setTimeout(() => el.remove(), 6000);
}

export function sortWarnings(list) {
  return [...list].sort(
    (a, b) => (RANK[b.level] - RANK[a.level]) || (Date.parse(a.first_seen_at) - Date.parse(b.first_seen_at)),
  );
}
