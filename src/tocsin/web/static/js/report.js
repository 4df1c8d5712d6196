// The public report page: send a hazard report through Open311 (GeoReport v2) and follow one.
// Everything it loads comes from this server: Leaflet from the installed package, the regions'
// shapes from the dashboard's map endpoint (no tiles), the services and requests from Open311.

const OPEN311 = "/open311/v2";
const key = document.querySelector('meta[name="open311-key"]')?.content || "";
const $ = (id) => document.getElementById(id);
let map = null;
let marker = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

async function json(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, body };
}

function errorsOf(answer) {
  if (Array.isArray(answer.body)) return answer.body.map((e) => e.description);
  if (answer.body && answer.body.detail) return [answer.body.detail];
  return [`the server answered ${answer.status}`];
}

async function loadServices() {
  const answer = await json(`${OPEN311}/services.json`);
  if (!answer.ok) return;
  for (const service of answer.body) {
    const option = el("option", { value: service.service_code }, service.service_name);
    option.dataset.description = service.description || "";
    option.dataset.metadata = String(service.metadata);
    $("service").append(option);
  }
}

function attributeInput(attribute) {
  const name = `attribute[${attribute.code}]`;
  const id = `attr-${attribute.code}`;
  const label = el("label", { for: id }, attribute.description + (attribute.required ? "" : " (optional)"));
  if (attribute.datatype === "singlevaluelist") {
    const select = el("select", { id, name }, el("option", { value: "" }, "Choose…"));
    for (const v of attribute.values) select.append(el("option", { value: v.key }, v.name));
    if (attribute.required) select.required = true;
    return [label, select];
  }
  if (attribute.datatype === "multivaluelist") {
    const boxes = attribute.values.map((v) =>
      el("label", {}, el("input", { type: "checkbox", name: `${name}[]`, value: v.key }), " ", v.name));
    return [el("fieldset", {}, el("legend", {}, attribute.description), ...boxes)];
  }
  if (attribute.datatype === "datetime") {
    // the device's date and time picker; sent as ISO 8601 with its offset (UTC), as the
    // server requires, where a text box asked the citizen to type "2026-12-02T09:00:00+01:00"
    const input = el("input", { id, name, type: "datetime-local", "data-datetime": "true" });
    if (attribute.required) input.required = true;
    return [label, input];
  }
  const input = el("input", { id, name, inputmode: attribute.datatype === "number" ? "decimal" : "text" });
  if (attribute.required) input.required = true;
  return [label, input];
}

async function showAttributes() {
  const option = $("service").selectedOptions[0];
  $("attributes").replaceChildren();
  $("service-description").textContent = option ? option.dataset.description || "" : "";
  if (!option || option.dataset.metadata !== "true") return;
  const answer = await json(`${OPEN311}/services/${encodeURIComponent(option.value)}.json`);
  if (!answer.ok) return;
  const attributes = [...answer.body.attributes].sort((a, b) => a.order - b.order);
  for (const attribute of attributes.filter((a) => a.variable)) {
    $("attributes").append(...attributeInput(attribute));
  }
}

// A typed coordinate in decimal degrees, with a point or a decimal comma ("43,7731"); NaN for
// anything else, which is then sent as typed for the server to refuse: parseFloat alone read
// "43,7731" as 43 and moved the point some 80 km without a word.
function degrees(text) {
  const t = text.trim().replace(",", ".");
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t) ? Number(t) : NaN;
}

function place(lat, lng) {
  $("lat").value = lat.toFixed(6);
  $("long").value = lng.toFixed(6);
  if (!map) return;
  if (marker) marker.setLatLng([lat, lng]);
  else marker = L.circleMarker([lat, lng], { radius: 9, color: "#a40e26", weight: 3 }).addTo(map);
}

async function initMap() {
  if (typeof L === "undefined") return;
  map = L.map("map", { attributionControl: false });
  map.setView([45, 10], 5);
  map.on("click", (e) => place(e.latlng.lat, e.latlng.lng));
  const answer = await json("/api/v1/public/regions.geojson");
  if (answer.ok && answer.body.features.length) {
    const shapes = L.geoJSON(answer.body, { style: { className: "region-outline" }, interactive: false });
    shapes.addTo(map);
    map.fitBounds(shapes.getBounds());
  }
}

async function send(event) {
  event.preventDefault();
  const result = $("send-result");
  const form = new FormData($("report-form"));
  for (const name of ["media", "email", "phone", "description"]) {
    const value = form.get(name);
    if (!value || (value instanceof File && value.size === 0)) form.delete(name);
  }
  for (const input of $("attributes").querySelectorAll("input[data-datetime]")) {
    const moment = new Date(input.value);
    if (input.value && !Number.isNaN(moment.getTime())) form.set(input.name, moment.toISOString());
  }
  form.set("api_key", key);
  $("submit").disabled = true;
  result.replaceChildren("Sending…");
  try {
    const answer = await json(`${OPEN311}/requests.json`, { method: "POST", body: form });
    if (answer.ok) {
      const id = answer.body[0].service_request_id;
      result.replaceChildren(
        el("p", { class: "ok" }, "Thank you. Your tracking number:"),
        el("p", { class: "tracking-number", id: "tracking-number" }, id),
        el("a", { href: `#track=${id}` }, "Follow this report"));
    } else {
      result.replaceChildren(el("p", { class: "error" }, "The report was not sent:"),
        el("ul", {}, ...errorsOf(answer).map((text) => el("li", {}, text))));
    }
  } catch (err) {
    result.replaceChildren(el("p", { class: "error" }, "No connection: the report was not sent."));
  } finally {
    $("submit").disabled = false;
  }
}

async function track(id) {
  const out = $("track-result");
  $("tracking").value = id;
  const answer = await json(`/api/v1/public/reports/${encodeURIComponent(id)}`);
  if (!answer.ok) {
    out.replaceChildren(el("p", { class: "error" }, errorsOf(answer)[0]));
    return;
  }
  const r = answer.body;
  const steps = r.updates.map((u) =>
    el("li", {}, el("time", { datetime: u.at }, new Date(u.at).toLocaleString()), ` — ${u.status}: ${u.note}`));
  out.replaceChildren(
    el("p", {}, `${r.service_name}: `, el("strong", { id: "track-status" }, r.status), ` (${r.open311_status})`),
    el("ol", { class: "updates", id: "track-updates" }, ...steps));
}

function fromHash() {
  const match = location.hash.match(/^#track=([\w-]{1,64})$/);
  if (match) track(match[1]);
}

window.addEventListener("DOMContentLoaded", async () => {
  if (!key) {
    $("disabled").hidden = false;
    $("submit").disabled = true;
  }
  $("service").addEventListener("change", showAttributes);
  $("report-form").addEventListener("submit", send);
  $("track-form").addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = `track=${$("tracking").value.trim()}`;
  });
  $("locate").addEventListener("click", () =>
    navigator.geolocation?.getCurrentPosition((p) => place(p.coords.latitude, p.coords.longitude)));
  for (const id of ["lat", "long"]) {
    $(id).addEventListener("change", () => {
      const lat = degrees($("lat").value), lng = degrees($("long").value);
      if (Number.isFinite(lat) && Number.isFinite(lng)) place(lat, lng);
    });
  }
  window.addEventListener("hashchange", fromHash);
  await Promise.all([loadServices(), initMap()]);
  fromHash();
});
