// The warning board: open warnings by level and age, filters, and one warning's detail with
// its explanation, history, acknowledgement and silence.

import { HttpError, get, post } from "./api.js";
import { ago, badge, fillPanel, h, number, serverNow, sortWarnings, toast, when } from "./format.js";

// A page of warnings at a time: a storm of 10,000 open warnings is 50 pages, never 10,000 rows.
export const PAGE = 200;

let rows = [];
let offset = 0; // where the page shown starts, in the server's order
let more = false; // whether a next page exists
let known = new Set();
let current = null; // the id of the warning shown in detail
let onNavigate = () => {};
let regionNames = {};

const whole = (n) => n.toLocaleString("en");

export function init({ navigate }) {
  onNavigate = navigate;
  const form = document.getElementById("filters");
  form.addEventListener("change", () => firstPage());
  form.addEventListener("input", (e) => { if (e.target.id === "f-region") refreshSoon(); });
  form.addEventListener("reset", () => setTimeout(() => firstPage(), 0));
  form.addEventListener("submit", (e) => { e.preventDefault(); firstPage(); });
  document.getElementById("page-prev").addEventListener("click", () => turn(-1));
  document.getElementById("page-next").addEventListener("click", () => turn(1));
  const body = document.querySelector("#board tbody");
  body.addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-id]");
    if (tr && !e.target.closest("button")) onNavigate(`#/board/${tr.dataset.id}`);
  });
  body.addEventListener("keydown", (e) => {
    const tr = e.target.closest("tr[data-id]");
    if (tr && e.key === "Enter" && e.target === tr) onNavigate(`#/board/${tr.dataset.id}`);
  });
}

export function setCatalog({ domains, regions }) {
  const select = document.getElementById("f-domain");
  for (const d of domains) select.append(h("option", { value: d.code }, `${d.name} (${d.code})`));
  regionNames = Object.fromEntries(regions.map((r) => [r.code, r.name]));
}

let timer = null;
function refreshSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => firstPage(), 250);
}

function firstPage() {
  offset = 0;
  return refresh();
}

// Previous (-1) or next (+1) page.
export function turn(step) {
  if (step > 0 && !more) return Promise.resolve();
  offset = Math.max(0, offset + step * PAGE);
  return refresh();
}

function filters() {
  const form = document.getElementById("filters");
  const levels = [...form.querySelectorAll('input[name="level"]:checked')].map((i) => i.value);
  let region = document.getElementById("f-region").value.trim();
  const byName = Object.entries(regionNames).find(([, n]) => n.toLowerCase() === region.toLowerCase());
  if (byName) region = byName[0];
  if (region && !(region in regionNames)) region = "";
  return {
    level: levels, domain: document.getElementById("f-domain").value || undefined,
    region: region || undefined, state: document.getElementById("f-state").value,
    limit: PAGE + 1, offset, // one more than a page tells whether a next page exists
  };
}

let asked = 0; // refreshes started; only the latest one's answer is shown

export async function refresh({ highlight = false } = {}) {
  const ticket = ++asked;
  const page = await get("/api/v1/warnings", filters());
  if (ticket !== asked) return; // a later refresh (another page, another filter) is on its way
  more = page.length > PAGE;
  const found = sortWarnings(page.slice(0, PAGE));
  const fresh = highlight ? new Set(found.filter((w) => !known.has(`${w.id}:${w.level}:${w.state}`)).map((w) => w.id)) : new Set();
  rows = found;
  refreshSilences();
  known = new Set(found.map((w) => `${w.id}:${w.level}:${w.state}`));
  render(fresh);
  if (current) await showDetail(current, { quiet: true });
}

// Show the region names, once the catalogue has come (the rows show codes until then); a region
// typed into the filter before it came is applied now.
export function rename() {
  if (document.getElementById("f-region").value.trim()) return firstPage();
  render(new Set());
  return Promise.resolve();
}

