// Talking to the Tocsin API as a signed-in person: the session lives in an HttpOnly cookie the
// browser sends by itself (no token is ever kept by this page or put in a URL); writes carry
// the session's CSRF token. When the server says 401, the sign-in dialog asks for a user name
// and password (or an API token) and the request is sent again.

export class HttpError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

let session = null; // {user, csrf, ...} from GET /api/v1/session

export function who() {
  return session;
}

function setSession(value) {
  session = value;
  document.dispatchEvent(new CustomEvent("tocsin:session", { detail: value }));
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

const JSON_HEADERS = { Accept: "application/json" };

// Who is signed in (null when nobody is).
export async function loadSession() {
  const response = await fetch("/api/v1/session", { headers: JSON_HEADERS, credentials: "same-origin" });
  setSession(response.ok ? await response.json() : null);
  return session;
}

function urlOf(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(k, x));
    else url.searchParams.set(k, v);
  }
  return url;
}

export async function get(path, params = {}) {
  const url = urlOf(path, params);
  const response = await fetch(url, { headers: JSON_HEADERS, credentials: "same-origin" });
  if (response.status === 401 && (await signIn("Sign in to see this server's data."))) return get(path, params);
  return parse(response);
}

async function send(method, path, body) {
  return fetch(new URL(path, location.origin), {
    method,
    credentials: "same-origin",
    headers: { ...JSON_HEADERS, "Content-Type": "application/json", "X-CSRF-Token": session?.csrf || "" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// A write: signs in first if needed, and once more if the session has ended.
export async function post(path, body, method = "POST") {
  if (!session?.csrf) await loadSession();
  if (!session?.csrf && !(await signIn())) throw new HttpError(401, "not signed in");
  let response = await send(method, path, body ?? {});
  if (response.status === 401 && (await signIn("The session has ended: sign in again."))) {
    response = await send(method, path, body ?? {});
  }
  return parse(response);
}

// A file from the API (a PDF, a page, a CSV), fetched with the session and saved as `filename`.
export async function download(path, params, filename) {
  let response = await fetch(urlOf(path, params), { headers: { Accept: "*/*" }, credentials: "same-origin" });
  if (response.status === 401 && (await signIn("Sign in to download this."))) {
    response = await fetch(urlOf(path, params), { headers: { Accept: "*/*" }, credentials: "same-origin" });
  }
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

export async function signOut() {
  if (session?.csrf) await send("DELETE", "/api/v1/session");
  setSession(null);
}

let pending = null;

// Shows the sign-in dialog; resolves true when a session was opened.
export function signIn(message = "") {
  if (pending) return pending;
  const dialog = document.getElementById("sign-in-dialog");
  const form = document.getElementById("sign-in-form");
  const error = document.getElementById("sign-in-error");
  error.textContent = message;
  pending = new Promise((resolve) => {
    const done = (ok) => {
      form.removeEventListener("submit", onSubmit);
      document.getElementById("sign-in-cancel").removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      pending = null;
      resolve(ok);
    };
    const onSubmit = async (e) => {
      e.preventDefault();
      const user = form.elements.user.value.trim();
      const password = form.elements.password.value;
      const token = form.elements.token.value.trim();
      const body = token ? { token } : { user, password };
      if (!token && !(user && password)) {
        error.textContent = "Give a user name and password, or an API token.";
        return;
      }
      const response = await fetch("/api/v1/session", {
        method: "POST", credentials: "same-origin",
        headers: { ...JSON_HEADERS, "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        error.textContent = problem.detail || `Not signed in (HTTP ${response.status}).`;
        return;
      }
      form.reset();
      setSession(await response.json());
      done(true);
    };
    const onCancel = (e) => { e.preventDefault(); done(false); };
    form.addEventListener("submit", onSubmit);
    document.getElementById("sign-in-cancel").addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    form.elements.user.focus();
  });
  return pending;
}
