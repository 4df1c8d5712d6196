// The exposure view: known-exploited vulnerabilities on our assets by due date, every asset
// with its exposure, and the cascade from one asset drawn on a map (no tiles: the regions' own
// shapes, the assets as points, the dependencies as lines). Every state is also written out.

import { get } from "./api.js";
import { COLOURS, badge, h, number } from "./format.js";

const STATE_LEVEL = { exposed: "red", failed: "orange", degraded: "yellow" };
const STATE_TEXT = { exposed: "exposed", failed: "lost with it", degraded: "degraded" };
let map = null;
let layer = null;

export async function show(asset) {
  const [kev, assets] = await Promise.all([
    get("/api/v1/exposure/known-exploited"),
    get("/api/v1/exposure/assets"),
  ]);
  renderKev(kev);
  renderAssets(assets, asset);
  const view = document.getElementById("exposure-map");
  view.dataset.asset = asset || "";
  if (asset) await drawCascade(asset);
  else clearCascade();
}

function assetLink(code) {
  return h("a", { href: `#/exposure/${encodeURIComponent(code)}` }, code);
}

function renderKev(rows) {
  const body = document.querySelector("#kev-list tbody");
  body.replaceChildren(...rows.map((e) => h("tr", { dataset: { advisory: e.advisory, asset: e.asset } },
    h("td", {}, e.due_on || "–"),
    h("td", {}, e.advisory),
    h("td", {}, assetLink(e.asset)),
    h("td", {}, badge(e.level)),
    h("td", { class: "v" }, number(e.cvss, 3)),
    h("td", { class: "hide-narrow" }, e.required_action || ""))));
  document.getElementById("kev-empty").hidden = rows.length > 0;
}

function renderAssets(rows, current) {
  const body = document.querySelector("#exposure-assets tbody");
  body.replaceChildren(...rows.map((a) => h("tr", { dataset: { asset: a.asset }, "aria-current": a.asset === current ? "true" : null },
    h("td", {}, assetLink(a.asset), h("span", { class: "note" }, ` ${a.name}`)),
    h("td", {}, a.region),
    h("td", {}, a.exposures.length
      ? a.exposures.flatMap((e) => [badge(e.patched_at ? null : e.level, `${e.advisory}${e.patched_at ? " patched" : ""}`), " "])
      : "none"),
    h("td", { class: "hide-narrow" }, a.consequences.fails_with_it.join(" ") || "–"))));
}

function ensureMap() {
  if (map) return;
  map = L.map("exposure-map", { attributionControl: false, zoomSnap: 0.25, keyboard: true });
  map.setView([30, 10], 2);
}

function clearCascade() {
  if (layer) layer.remove();
  layer = null;
  document.getElementById("cascade-title").textContent = "Choose an asset to see what depends on it";
  document.getElementById("cascade-list").replaceChildren();
}

async function drawCascade(asset) {
  const data = await get(`/api/v1/web/exposure/${encodeURIComponent(asset)}`);
  ensureMap();
  map.invalidateSize();
  if (layer) layer.remove();
  layer = L.featureGroup().addTo(map);
  L.geoJSON({ type: "FeatureCollection", features: data.regions }, {
    style: () => ({ className: "cascade-region", color: "#52606d", weight: 1, fillColor: "#e4e7eb", fillOpacity: 0.6 }),
  }).addTo(layer);
  const at = Object.fromEntries(data.assets.filter((a) => a.latitude !== null).map((a) => [a.asset, [a.latitude, a.longitude]]));
  for (const [from, to] of data.edges) {
    if (at[from] && at[to]) {
      L.polyline([at[from], at[to]], { className: `cascade-edge edge-${from}-${to}`, color: "#3e4c59", weight: 2, dashArray: "6 4" }).addTo(layer);
    }
  }
  for (const a of data.assets) {
    if (!at[a.asset]) continue;
    L.circleMarker(at[a.asset], {
      className: `cascade-asset cascade-${a.state} asset-${a.asset}`,
      radius: a.state === "exposed" ? 11 : 8, color: "#1b1f24", weight: 1,
      fillColor: COLOURS[STATE_LEVEL[a.state]], fillOpacity: 0.95,
    }).bindTooltip(document.createTextNode(`${a.name}: ${STATE_TEXT[a.state]}`), { permanent: true, direction: a.state === "exposed" ? "bottom" : "top", className: "cascade-tip" }).addTo(layer);
  }
  if (layer.getLayers().length) map.fitBounds(layer.getBounds().pad(0.3));
  const start = data.assets.find((a) => a.state === "exposed");
  document.getElementById("cascade-title").textContent = `If ${start ? start.name : asset} is lost`;
  document.getElementById("cascade-list").replaceChildren(...data.assets.map((a) => h("li", { dataset: { asset: a.asset, state: a.state } },
    badge(STATE_LEVEL[a.state], STATE_TEXT[a.state]), " ", h("strong", {}, a.name), ` (${a.asset}, ${a.kind}) in ${a.region}`,
    a.step ? ` — step ${a.step}` : "", a.placed === "region" ? h("span", { class: "note" }, " · drawn at its region") : "")));
  document.getElementById("exposure-map").dataset.drawn = String(data.assets.length);
}

export function invalidate() {
  if (map) map.invalidateSize();
}