function render(fresh) {
  const body = document.querySelector("#board tbody");
  const focused = document.activeElement?.closest?.("tr[data-id]")?.dataset.id;
  body.replaceChildren(...rows.map((w) => row(w, fresh.has(w.id))));
  document.getElementById("board-empty").hidden = rows.length > 0;
  const count = document.getElementById("board-count");
  count.textContent = offset === 0 && !more
    ? `${rows.length} warning${rows.length === 1 ? "" : "s"}`
    : `warnings ${whole(offset + 1)}–${whole(offset + rows.length)}${more ? " of more" : ""}`;
  const pager = document.getElementById("board-pager");
  pager.hidden = offset === 0 && !more;
  pager.dataset.offset = String(offset);
  document.getElementById("page-prev").disabled = offset === 0;
  document.getElementById("page-next").disabled = !more;
  document.getElementById("page-at").textContent = `page ${whole(offset / PAGE + 1)}`;
  if (focused) body.querySelector(`tr[data-id="${focused}"]`)?.focus();
}

// an indicator's warning names the rules that hold it ("threshold + detector"), others their source
function sources(w) {
  const rules = Object.keys(w.cause?.rules || {});
  return rules.length ? rules.join(" + ") : w.source;
}

// each rule that holds the warning's level (threshold, detector), with its level and reason
function causes(w) {
  const all = Object.entries(w.explanation?.causes || {});
  if (!all.length) return null;
  return h("section", {}, h("h4", {}, all.length > 1 ? "Causes" : "Rule"), h("ul", { class: "causes" },
    all.map(([rule, c]) => h("li", { dataset: { rule } }, badge(c.level), " ", h("strong", {}, rule), " ", c.reason || ""))));
}

function row(w, isFresh) {
  const name = w.explanation?.name || w.subject;
  return h("tr", {
    tabindex: "0", class: isFresh ? "fresh" : null,
    dataset: { id: w.id, level: w.level, state: w.state },
    "aria-selected": w.id === current ? "true" : "false",
  },
  // on a phone the Domain, State and Raised columns give way; state and age move under the
  // level and the name (.show-narrow), so every header stays over its own cells
  h("td", {}, badge(w.level), h("div", { class: `sub show-narrow state-${w.state}` }, w.state)),
  h("td", {}, regionNames[w.region] || w.region, h("div", { class: "sub" }, w.region)),
  h("td", { class: "hide-narrow" }, w.domain),
  h("td", {}, name, h("div", { class: "sub" }, `${w.subject} · ${sources(w)}`),
    h("div", { class: "sub show-narrow", title: when(w.first_seen_at) }, `raised ${ago(w.first_seen_at)}`)),
  h("td", { class: `hide-narrow state-${w.state}` }, w.state),
  h("td", { class: "hide-narrow", title: when(w.first_seen_at) }, ago(w.first_seen_at)),
  h("td", {}, w.state === "active"
    ? h("button", { type: "button", class: "ghost ack", onclick: () => acknowledge(w.id) }, "Acknowledge")
    : null));
}

export function move(step) {
  const trs = [...document.querySelectorAll("#board tbody tr[data-id]")];
  if (!trs.length) return;
  const at = trs.findIndex((tr) => tr === document.activeElement || tr.dataset.id === current);
  const next = trs[Math.max(0, Math.min(trs.length - 1, at + step))] || trs[0];
  next.focus();
}

export function close() {
  current = null;
  document.getElementById("detail").hidden = true;
  for (const tr of document.querySelectorAll("#board tbody tr")) tr.setAttribute("aria-selected", "false");
}

export async function acknowledge(id = current, reason = "") {
  if (!id) return;
  try {
    const w = await post(`/api/v1/warnings/${id}/acknowledge`, { reason });
    toast(`Acknowledged: ${w.explanation?.name || w.subject} (${w.level.toUpperCase()})`);
    await refresh();
  } catch (err) {
    toast(`Not acknowledged: ${err.message}`);
  }
}

export async function showDetail(id, { quiet = false } = {}) {
  current = id;
  for (const tr of document.querySelectorAll("#board tbody tr")) {
    tr.setAttribute("aria-selected", tr.dataset.id === id ? "true" : "false");
  }
  await fillPanel(document.getElementById("detail"), {
    load: () => Promise.all([get(`/api/v1/warnings/${id}`), get(`/api/v1/warnings/${id}/history`)]),
    draw: detail,
    what: `warning ${id}`,
    stillWanted: () => current === id,
    focus: !quiet,
  });
}

