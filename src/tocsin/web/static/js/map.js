// The map: a region's children drawn from their geometry, coloured by the highest active
// warning level in each subtree (or by risk class), with the level also written as text.
// No tiles: only the regions' own shapes, so nothing is fetched from outside.

import { get } from "./api.js";
import { COLOURS, LEVELS, NONE_COLOUR, RANK, RISK_COLOURS, badge, h, riskStyle, sortWarnings } from "./format.js";

let map = null;
let layer = null;
let labels = null;
let riskRetry = null;
let data = null;
let mode = "warning";
let focus = null; // region code whose children are shown; null = the default root
let selected = null; // a leaf region chosen on the map
let onNavigate = () => {};

export function init({ navigate }) {
  onNavigate = navigate;
  map = L.map("map", {
    zoomSnap: 0.25, attributionControl: false, worldCopyJump: false, minZoom: 1, keyboard: true,
  });
  map.setView([30, 10], 2);
  map.on("zoomend", () => placeLabels());
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => setMode(radio.value));
  }
}

export function setMode(value) {
  mode = value;
  for (const radio of document.querySelectorAll('input[name="mode"]')) radio.checked = radio.value === value;
  if (data && value === "risk" && !data.risk_available) refresh();
  else if (data) {
    draw(false);
    renderSide();
  }
}

export function toggleMode() {
  setMode(mode === "warning" ? "risk" : "warning");
}

export function invalidate() {
  if (map) map.invalidateSize();
}

// Show the children of `code` (null: the top). Re-fetches counts; refits only when moving.
export async function show(code, { refit = true, select = null } = {}) {
  const moved = code !== focus || !data;
  focus = code;
  selected = select;
  data = await firstOr("/api/v1/web/map", { parent: code || undefined });
  draw(refit && moved);
  renderSide();
  // the risk model loads in the background at start-up: look again shortly while it does
  if (mode === "risk" && !data.risk_available && /loading/.test(data.risk_note || "")) {
    clearTimeout(riskRetry);
    riskRetry = setTimeout(() => refresh(), 1000);
  }
}

// The response boot.js already asked for, if it is the one wanted; otherwise a fresh request.
async function firstOr(path, params) {
  const early = window.__tocsinFirstMap;
  window.__tocsinFirstMap = null;
  const url = params.parent ? `${path}?parent=${encodeURIComponent(params.parent)}` : path;
  if (early && early.url === url) {
    try {
      const response = await early.response;
      if (response.ok) return await response.json();
    } catch (err) {
      // fall through to a normal request, which reports errors and signs in
    }
  }
  return get(path, params);
}

export function refresh() {
  if (data) return show(focus, { refit: false, select: selected });
  return Promise.resolve();
}

export function up() {
  const path = data?.path || [];
  if (path.length > 1) onNavigate(`#/map/${encodeURIComponent(path[path.length - 2].code)}`);
}

function colour(props) {
  if (mode === "risk") return RISK_COLOURS[props.risk_class] || NONE_COLOUR;
  return COLOURS[props.warning_level] || NONE_COLOUR;
}

function label(props) {
  if (mode === "risk") return props.risk_class ? `${props.risk_class} risk` : "no risk data";
  if (!props.warning_level) return "no active warning";
  const n = props.warning_count;
  return `${props.warning_level.toUpperCase()} — ${n} active warning${n === 1 ? "" : "s"}`;
}

function draw(refit) {
  if (layer) layer.remove();
  const container = document.getElementById("map");
  layer = L.geoJSON(data, {
    style: (f) => ({
      color: f.id === selected ? "#7b2ff7" : "#3d4650",
      weight: f.id === selected ? 3 : 0.8,
      fillColor: colour(f.properties),
      fillOpacity: 0.85,
      className: `region region-${f.id} lvl-${f.properties.warning_level || "none"}`,
    }),
    onEachFeature: (f, lyr) => {
      const p = f.properties;
      // names come from configuration: given to Leaflet as a text node, never as HTML
      lyr.bindTooltip(() => document.createTextNode(`${p.name} (${p.code}): ${label(p)}`), { sticky: true });
      lyr.on("click", () => open(p));
      lyr.on("mouseover", () => lyr.setStyle({ weight: 2.5 }));
      lyr.on("mouseout", () => layer && layer.resetStyle(lyr));
    },
  });
  // fit first, then add: the paths are projected once, at the final zoom
  if (refit) {
    const bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], animate: false });
  }
  layer.addTo(map);
  placeLabels();
  container.dataset.focus = data.focus ? data.focus.code : "";
  container.dataset.regions = String(data.features.length);
  container.dataset.mode = mode;
  renderLegend();
}

// The level (or risk class) written on regions, most severe first (largest first within a level),
// each only where its shape holds the text and no label already placed overlaps it: at world
// zoom they do not pile up. Every region also says it by colour, in its tooltip and in the list.
function placeLabels() {
  if (labels) labels.remove();
  labels = L.layerGroup().addTo(map);
  if (!layer) return;
  const taken = [];
  for (const c of labelCandidates()) {
    if (taken.some((t) => overlaps(t, c.box))) continue;
    taken.push(c.box);
    L.tooltip({ permanent: true, direction: "center", className: "lvl-tip", interactive: false })
      .setLatLng(c.at).setContent(document.createTextNode(c.text)).addTo(labels);
  }
  document.getElementById("map").dataset.labels = String(taken.length);
}

