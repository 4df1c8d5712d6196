// The response on the dashboard: the incident board (the operations centre's wall), one
// incident with its tasks by unit and its timeline, activation and stand-down with
// confirmation, situation reports, "my unit's tasks", and the scorecard with its CSV export.
// Every text goes in as text (h() never parses HTML).

import { HttpError, download, get, post } from "./api.js";
import { ago, fillPanel, h, serverNow, toast, when } from "./format.js";

let onNavigate = () => {};
let current = null; // the incident shown in detail
const RESPONSE_RANK = { I: 4, II: 3, III: 2, IV: 1 };
const FINISHED = new Set(["done", "cancelled"]);

export function init({ navigate }) {
  onNavigate = navigate;
  document.getElementById("scorecard-form").addEventListener("submit", (e) => {
    e.preventDefault();
    showScorecard();
  });
  document.getElementById("scorecard-csv").addEventListener("click", () => scorecardCsv());
  const end = new Date(serverNow());
  const start = new Date(end.getTime() - 7 * 86400_000);
  document.getElementById("sc-start").value = start.toISOString().slice(0, 10);
  document.getElementById("sc-end").value = new Date(end.getTime() + 86400_000).toISOString().slice(0, 10);
}

function responseBadge(level) {
  return h("span", { class: `badge resp resp-${level || "none"}`, title: level ? `Response level ${level}` : "No plan" },
    level ? `Level ${level}` : "no plan");
}

// -- the board --------------------------------------------------------------------------------
export async function showBoard() {
  current = null;
  document.getElementById("incident-detail").hidden = true;
  const state = document.getElementById("inc-state").value;
  const [incidents, tasks] = await Promise.all([
    get("/api/v1/incidents", { state }),
    get("/api/v1/tasks", { state: "all", limit: 5000 }),
  ]);
  const byIncident = {};
  for (const t of tasks) (byIncident[t.incident_id] ||= []).push(t);
  incidents.sort((a, b) => (RESPONSE_RANK[b.response_level] || 0) - (RESPONSE_RANK[a.response_level] || 0)
    || Date.parse(b.opened_at) - Date.parse(a.opened_at));
  const wall = document.getElementById("incident-wall");
  wall.replaceChildren(...incidents.map((x) => card(x, byIncident[x.id] || [])));
  document.getElementById("incident-empty").hidden = incidents.length > 0;
  document.getElementById("incident-count").textContent = `${incidents.length} incident${incidents.length === 1 ? "" : "s"}`;
}

function card(x, tasks) {
  const done = tasks.filter((t) => FINISHED.has(t.state)).length;
  const late = tasks.filter((t) => t.overdue).length;
  const proposed = x.stand_down_proposed_at && x.state === "active";
  return h("li", { class: "card", dataset: { id: x.id, state: x.state, response: x.response_level || "" } },
    h("button", { type: "button", class: "card-open", onclick: () => onNavigate(`#/incidents/${x.id}`) },
      h("div", { class: "row" }, responseBadge(x.response_level), h("strong", {}, x.title)),
      h("div", { class: "sub" }, `${x.state}${proposed ? " · stand-down proposed" : ""} · ${x.region} · ${x.domain}`),
      h("div", { class: "sub" }, `lead ${x.lead_unit || "–"} · opened ${ago(x.opened_at)}`),
      h("div", { class: "progress" }, `tasks ${done}/${tasks.length} done`,
        late ? h("span", { class: "overdue" }, ` · ${late} overdue`) : null)));
}

// -- one incident -----------------------------------------------------------------------------
export async function showDetail(id) {
  current = id;
  await fillPanel(document.getElementById("incident-detail"), {
    load: () => Promise.all([get(`/api/v1/incidents/${encodeURIComponent(id)}`), get("/api/v1/plans")]),
    draw: detail,
    what: `incident ${id}`,
    stillWanted: () => current === id,
  });
}

