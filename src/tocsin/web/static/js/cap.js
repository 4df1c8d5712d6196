// Public alerts (CAP 1.2): draft from a warning or by hand, review (the rendered alert in each
// language and its XML, with every problem the checks find), submit, approve or reject (a
// second person), publish; follow what is public and what other agencies sent.

import { HttpError, get, post } from "./api.js";
import { badge, h, toast, when } from "./format.js";

let onNavigate = () => {};
let current = null;

export function init({ navigate }) {
  onNavigate = navigate;
  document.getElementById("cap-state").addEventListener("change", () => refresh());
  document.getElementById("cap-draft-form").addEventListener("submit", (e) => {
    e.preventDefault();
    draft();
  });
  document.getElementById("cap-list").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-id]");
    if (li) onNavigate(`#/cap/${encodeURIComponent(li.dataset.id)}`);
  });
}

export async function show(identifier) {
  await Promise.all([refresh(), fillWarnings(), follow()]);
  if (identifier) await detail(identifier);
  else close();
}

export async function refresh() {
  const state = document.getElementById("cap-state").value;
  const list = await get("/api/v1/cap/alerts", { state: state ? state.split(",") : undefined, limit: 200 });
  const box = document.getElementById("cap-list");
  box.replaceChildren(...list.map((a) => h("li", { dataset: { id: a.identifier, state: a.state }, tabindex: 0 },
    badge(a.level), " ", h("strong", {}, a.state), ` ${a.msg_type} · `, headline(a), " ",
    h("span", { class: "hint" }, `${a.regions.join(", ")} · ${when(a.updated_at)}`))));
  document.getElementById("cap-empty").hidden = list.length > 0;
  box.dataset.count = String(list.length);
}

function headline(a) {
  const info = a.infos[0];
  return info ? (info.headline || info.event) : a.identifier;
}

async function fillWarnings() {
  const select = document.getElementById("cap-warning");
  const open = await get("/api/v1/warnings", { state: "open", limit: 500 });
  select.replaceChildren(h("option", { value: "" }, "— by hand (regions, domain, level below) —"),
    ...open.map((w) => h("option", { value: w.id }, `${w.level.toUpperCase()} ${w.domain} in ${w.region}: ${w.subject}`)));
}

async function draft() {
  const form = document.getElementById("cap-draft-form");
  const data = new FormData(form);
  const body = { reason: data.get("reason") || "" };
  if (data.get("warning")) body.warning_id = data.get("warning");
  else {
    body.regions = String(data.get("regions") || "").split(",").map((r) => r.trim()).filter(Boolean);
    body.domain = data.get("domain") || null;
    body.level = data.get("level") || null;
  }
  if (data.get("urgency")) body.urgency = data.get("urgency");
  if (data.get("certainty")) body.certainty = data.get("certainty");
  try {
    const made = await post("/api/v1/cap/alerts", body);
    toast(`Drafted ${made.identifier}`);
    form.reset();
    onNavigate(`#/cap/${encodeURIComponent(made.identifier)}`);
  } catch (err) {
    toast(`Could not draft: ${err.message}`);
  }
}

function close() {
  current = null;
  document.getElementById("cap-detail").hidden = true;
}

async function detail(identifier) {
  const [alert, preview, history] = await Promise.all([
    get(`/api/v1/cap/alerts/${encodeURIComponent(identifier)}`),
    get(`/api/v1/cap/alerts/${encodeURIComponent(identifier)}/preview`),
    get(`/api/v1/cap/alerts/${encodeURIComponent(identifier)}/history`),
  ]);
  current = alert;
  const box = document.getElementById("cap-detail");
  box.hidden = false;
  box.dataset.state = alert.state;
  box.replaceChildren(
    h("h3", {}, badge(alert.level), " ", headline(alert)),
    h("p", { class: "note" }, `${alert.state} · ${alert.msg_type} · ${alert.identifier}`,
      alert.url ? [" · ", h("a", { href: `/cap/${encodeURIComponent(alert.identifier)}.xml` }, "published document")] : null),
    h("p", { class: "note" }, `written by ${alert.authors.join(", ")}`, alert.approved_by ? `; approved by ${alert.approved_by}` : "",
      alert.reason ? ` — ${alert.reason}` : ""),
    actions(alert),
    problems(preview),
    h("div", { class: "cap-infos" }, ...alert.infos.map(rendered)),
    h("details", { class: "cap-xml" }, h("summary", {}, "CAP XML"), h("pre", {}, preview.xml)),
    h("h4", {}, "History"),
    h("ol", { class: "cap-history" }, ...history.map((r) => h("li", {}, `${when(r.at)} ${r.kind.replace("public_alert.", "")} by ${r.actor}${r.reason ? ": " + r.reason : ""}`))),
  );
}

