// Talking to the Tocsin API: reads, and writes with the user's bearer token (asked for once,
// kept in localStorage, asked for again if the server refuses it).

const TOKEN_KEY = "tocsin.token";

export class HttpError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
  document.dispatchEvent(new CustomEvent("tocsin:token"));
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

async function parse(response) {
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const detail = typeof body === "object" && body ? body.detail : body;
    throw new HttpError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return body;
}

function urlOf(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(k, x));
    else url.searchParams.set(k, v);
  }
  return url;
}

export async function get(path, params = {}) {
  const url = urlOf(path, params);
  const response = await fetch(url, { headers: headers() });
  if (response.status === 401 || response.status === 403) {
    if (await askToken("Reading needs a token on this server.")) return get(path, params);
  }
  return parse(response);
}

// A write: asks for the token first if there is none, and again if it is refused.
export async function post(path, body) {
  if (!token() && !(await askToken())) throw new HttpError(401, "no token given");
  const send = () =>
    fetch(new URL(path, location.origin), {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body ?? {}),
    });
  let response = await send();
  if (response.status === 401 || response.status === 403) {
    const why = response.status === 401 ? "The token was refused." : "This token may not do that.";
    if (response.status === 401 && (await askToken(why))) response = await send();
  }
  return parse(response);
}

let pending = null;

// Shows the token dialog; resolves true when a token was saved.
export function askToken(message = "") {
  if (pending) return pending;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const error = document.getElementById("token-error");
  error.textContent = message;
  input.value = token();
  pending = new Promise((resolve) => {
    const done = (ok) => {
      form.removeEventListener("submit", onSubmit);
      document.getElementById("token-cancel").removeEventListener("click", onCancel);
      document.getElementById("token-forget").removeEventListener("click", onForget);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      pending = null;
      resolve(ok);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      setToken(value);
      done(true);
    };
    const onCancel = (e) => { e.preventDefault(); done(false); };
    const onForget = () => { setToken(""); done(false); };
    form.addEventListener("submit", onSubmit);
    document.getElementById("token-cancel").addEventListener("click", onCancel);
    document.getElementById("token-forget").addEventListener("click", onForget);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    input.focus();
  });
  return pending;
}

// A file from the API (a PDF, a page, a CSV), fetched with the token and saved under `filename`.
export async function download(path, params, filename) {
  const response = await fetch(urlOf(path, params), { headers: headers({ Accept: "*/*" }) });
  if (!response.ok) {
    await parse(response); // throws with the server's reason
    return;
  }
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}
