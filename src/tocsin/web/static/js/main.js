// The dashboard shell: hash routes, the open-warnings summary, live updates, keyboard.

import { get, loadSession, signIn, signOut, who } from "./api.js";
import * as board from "./board.js";
import * as cap from "./cap.js";
import * as exposure from "./exposure.js";
import { LEVELS, badge, h, setServerNow, toast } from "./format.js";
import * as incidents from "./incidents.js";
import * as indicator from "./indicator.js";
import * as mapView from "./map.js";
import * as risk from "./risk.js";

const VIEWS = ["map", "board", "indicator", "risk", "incidents", "tasks", "scorecard", "cap", "exposure"];
const TITLES = {
  map: "map", board: "warnings", indicator: "indicators", risk: "risk",
  incidents: "incidents", tasks: "my tasks", scorecard: "scorecard", cap: "public alerts", exposure: "exposure",
};
let view = null;
let catalog = null;

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const name = VIEWS.includes(parts[0]) ? parts[0] : "map";
  return { name, args: parts.slice(1).filter((p) => p !== "") };
}

function loadCatalog() {
  catalog ||= Promise.all([get("/api/v1/domains"), get("/api/v1/regions"), get("/api/v1/indicators")])
    .then(([domains, regions, indicators]) => {
      board.setCatalog({ domains, regions });
      indicator.setIndicators(indicators);
      const options = document.getElementById("region-options");
      options.replaceChildren(...regions.map((r) => h("option", { value: r.code }, `${r.name} (${r.level})`)));
      return { domains, regions, indicators };
    });
  return catalog;
}

async function route() {
  const { name, args } = parseHash();
  if (name !== view) {
    view = name;
    for (const v of VIEWS) document.getElementById(`view-${v}`).hidden = v !== name;
    for (const a of document.querySelectorAll(".views a")) {
      if (a.dataset.view === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    document.title = `Tocsin — ${TITLES[name]}`;
  }
  document.body.dataset.view = name;
  try {
    if (name === "map") {
      mapView.invalidate();
      await mapView.show(args[0] || null, { select: args[1] || null });
    } else if (name === "board") {
      // the page of warnings first; then the catalogue (region names, filter choices: 10,000
      // cells in a storm grid), which names the regions when it arrives
      await board.refresh();
      const named = loadCatalog().then(() => board.rename());
      if (args[0]) await board.showDetail(args[0]);
      else board.close();
      await named;
    } else if (name === "indicator") {
      await loadCatalog();
      await indicator.show(args[0]);
    } else if (name === "risk") {
      await loadCatalog();
      await risk.show(args[0] || null);
    } else if (name === "cap") {
      await loadCatalog();
      await cap.show(args[0] || null);
    } else if (name === "incidents") {
      if (args[0]) await incidents.showDetail(args[0]);
      else await incidents.showBoard();
    } else if (name === "tasks") {
      await incidents.showTasks();
    } else if (name === "scorecard") {
      await loadCatalog();
      await incidents.showScorecard();
    } else if (name === "exposure") {
      await exposure.show(args[0] || null);
    }
    if (view === name) document.body.dataset.ready = name; // a later route may have moved on
  } catch (err) {
    toast(`Could not load: ${err.message}`);
  }
}

async function refreshSummary() {
  const s = await get("/api/v1/web/summary");
  setServerNow(s.now);
  const box = document.getElementById("summary");
  box.replaceChildren(...LEVELS.map((lv) =>
    h("a", { href: "#/board", title: `${s.by_level[lv]} ${lv} warnings open` }, badge(lv, `${lv} ${s.by_level[lv]}`))));
  box.dataset.open = String(s.open);
}

// One reload of the aggregated views at a time: changes that come while one is waiting or
// running are caught by it or by the single one that follows (a storm never queues reloads).
let pending = null;
let running = false;
let again = false;
function refreshSoon() {
  if (running) { again = true; return; }
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    running = true;
    try {
      await refreshSummary();
      if (view === "board") await board.refresh({ highlight: true });
      if (view === "map") await mapView.refresh();
      if (view === "incidents" && !location.hash.split("/")[2]) await incidents.showBoard();
      if (view === "exposure") await route();
    } catch (err) {
      toast(`Could not reload: ${err.message}`);
    } finally {
      running = false;
      if (again) { again = false; refreshSoon(); }
    }
  }, 150);
}