function problems(preview) {
  if (preview.valid) return h("p", { class: "cap-valid" }, "Valid: the OASIS schema and every rule pass.");
  return h("div", { class: "cap-problems", role: "alert" },
    h("strong", {}, `${preview.problems.length} problem(s) block publication`),
    h("ul", {}, ...preview.problems.map((p) => h("li", {}, `${p.where}: ${p.field}: ${p.reason}`))));
}

function rendered(info) {
  const rows = [["Event", info.event], ["Severity", info.severity], ["Urgency", info.urgency], ["Certainty", info.certainty],
    ["From", info.onset ? when(info.onset) : "—"], ["Until", info.expires ? when(info.expires) : "—"],
    ["Areas", info.areas.map((a) => a.description).join(", ")]];
  return h("article", { class: "cap-info", lang: info.language },
    h("h4", {}, `${info.language}: ${info.headline || info.event}`),
    h("dl", {}, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    info.description ? h("p", {}, info.description) : null,
    info.instruction ? h("p", { class: "cap-instruction" }, info.instruction) : null);
}

const COMMANDS = {
  draft: [["submit", "Submit for approval"], ["withdraw", "Withdraw"]],
  rejected: [["withdraw", "Withdraw"]],
  submitted: [["approve", "Approve and publish"], ["reject", "Reject"], ["withdraw", "Withdraw"]],
  approved: [["publish", "Publish"], ["withdraw", "Withdraw"]],
};

function actions(alert) {
  const reason = h("input", { id: "cap-reason", name: "reason", placeholder: "Reason (required to reject)", size: 30 });
  const buttons = (COMMANDS[alert.state] || []).map(([command, label]) =>
    h("button", { type: "button", dataset: { command }, onclick: () => act(alert.identifier, command, reason.value) }, label));
  if (!buttons.length) return h("p", { class: "note" }, "Nothing more to do here.");
  return h("form", { class: "cap-actions", onsubmit: (e) => e.preventDefault() }, reason, ...buttons);
}

async function act(identifier, command, reason) {
  try {
    const done = await post(`/api/v1/cap/alerts/${encodeURIComponent(identifier)}/${command}`, { reason });
    toast(`${done.identifier}: ${done.state}`);
    await Promise.all([refresh(), follow()]);
    await detail(identifier);
  } catch (err) {
    const why = err instanceof HttpError ? err.message : String(err);
    toast(`Could not ${command}: ${why}`);
  }
}

async function follow() {
  const [published, imported] = await Promise.all([
    get("/api/v1/cap/alerts", { state: ["published"], limit: 100 }),
    get("/api/v1/cap/imports", { live: true, limit: 100 }),
  ]);
  document.getElementById("cap-public").replaceChildren(...published.map((a) =>
    h("li", { dataset: { id: a.identifier } }, badge(a.level), " ", h("a", { href: `/cap/${encodeURIComponent(a.identifier)}.xml` }, headline(a)),
      h("span", { class: "hint" }, ` until ${a.expires_at ? when(a.expires_at) : "—"}`))));
  document.getElementById("cap-imported").replaceChildren(...imported.map((r) =>
    h("li", {}, badge(r.level), ` ${r.sender}: ${r.headline || r.event}`, h("span", { class: "hint" }, ` ${r.regions.join(", ") || "outside our regions"}`))));
}