function detail(x, plans) {
  const facts = [
    ["State", x.state + (x.stand_down_proposed_at && x.state === "active" ? " (stand-down proposed)" : "")],
    ["Plan", x.plan ? `${x.plan} at ${x.plan_level}` : "none"],
    ["Lead unit", x.lead_unit || "–"],
    ["Where", `${x.region} · ${x.domain}`],
    ["Opened", `${when(x.opened_at)} (${ago(x.opened_at)})`],
    ["Links", x.links.map((l) => `${l.kind} ${l.ref.slice(0, 12)}`).join(", ") || "none"],
  ];
  return [
    h("div", { class: "row" }, h("h3", { tabindex: "-1" }, responseBadge(x.response_level), " ", x.title),
      h("button", { type: "button", class: "ghost", "aria-label": "Back to the board", onclick: () => onNavigate("#/incidents") }, "×")),
    h("dl", {}, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    commands(x, plans),
    reports(x),
    h("section", {}, h("h4", {}, "Tasks by unit"), tasksByUnit(x.tasks)),
    h("section", {}, h("h4", {}, "Timeline"), h("ol", { class: "history", id: "incident-timeline" },
      x.timeline.map((r) => h("li", {}, h("time", { datetime: r.at }, `${when(r.at)} · ${r.actor}`),
        h("strong", {}, r.kind.replace(/^(incident|task)\./, "")), " ", r.reason)))),
  ];
}

function tasksByUnit(tasks) {
  if (!tasks.length) return h("p", { class: "note" }, "No tasks.");
  const units = {};
  for (const t of tasks) (units[t.unit] ||= []).push(t);
  return h("div", { id: "incident-tasks" }, Object.entries(units).sort().map(([unit, list]) =>
    h("div", { class: "unit-tasks", dataset: { unit } }, h("h5", {}, unit),
      h("ul", { class: "task-list" }, list.map((t) => h("li", { dataset: { id: t.id, state: t.state } },
        h("span", { class: `task-state state-${t.state}` }, t.state), " ", t.title,
        t.deadline ? h("span", { class: t.overdue ? "overdue" : "sub" }, ` · due ${when(t.deadline)}${t.overdue ? " (overdue)" : ""}`) : null))))));
}

function commands(x, plans) {
  const out = h("section", { "aria-label": "Commands" }, h("h4", {}, "Commands"));
  if (x.state === "open" || x.state === "stabilised" || x.state === "active") {
    const plan = h("select", { name: "plan", "aria-label": "Plan" }, plans.map((p) =>
      h("option", { value: p.id, selected: p.id === x.plan }, p.name)));
    const level = h("select", { name: "level", "aria-label": "Level" }, ["red", "orange", "yellow", "blue"].map((lv) =>
      h("option", { value: lv }, lv)));
    out.append(h("form", { id: "activate-form", class: "row", onsubmit: (e) => {
      e.preventDefault();
      confirmThen(`Activate ${plan.value} at ${level.value}? Its tasks go to the units at once.`, (reason) =>
        post(`/api/v1/incidents/${x.id}/activate`, { plan: plan.value, level: level.value, reason }));
    } }, plan, level, h("button", { type: "submit", disabled: plans.length === 0 }, "Activate")));
  }
  if (x.state === "active") {
    out.append(h("button", { type: "button", id: "stand-down", class: x.stand_down_proposed_at ? "" : "ghost",
      onclick: () => confirmThen("Stand down? The stand-down tasks go out; the incident closes once every task is finished.",
        (reason, cancelOpen) => post(`/api/v1/incidents/${x.id}/stand-down`, { reason, cancel_open: cancelOpen }),
        { cancelOpen: true }) }, "Stand down"));
  }
  if (x.state === "open" || x.state === "stabilised") {
    out.append(h("button", { type: "button", class: "ghost", id: "close-incident",
      onclick: () => confirmThen("Close this incident?", (reason) => post(`/api/v1/incidents/${x.id}/close`, { reason })) }, "Close"));
  }
  return out;
}

// A confirmation with a required reason; on OK, `act(reason, cancelOpen)` runs and the incident reloads.
function confirmThen(question, act, { cancelOpen = false } = {}) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-question").textContent = question;
  const reason = document.getElementById("confirm-reason");
  const extra = document.getElementById("confirm-cancel-open");
  extra.closest("label").hidden = !cancelOpen;
  extra.checked = false;
  reason.value = "";
  const error = document.getElementById("confirm-error");
  error.textContent = "";
  const form = document.getElementById("confirm-form");
  const onSubmit = async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) { error.textContent = "A reason is needed."; return; }
    try {
      await act(reason.value.trim(), extra.checked);
      dialog.close();
      toast("Done");
      if (current) await showDetail(current);
    } catch (err) {
      error.textContent = err.message;
    }
  };
  const cleanup = () => { form.removeEventListener("submit", onSubmit); dialog.removeEventListener("close", cleanup); };
  form.addEventListener("submit", onSubmit);
  dialog.addEventListener("close", cleanup);
  document.getElementById("confirm-cancel").onclick = () => dialog.close();
  dialog.showModal();
  reason.focus();
}

