// The risk view: a region's composite index as a tree, each node with its value and its
// contribution to its parent. Without a risk model it says so, and shows no numbers. The model
// is chosen in #risk-model: the configured one, or a live one (cyber exposure, computed from
// Tocsin's state at each read).

import { get } from "./api.js";
import { h, number, riskStyle } from "./format.js";

function chosen() {
  const value = document.getElementById("risk-model").value;
  return value ? `?model=${encodeURIComponent(value)}` : "";
}

// The models to choose from (the ranking's answer lists them); the choice is kept.
function offer(models) {
  const select = document.getElementById("risk-model");
  const keep = select.value;
  const options = (models || []).map((m) => h("option", { value: m.id }, m.live ? `${m.name} (live)` : m.name));
  select.replaceChildren(h("option", { value: "" }, "configured model"), ...options);
  select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
  select.onchange = () => show(document.getElementById("risk-region").value.trim() || null);
}

export async function show(region) {
  const body = document.getElementById("risk-body");
  const input = document.getElementById("risk-region");
  if (!region) {
    await ranking(body);
    return;
  }
  input.value = region;
  let data;
  try {
    data = await get(`/api/v1/web/risk/${encodeURIComponent(region)}${chosen()}`);
  } catch (err) {
    body.replaceChildren(h("p", { class: "error" }, err.message));
    return;
  }
  if (!data.available) {
    body.replaceChildren(h("div", { class: "risk-empty", id: "risk-empty" },
      h("h3", {}, "No risk model loaded"),
      h("p", {}, `There is no composite risk index for ${region}: ${data.reason}.`),
      h("p", { class: "note" }, "No numbers are shown where none were computed.")));
    return;
  }
  const nodes = data.nodes;
  const kids = {};
  for (const n of nodes) (kids[n.parent ?? ""] ||= []).push(n);
  const root = (kids[""] || [])[0];
  const head = h("div", {}, h("h3", {}, `${data.model || "Risk index"} — ${data.name || region}`),
    h("p", {}, "Index ", h("strong", {}, number(data.value, 3)), data.class ? [" · class ", h("strong", {}, data.class)] : null,
      data.rank ? ` · rank ${data.rank} of the model's regions` : ""),
    h("p", { class: "note" }, "Each node: its value (0–10 for scores; raw inputs in their units) and its part in how far its parent stands from the average region (the parts add up to that difference; a negative part pulls the parent below average). Expand a node to see what it is made of."),
    h("div", { class: "risk-head", "aria-hidden": "true" }, h("strong", {}, "Node"), h("strong", { class: "v" }, "Value"), h("strong", {}, "Part of parent's difference from average")));
  const tree = h("ul", { class: "risk-tree", role: "tree" }, root ? item(root, kids, 0) : null);
  body.replaceChildren(head, tree);
}

function item(n, kids, depth) {
  const children = kids[n.node] || [];
  const share = n.share;
  const line = h("div", { class: "risk-node" },
    h("span", {}, n.name, h("span", { class: "note" }, ` ${n.node}`)),
    h("span", { class: "v" }, n.value === null ? "missing" : number(n.value, 4)),
    share === null || share === undefined ? h("span", {}) :
      h("span", { class: "share" }, h("span", { class: "bar", "aria-hidden": "true" }, h("span", { style: `width:${Math.max(0, Math.min(100, share * 100))}%` })),
        h("span", {}, `${number(share * 100, 2)} %`)));
  if (!children.length) return h("li", { role: "treeitem" }, line);
  return h("li", { role: "treeitem", "aria-expanded": depth < 2 ? "true" : "false" },
    h("details", { open: depth < 2 }, h("summary", {}, line),
      h("ul", { role: "group" }, children.map((c) => item(c, kids, depth + 1)))));
}

// Without a region: every region the model scores, highest first, each opening its tree.
async function ranking(body) {
  document.getElementById("risk-region").value = "";
  const data = await get(`/api/v1/web/risk${chosen()}`);
  offer(data.models);
  if (!data.available) {
    body.replaceChildren(h("div", { class: "risk-empty", id: "risk-empty" },
      h("h3", {}, "No risk model loaded"), h("p", {}, `${data.reason}.`),
      h("p", { class: "note" }, "No numbers are shown where none were computed.")));
    return;
  }
  const rows = data.regions.map((r) => h("tr", {},
    h("td", {}, r.rank ?? ""),
    h("td", {}, h("a", { href: `#/risk/${encodeURIComponent(r.code)}` }, r.name), h("span", { class: "note" }, ` ${r.code}`)),
    h("td", { class: "v" }, number(r.value, 3)),
    h("td", {}, h("span", { class: "badge", style: riskStyle(r.class) }, r.class || "–"))));
  body.replaceChildren(h("h3", { id: "risk-model-name" }, data.model),
    h("p", { class: "note" }, "Regions by composite risk index, highest first. Open one to see how its index is made up."),
    h("table", { class: "board risk-ranking" }, h("thead", {}, h("tr", {}, h("th", {}, "Rank"), h("th", {}, "Region"), h("th", {}, "Index"), h("th", {}, "Class"))),
      h("tbody", {}, rows)));
}
