// The indicator view: an indicator's series with its thresholds and the moments its warnings
// were raised, upgraded, downgraded and lifted (plotly.js, loaded only when this view opens).

import { get } from "./api.js";
import { COLOURS, badge, h, when } from "./format.js";

let indicators = [];
let shown = null;
let plotly = null;

function loadPlotly() {
  if (!plotly) {
    plotly = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/vendor/plotly.min.js";
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => reject(new Error("plotly.js could not be loaded"));
      document.head.append(s);
    });
  }
  return plotly;
}

export async function init() {
  document.getElementById("indicator-filter").addEventListener("input", renderList);
}

export function setIndicators(list) {
  indicators = list;
  renderList();
}

function renderList() {
  const q = document.getElementById("indicator-filter").value.trim().toLowerCase();
  const list = document.getElementById("indicator-list");
  const match = (i) => !q || [i.code, i.name, i.region, i.domain].some((x) => String(x).toLowerCase().includes(q));
  list.replaceChildren(...indicators.filter(match).map((i) => h("li", {},
    h("a", { href: `#/indicator/${encodeURIComponent(i.code)}`, "aria-current": i.code === shown ? "true" : "false" },
      i.name, h("span", { class: "sub" }, `${i.code} · ${i.region} · ${i.domain}`)))));
}

export async function show(code) {
  if (!code && indicators.length) code = indicators[0].code;
  if (!code) return;
  shown = code;
  renderList();
  const [data, Plotly] = await Promise.all([get(`/api/v1/web/indicators/${encodeURIComponent(code)}/chart`), loadPlotly()]);
  if (shown !== code) return;
  document.getElementById("indicator-title").textContent = data.name;
  document.getElementById("indicator-meta").textContent =
    `${data.indicator} · region ${data.region} · ${data.domain} · ${data.unit} · ${data.direction.replaceAll("_", " ")} · ` +
    `${data.observations.toLocaleString("en")} observations` + (data.times.length < data.observations ? ` (${data.times.length.toLocaleString("en")} plotted, peaks kept)` : "");
  draw(Plotly, data);
  document.getElementById("chart-note").textContent = data.scores
    ? "" : `Detector scores are not plotted: ${data.scores_note || "none available"}.`;
  document.getElementById("moments").replaceChildren(...data.moments.map((m) => h("li", {},
    badge(m.level), ` ${when(m.at)} · ${m.kind} · `, h("a", { href: `#/board/${m.warning_id}` }, m.reason))));
  if (!data.moments.length) document.getElementById("moments").append(h("li", { class: "note" }, "No warning from this indicator."));
}

function draw(Plotly, data) {
  const x = data.times.map((t) => new Date(t * 1000));
  const traces = [{
    x, y: data.values, type: "scatter", mode: "lines", name: `value (${data.unit})`,
    line: { color: "#24425f", width: 1 }, hovertemplate: "%{x|%Y-%m-%d %H:%M}<br>%{y}<extra></extra>",
  }];
  const shapes = [];
  const x0 = x[0];
  const x1 = x[x.length - 1];
  for (const [level, v] of Object.entries(data.thresholds).reverse()) {
    traces.push({
      x: [x0, x1], y: [v, v], type: "scatter", mode: "lines", name: `${level} threshold ${v}`,
      line: { color: COLOURS[level], width: 1.5, dash: "dash" }, hoverinfo: "name",
    });
  }
  const byKind = { raised: "triangle-up", upgraded: "triangle-up", downgraded: "triangle-down", lifted: "circle-open" };
  const lo = Math.min(...data.values.filter((v) => v !== null));
  for (const kind of Object.keys(byKind)) {
    const ms = data.moments.filter((m) => m.kind === kind);
    if (!ms.length) continue;
    traces.push({
      x: ms.map((m) => new Date(m.at)), y: ms.map(() => lo), type: "scatter", mode: "markers", name: `warning ${kind}`,
      marker: { symbol: byKind[kind], size: 11, color: ms.map((m) => COLOURS[m.level]), line: { color: "#222", width: 1 } },
      text: ms.map((m) => `${m.level.toUpperCase()} ${kind}: ${m.reason}`), hovertemplate: "%{x|%Y-%m-%d %H:%M}<br>%{text}<extra></extra>",
    });
  }
  for (const m of data.moments.filter((m) => m.kind === "raised" || m.kind === "upgraded")) {
    shapes.push({ type: "line", yref: "paper", y0: 0, y1: 1, x0: new Date(m.at), x1: new Date(m.at), line: { color: COLOURS[m.level], width: 1 }, opacity: 0.5 });
  }
  const layout = {
    margin: { l: 56, r: 16, t: 16, b: 40 }, shapes, showlegend: true,
    legend: { orientation: "h", y: -0.15 }, xaxis: { type: "date" }, yaxis: { title: { text: data.unit } },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  };
  const el = document.getElementById("chart");
  el.setAttribute("aria-label", `${data.name}: ${data.observations} observations, ${data.moments.length} warning moments`);
  Plotly.react(el, traces, layout, { responsive: true, displaylogo: false });
  el.dataset.indicator = data.indicator;
}

export function resize() {
  const el = document.getElementById("chart");
  if (window.Plotly && el.data) window.Plotly.Plots.resize(el);
}
