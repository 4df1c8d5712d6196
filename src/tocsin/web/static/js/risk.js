// The risk view: a region's composite index as a tree, each node with its value and its
// contribution to its parent. Without a risk model it says so, and shows no numbers.

import { get } from "./api.js";
import { h, number } from "./format.js";

export async function show(region) {
  const body = document.getElementById("risk-body");
  const input = document.getElementById("risk-region");
  if (!region) {
    body.replaceChildren(h("p", { class: "note" }, "Choose a region to see its composite risk index."));
    return;
  }
  input.value = region;
  let data;
  try {
    data = await get(`/api/v1/web/risk/${encodeURIComponent(region)}`);
  } catch (err) {
    body.replaceChildren(h("p", { class: "error" }, err.message));
    return;
  }
  if (!data.available) {
    body.replaceChildren(h("div", { class: "risk-empty", id: "risk-empty" },
      h("h3", {}, "No risk model loaded"),
      h("p", {}, `There is no composite risk index for ${region}: ${data.reason}.`)));
    return;
  }
  const nodes = data.nodes;
  const kids = {};
  for (const n of nodes) (kids[n.parent ?? ""] ||= []).push(n);
  const root = (kids[""] || [])[0];
  const head = h("div", {}, h("h3", {}, `${data.model || "Risk index"} — ${data.name || region}`),
    data.class ? h("p", {}, `Class: `, h("strong", {}, data.class), data.rank ? ` · rank ${data.rank}` : "") : null,
    h("p", { class: "note" }, "Value on the index scale; contribution is the node's share of its parent's value."),
    h("div", { class: "risk-node", "aria-hidden": "true" }, h("strong", {}, "Node"), h("strong", { class: "v" }, "Value"), h("strong", {}, "Contribution")));
  const tree = h("ul", { class: "risk-tree", role: "tree" }, root ? item(root, kids, 0) : null);
  body.replaceChildren(head, tree);
}

function item(n, kids, depth) {
  const children = kids[n.node] || [];
  const share = n.contribution;
  const line = h("div", { class: "risk-node" },
    h("span", {}, n.name, h("span", { class: "note" }, ` ${n.node}`)),
    h("span", { class: "v" }, number(n.value, 3)),
    share === null || share === undefined ? h("span", {}) :
      h("span", { title: `${number(share * 100, 3)} %` }, h("div", { class: "bar" }, h("span", { style: `width:${Math.max(0, Math.min(100, share * 100))}%` })),
        h("span", { class: "sr-only" }, `${number(share * 100, 3)} percent`)));
  if (!children.length) return h("li", { role: "treeitem" }, line);
  return h("li", { role: "treeitem", "aria-expanded": depth < 2 ? "true" : "false" },
    h("details", { open: depth < 2 }, h("summary", {}, line),
      h("ul", { role: "group" }, children.map((c) => item(c, kids, depth + 1)))));
}