function connectLive() {
  const status = document.getElementById("live-status");
  const source = new EventSource("/api/v1/web/live"); // the session cookie goes with it
  let opened = false;
  source.addEventListener("hello", () => {
    status.dataset.state = "open";
    status.textContent = "live";
    document.body.dataset.live = "open";
    if (opened) refreshSoon(); // reconnected: catch up on anything missed
    opened = true;
  });
  source.addEventListener("warnings", (e) => {
    const m = JSON.parse(e.data);
    if (m.kind === "warning.raised" || m.kind === "warning.upgraded") {
      toast(`${m.to_level.toUpperCase()} ${m.kind.replace("warning.", "")}: ${m.reason}`);
    } else if (m.kind === "warning.burst") { // a storm: the server sends one summary, not thousands
      toast(`${m.reason}${m.to_level ? `; the worst ${m.to_level.toUpperCase()}` : ""}`);
    }
    refreshSoon();
  });
  source.addEventListener("silences", refreshSoon);
  source.addEventListener("resync", refreshSoon);
  source.onerror = () => {
    status.dataset.state = "connecting";
    status.textContent = "reconnecting";
    document.body.dataset.live = "closed";
  };
}

function focusFilter() {
  const target = { board: "f-region", indicator: "indicator-filter", risk: "risk-region", map: null }[view];
  if (target) document.getElementById(target).focus();
  else document.querySelector("#region-list button")?.focus();
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const typing = e.target.closest("input, select, textarea, [contenteditable]");
  if (document.querySelector("dialog[open]")) return;
  if (e.key === "Escape") {
    if (typing) e.target.blur();
    else if (view === "board") navigate("#/board");
    return;
  }
  if (typing) return;
  const keys = {
    1: () => navigate("#/map"), 2: () => navigate("#/board"), 3: () => navigate("#/indicator"), 4: () => navigate("#/risk"),
    5: () => navigate("#/incidents"), 6: () => navigate("#/tasks"), 7: () => navigate("#/scorecard"),
    8: () => navigate("#/cap"), 9: () => navigate("#/exposure"),
    "/": focusFilter, "?": () => document.getElementById("help-dialog").showModal(),
    j: () => view === "board" && board.move(1), k: () => view === "board" && board.move(-1),
    a: () => view === "board" && board.acknowledge(),
    s: () => view === "board" && document.querySelector("#silence-form input")?.focus(),
    u: () => view === "map" && mapView.up(), Backspace: () => view === "map" && mapView.up(),
    c: () => view === "map" && mapView.toggleMode(),
  };
  const act = keys[e.key];
  if (act) {
    e.preventDefault();
    act();
  }
}

function start() {
  mapView.init({ navigate });
  board.init({ navigate });
  indicator.init();
  cap.init({ navigate });
  incidents.init({ navigate });
  document.getElementById("inc-state").addEventListener("change", () => incidents.showBoard());
  document.getElementById("risk-form").addEventListener("submit", (e) => {
    e.preventDefault();
    navigate(`#/risk/${encodeURIComponent(document.getElementById("risk-region").value.trim())}`);
  });
  const account = document.getElementById("session-button");
  account.addEventListener("click", async () => {
    if (who()) {
      await signOut();
      location.reload();
    } else if (await signIn()) route();
  });
  document.addEventListener("tocsin:session", (e) => {
    account.textContent = e.detail ? `Sign out ${e.detail.user}` : "Sign in";
    account.dataset.user = e.detail ? e.detail.user : "";
  });
  document.getElementById("help-button").addEventListener("click", () => document.getElementById("help-dialog").showModal());
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => { mapView.invalidate(); indicator.resize(); exposure.invalidate(); });
  Promise.all([loadSession().then(() => refreshSummary()).catch(() => null), route()]).then(() => {
    connectLive();
    loadCatalog();
  });
}

start();