function labelCandidates() {
  const out = [];
  layer.eachLayer((lyr) => {
    const p = lyr.feature.properties;
    const text = mode === "risk" ? p.risk_class : p.warning_level && p.warning_level.toUpperCase();
    if (!text || !lyr.getBounds) return;
    const b = lyr.getBounds();
    const ne = map.latLngToContainerPoint(b.getNorthEast());
    const sw = map.latLngToContainerPoint(b.getSouthWest());
    const width = text.length * 7 + 8;
    const fits = Math.abs(ne.x - sw.x) >= width && Math.abs(sw.y - ne.y) >= 16;
    if (mode === "risk" && !fits) return;  // a warning level is written even on a small shape
    const at = b.getCenter();
    const c = map.latLngToContainerPoint(at);
    const rank = mode === "risk" ? 0 : RANK[p.warning_level] || 0;
    const area = Math.abs(ne.x - sw.x) * Math.abs(sw.y - ne.y);
    out.push({ text, at, rank, area, box: [c.x - width / 2 - 2, c.y - 10, c.x + width / 2 + 2, c.y + 10] });
  });
  return out.sort((a, b) => b.rank - a.rank || b.area - a.area);
}

function overlaps(a, b) {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

function open(props) {
  if (props.has_children) onNavigate(`#/map/${encodeURIComponent(props.code)}`);
  else onNavigate(`#/map/${encodeURIComponent(focus || "")}/${encodeURIComponent(props.code)}`);
}

function renderLegend() {
  const box = document.getElementById("map-legend");
  box.replaceChildren();
  if (mode === "risk") {
    if (!data.risk_available) {
      box.append(h("strong", {}, `${data.risk_note || "no risk model loaded"}: `), "regions are not coloured by risk.");
      return;
    }
    box.append(h("div", {}, data.risk_model), h("ul", {}, Object.entries(RISK_COLOURS).map(([k, c]) =>
      h("li", {}, h("span", { class: "sw", style: `background:${c}` }), k)),
      h("li", {}, h("span", { class: "sw", style: `background:${NONE_COLOUR}` }), "no data")));
    return;
  }
  box.append(h("ul", {}, LEVELS.map((lv) =>
    h("li", {}, h("span", { class: "sw", style: `background:${COLOURS[lv]}` }), lv.toUpperCase())),
    h("li", {}, h("span", { class: "sw", style: `background:${NONE_COLOUR}` }), "none")));
}

function renderSide() {
  const crumbs = document.getElementById("crumbs");
  crumbs.replaceChildren();
  const path = data.path || [];
  path.forEach((r, i) => {
    if (i) crumbs.append(h("span", { class: "sep", "aria-hidden": "true" }, "›"));
    crumbs.append(i === path.length - 1
      ? h("strong", { "aria-current": "location" }, r.name)
      : h("button", { type: "button", onclick: () => onNavigate(`#/map/${encodeURIComponent(r.code)}`) }, r.name));
  });
  const here = data.features.find((f) => f.id === selected)?.properties;
  const title = document.getElementById("focus-title");
  const shown = here || data.focus;
  title.replaceChildren(shown ? shown.name : "All regions", " ",
    badge(shown?.warning_level, shown?.warning_level ? shown.warning_level.toUpperCase() : "no warning"));
  const above = here ? Boolean(here.has_children) : data.features.length > 0;
  document.getElementById("focus-note").textContent = shown ? describe(shown, above) : "";
  const list = document.getElementById("region-list");
  const feats = [...data.features].sort((a, b) =>
    (RANK[b.properties.warning_level] || 0) - (RANK[a.properties.warning_level] || 0) ||
    a.properties.name.localeCompare(b.properties.name));
  list.replaceChildren(...feats.map((f) => {
    const p = f.properties;
    const b = badge(mode === "risk" ? null : p.warning_level, mode === "risk" ? (p.risk_class || "no data") : undefined);
    if (mode === "risk" && p.risk_class) b.style.cssText = riskStyle(p.risk_class);
    return h("li", {}, h("button", {
      type: "button", dataset: { code: p.code },
      "aria-label": `${p.name}, ${label(p)}${p.has_children ? ", open" : ""}`,
      onclick: () => open(p),
    }, b,
    h("span", { class: "name" }, p.name), p.warning_count ? h("span", { class: "n" }, `${p.warning_count}`) : null,
    p.has_children ? h("span", { "aria-hidden": "true" }, "›") : null));
  }));
  loadWarnings(shown?.code);
}

// "Nation ITA · 5 active warnings, here and in the regions below" (the code only when it adds
// something to the name: not "World WORLD").
function describe(card, hasChildren) {
  const kind = card.level ? card.level[0].toUpperCase() + card.level.slice(1) : "";
  const named = card.code.toLowerCase() === String(card.name).toLowerCase();
  const n = card.warning_count || 0;
  const count = n === 0 ? "no active warning" : `${n} active warning${n === 1 ? "" : "s"}`;
  const where = hasChildren && n ? ", here and in the regions below" : "";
  return `${[kind, named ? "" : card.code].filter(Boolean).join(" ")} · ${count}${where}`;
}

async function loadWarnings(code) {
  const list = document.getElementById("focus-warnings");
  const found = await get("/api/v1/warnings", { region: code || undefined, limit: 50 });
  list.replaceChildren(...sortWarnings(found).map((w) => h("li", {},
    badge(w.level), h("a", { href: `#/board/${w.id}` }, w.explanation?.name || w.subject),
    h("span", { class: "note" }, ` ${w.region}`))));
  if (!found.length) list.append(h("li", { class: "note" }, "None."));
}
