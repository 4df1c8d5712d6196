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
  const note = document.getElementById("chart-note");
  note.textContent = "Detector scores: computing…";
  draw(Plotly, data, null);
  get(`/api/v1/web/indicators/${encodeURIComponent(code)}/scores`).then((scores) => {
    if (shown !== code) return;
    draw(Plotly, data, scores);
    note.textContent = `Lower panel: anomaly score of the ${scores.detector} detector (0–1, higher is more anomalous), ` +
      "replayed over the stored history, with its decision threshold" + (scores.score_thresholds ? " and the levels' score thresholds." : ".");
  }).catch((err) => {
    if (shown === code) note.textContent = `Detector scores are not plotted: ${err.message}.`;
  });
  document.getElementById("moments").replaceChildren(...data.moments.map((m) => h("li", {},
    badge(m.level), ` ${when(m.at)} · ${m.kind} · `, h("a", { href: `#/board/${m.warning_id}` }, m.reason))));
  if (!data.moments.length) document.getElementById("moments").append(h("li", { class: "note" }, "No warning from this indicator."));
}

// plotly.js reads a few HTML-like tags in its texts: text from configuration or people is given
// with < > & escaped, so it is shown as written and never read as markup
function plain(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function draw(Plotly, data, scores) {
  const x = data.times.map((t) => new Date(t * 1000));
  const traces = [{
    x, y: data.values, type: "scatter", mode: "lines", name: plain(`value (${data.unit})`),
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
  for (const kind of Object.keys(byKind)) {
    const ms = data.moments.filter((m) => m.kind === kind);
    if (!ms.length) continue;
    traces.push({
      x: ms.map((m) => new Date(m.at)), y: ms.map((m) => valueAt(data, Date.parse(m.at) / 1000)),
      type: "scatter", mode: "markers", name: `warning ${kind}`,
      marker: { symbol: byKind[kind], size: 11, color: ms.map((m) => COLOURS[m.level]), line: { color: "#222", width: 1 } },
      text: ms.map((m) => plain(`${m.level.toUpperCase()} ${kind}: ${m.reason}`)), hovertemplate: "%{x|%Y-%m-%d %H:%M}<br>%{text}<extra></extra>",
    });
  }
  for (const m of data.moments.filter((m) => m.kind === "raised" || m.kind === "upgraded")) {
    shapes.push({ type: "line", yref: "paper", y0: 0, y1: 1, x0: new Date(m.at), x1: new Date(m.at), line: { color: COLOURS[m.level], width: 1 }, opacity: 0.5 });
  }
  const layout = {
    margin: { l: 56, r: 16, t: 16, b: 40 }, shapes, showlegend: true,
    legend: { orientation: "h", y: -0.15 }, xaxis: { type: "date" }, yaxis: { title: { text: plain(data.unit) } },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  };
  if (scores) addScores(traces, layout, scores);
  const el = document.getElementById("chart");
  el.setAttribute("aria-label", `${data.name}: ${data.observations} observations, ${data.moments.length} warning moments`);
  Plotly.react(el, traces, layout, { responsive: true, displaylogo: false });
  el.dataset.indicator = data.indicator;
}

// The plotted value nearest in time to `t` (epoch seconds): a warning's marker sits on the
// series where it changed, not on the axis.
function valueAt(data, t) {
  let lo = 0;
  let hi = data.times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (data.times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  const before = Math.max(lo - 1, 0);
  const i = Math.abs(data.times[before] - t) < Math.abs(data.times[lo] - t) ? before : lo;
  return data.values[i];
}

// A lower panel with the detector's scores, its decision threshold and per-level thresholds.
function addScores(traces, layout, scores) {
  layout.yaxis.domain = [0.34, 1];
  layout.yaxis2 = { domain: [0, 0.26], range: [0, 1.02], title: { text: "score" } };
  const x = scores.times.map((t) => new Date(t * 1000));
  traces.push({
    x, y: scores.scores, type: "scatter", mode: "lines", name: `detector score (${scores.detector})`,
    yaxis: "y2", line: { color: "#7b2ff7", width: 1 }, hovertemplate: "%{x|%Y-%m-%d %H:%M}<br>score %{y:.3f}<extra></extra>",
  });
  const lines = Object.entries(scores.score_thresholds || {}).filter(([, v]) => v !== null && v !== undefined);
  if (!lines.length && scores.decision_threshold !== null && scores.decision_threshold !== undefined) {
    lines.push(["decision", scores.decision_threshold]);
  }
  for (const [level, v] of lines) {
    traces.push({
      x: [x[0], x[x.length - 1]], y: [v, v], type: "scatter", mode: "lines", yaxis: "y2",
      name: `${level} score ${v}`, line: { color: COLOURS[level] || "#666", width: 1, dash: "dot" }, hoverinfo: "name",
    });
  }
}

export function resize() {
  const el = document.getElementById("chart");
  if (window.Plotly && el.data) window.Plotly.Plots.resize(el);
}