function reports(x) {
  const base = `/api/v1/incidents/${x.id}/situation`;
  const name = `situation-${x.id.slice(0, 8)}`;
  return h("section", { "aria-label": "Situation report" }, h("h4", {}, "Situation report"),
    h("div", { class: "row" },
      h("button", { type: "button", id: "report-pdf", onclick: () => save(base, { format: "pdf" }, `${name}.pdf`) }, "PDF"),
      h("button", { type: "button", class: "ghost", id: "report-html", onclick: () => save(base, { format: "html" }, `${name}.html`) }, "HTML"),
      h("button", { type: "button", class: "ghost", id: "report-issue", onclick: async () => {
        try {
          const r = await post(`/api/v1/incidents/${x.id}/situation-reports`, { reason: "issued from the dashboard" });
          toast(`Issued: ${r.title}`);
          await showDetail(x.id);
        } catch (err) { toast(`Not issued: ${err.message}`); }
      } }, "Issue and keep")));
}

// -- my unit's tasks --------------------------------------------------------------------------
export async function showTasks() {
  const list = document.getElementById("my-tasks");
  let tasks;
  try {
    tasks = await get("/api/v1/tasks", { mine: "true" });
  } catch (err) {
    list.replaceChildren(h("li", { class: "error" }, err instanceof HttpError && err.status === 422
      ? "Your user belongs to no unit: there are no tasks of yours." : `Cannot load tasks: ${err.message}`));
    return;
  }
  document.getElementById("my-tasks-count").textContent = `${tasks.length} open task${tasks.length === 1 ? "" : "s"}`;
  list.replaceChildren(...tasks.map(taskItem));
  if (!tasks.length) list.append(h("li", { class: "note" }, "Nothing to do."));
}

function taskItem(t) {
  const reason = h("input", { name: "reason", placeholder: "Note, reason or outcome", "aria-label": `Note for ${t.title}` });
  const act = async (action) => {
    const text = reason.value.trim();
    const body = action === "complete" ? { outcome: text, reason: "done" } : { reason: text };
    try {
      await post(`/api/v1/tasks/${t.id}/${action}`, body);
      toast(`${t.title}: ${action}`);
      await showTasks();
    } catch (err) { toast(`Not done: ${err.message}`); }
  };
  const buttons = {
    assigned: [["accept", "Accept"], ["block", "Blocked"]],
    accepted: [["note", "Note"], ["complete", "Done"], ["block", "Blocked"]],
    blocked: [["resume", "Resume"], ["note", "Note"]],
  }[t.state] || [];
  return h("li", { class: "task", dataset: { id: t.id, state: t.state } },
    h("div", { class: "row" }, h("span", { class: `task-state state-${t.state}` }, t.state), h("strong", {}, t.title),
      t.overdue ? h("span", { class: "overdue" }, "overdue") : null),
    h("div", { class: "sub" }, t.deadline ? `due ${when(t.deadline)} (${ago(t.deadline)})` : "waiting", " · ", t.assignment),
    t.checklist.length ? h("ul", { class: "checklist" }, t.checklist.map((c) => h("li", {}, c))) : null,
    h("div", { class: "row" }, reason, buttons.map(([action, label]) =>
      h("button", { type: "button", class: action === "accept" || action === "complete" ? "" : "ghost", onclick: () => act(action) }, label))));
}

// -- scorecard --------------------------------------------------------------------------------
function period() {
  const start = document.getElementById("sc-start").value;
  const end = document.getElementById("sc-end").value;
  const region = document.getElementById("sc-region").value.trim();
  return { start: `${start}T00:00:00Z`, end: `${end}T00:00:00Z`, region: region || undefined };
}

function minutes(s) {
  return s === null || s === undefined ? "–" : `${(s / 60).toFixed(1)} min`;
}

export async function showScorecard() {
  const body = document.querySelector("#scorecard tbody");
  let card;
  try {
    card = await get("/api/v1/scorecard", period());
  } catch (err) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: "11", class: "error" }, err.message)));
    return;
  }
  body.replaceChildren(...card.rows.map((r) => h("tr", { dataset: { unit: r.unit } },
    h("td", {}, r.unit), h("td", {}, r.domain), h("td", {}, `${r.warnings_acknowledged}/${r.warnings_received}`),
    h("td", {}, minutes(r.ack_median_s)), h("td", {}, minutes(r.ack_p90_s)), h("td", {}, String(r.tasks_received)),
    h("td", {}, String(r.tasks_on_time)), h("td", {}, String(r.tasks_late)),
    h("td", { class: r.tasks_overdue ? "overdue" : null }, String(r.tasks_overdue)),
    h("td", {}, String(r.reminders)), h("td", {}, String(r.escalations_suffered)))));
  if (!card.rows.length) body.append(h("tr", {}, h("td", { colspan: "11", class: "note" }, "Nothing in this period and region.")));
}

function scorecardCsv() {
  save("/api/v1/scorecard", { ...period(), format: "csv" }, "scorecard.csv");
}

function save(path, params, filename) {
  download(path, params, filename).catch((err) => toast(`Not downloaded: ${err.message}`));
}