function detail(w, history) {
  const ex = w.explanation || {};
  const thresholds = ex.thresholds ? Object.entries(ex.thresholds).map(([k, v]) => `${k} ${number(v)}`).join(" · ") : null;
  const facts = [
    ["Region", `${regionNames[w.region] || w.region} (${w.region})`],
    ["Domain", w.domain],
    ["Source", `${sources(w)}: ${w.subject}`],
    ["State", w.acknowledged_by ? `${w.state} by ${w.acknowledged_by}` : w.state],
    ["CAP severity", w.cap_severity],
    ["Raised", `${when(w.first_seen_at)} (${ago(w.first_seen_at)})`],
    ["Last seen", when(w.last_seen_at)],
    ex.value !== undefined ? ["Value", `${number(ex.value)} ${ex.unit || ""}`] : null,
    thresholds ? ["Thresholds", thresholds] : null,
    ex.direction ? ["Direction", ex.direction.replaceAll("_", " ")] : null,
    ex.rule && !ex.causes ? ["Rule", ex.rule] : null,
  ].filter(Boolean);
  const cause = Object.entries(w.cause || {});
  const indicator = ex.indicator || w.cause?.indicator;
  return [
    h("div", { class: "row" }, h("h3", { tabindex: "-1" }, badge(w.level), " ", ex.name || w.subject),
      h("button", { type: "button", class: "ghost", "aria-label": "Close detail", onclick: () => onNavigate("#/board") }, "×")),
    history.length ? h("p", {}, history[history.length - 1].reason) : null,
    h("dl", {}, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    causes(w),
    indicator ? h("p", {}, h("a", { href: `#/indicator/${encodeURIComponent(indicator)}` }, "Open the indicator's chart")) : null,
    actions(w),
    h("section", {}, h("h4", {}, "History"), h("ol", { class: "history" }, history.map((r) =>
      h("li", {}, h("time", { datetime: r.at }, `${when(r.at)} · ${r.actor}`), h("strong", {}, r.kind.replace("warning.", "")), " ", r.reason)))),
    cause.length ? h("section", {}, h("h4", {}, "Cause"), h("dl", {}, cause.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))]))) : null,
  ];
}

function actions(w) {
  const out = h("section", { "aria-label": "Actions" });
  if (w.state === "active") {
    const reason = h("input", { name: "reason", placeholder: "Note (optional)", "aria-label": "Acknowledgement note" });
    out.append(h("form", { class: "ack-form", onsubmit: (e) => { e.preventDefault(); acknowledge(w.id, reason.value); } },
      h("h4", {}, "Acknowledge"), h("div", { class: "row" }, reason, h("button", { type: "submit" }, "Acknowledge"))));
  } else if (w.state === "acknowledged") {
    out.append(h("p", { class: "ok" }, `Acknowledged by ${w.acknowledged_by}.`));
  }
  if (w.state !== "lifted") out.append(silenceForm(w));
  return out;
}

const EXPIRIES = [["1 hour", 1], ["4 hours", 4], ["12 hours", 12], ["1 day", 24], ["3 days", 72], ["1 week", 168]];

// The silence form: it matches this warning's region, domain and labels; the owner is the user
// of the signed-in user (the server records it), the reason is required, and it expires.
function silenceForm(w) {
  const reason = h("input", { name: "reason", required: true, minlength: "3", "aria-describedby": "silence-owner" });
  const hours = h("select", { name: "hours" }, EXPIRIES.map(([t, v]) => h("option", { value: String(v), selected: v === 4 }, t)));
  const note = h("p", { class: "note", role: "status" });
  const labels = labelMatchers(w);
  const form = h("form", { class: "silence-form", id: "silence-form" },
    h("h4", {}, "Silence"),
    h("p", { class: "note" }, `Mutes notifications for warnings in ${w.region}, ${w.domain}`,
      labels.length ? ` with ${labels.join(", ")}` : "", "; they stay on the board."),
    h("p", { class: "note", id: "silence-owner" }, "Owner: you (the signed-in user)."),
    h("label", {}, "Reason ", reason), h("label", {}, "Expires after ", hours),
    h("div", { class: "row" }, h("button", { type: "submit" }, "Silence")), note);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const endsAt = new Date(serverNow() + Number(hours.value) * 3600_000).toISOString();
    try {
      const s = await post("/api/v1/silences", silenceBody(w, reason.value.trim(), endsAt));
      note.className = "ok";
      note.textContent = `Silenced by ${s.created_by} until ${when(s.ends_at)}.`;
      toast(`Silenced until ${when(s.ends_at)}`);
      await refreshSilences();
    } catch (err) {
      note.className = "error";
      note.textContent = err instanceof HttpError && (err.status === 404 || err.status === 405)
        ? "Silences are not available on this server."
        : `Not silenced: ${err.message}`;
    }
  });
  return form;
}

// The body of POST /api/v1/silences for one warning (owner = the signed-in user, server-side).
export function silenceBody(w, reason, endsAt) {
  return {
    region: w.region,
    domain: w.domain,
    matchers: labelMatchers(w),
    ends_at: endsAt,
    reason,
  };
}

// The warning's own labels as matchers; region and domain are matched by the selector itself
// (with their subtrees), so they are not repeated.
function labelMatchers(w) {
  return Object.entries(w.labels || {})
    .filter(([k]) => k !== "region" && k !== "domain")
    .map(([k, v]) => `${k}=${v}`);
}

// Active and pending silences, each with its owner, reason, expiry and an Expire button.
export async function refreshSilences() {
  const box = document.getElementById("silences");
  if (!box) return;
  let found;
  try {
    found = await get("/api/v1/silences");
  } catch (err) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const list = box.querySelector("ul");
  box.querySelector("summary").textContent = `Silences (${found.length})`;
  list.replaceChildren(...found.map((s) => h("li", { dataset: { id: s.id, state: s.state } },
    h("strong", {}, describe(s.selector)), ` · ${s.state} · by ${s.created_by} · until ${when(s.ends_at)} · ${s.reason} `,
    s.state !== "expired" ? h("button", { type: "button", class: "ghost", onclick: () => expireSilence(s.id) }, "Expire") : null,
    s.state === "awaiting_approval" ? decisionControls(s) : null)));
  if (!found.length) list.append(h("li", { class: "note" }, "None."));
}

function describe(selector) {
  if (!selector || typeof selector !== "object") return String(selector ?? "");
  const parts = [];
  if (selector.region) parts.push(selector.region);
  if (selector.domain) parts.push(selector.domain);
  if (selector.levels && selector.levels.length) parts.push(selector.levels.join("/"));
  for (const m of selector.matchers || []) parts.push(typeof m === "string" ? m : JSON.stringify(m));
  return parts.join(" · ") || "everything";
}

// A silence too broad for one person waits for a second user: approve it, or refuse it saying why
// (the server refuses its creator and anyone whose scope does not hold it, and says so).
function decisionControls(silence) {
  const reason = h("input", { name: "reason", required: true, maxlength: 2000, "aria-label": "Why refuse" });
  const refuse = async (event) => {
    event.preventDefault();
    await decideSilence(silence.id, "refuse", { reason: reason.value });
  };
  return h("span", { class: "decision" },
    ` needs a second user (${silence.approval.needs.join(", ")}) `,
    h("button", { type: "button", class: "ghost", onclick: () => decideSilence(silence.id, "approve", {}) }, "Approve"),
    h("form", { class: "inline", onsubmit: refuse }, reason, h("button", { type: "submit", class: "ghost" }, "Refuse")));
}

async function decideSilence(id, decision, body) {
  try {
    await post(`/api/v1/silences/${id}/${decision}`, body);
    toast(decision === "approve" ? "Silence approved" : "Silence refused");
  } catch (err) {
    toast(`Not done: ${err.message}`);
  }
  await refreshSilences();
}

async function expireSilence(id) {
  try {
    await post(`/api/v1/silences/${id}/expire`, { reason: "expired from the dashboard" });
    toast("Silence expired");
  } catch (err) {
    toast(`Not expired: ${err.message}`);
  }
  await refreshSilences();
}
