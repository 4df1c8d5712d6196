// The public alert page's offline copy: every page, feed and asset under this origin that the
// page fetched is kept; while the network answers, it is used (and the copy refreshed); when it
// does not, the last copy is shown. Nothing is sent anywhere else.
const CACHE = "tocsin-public-alerts-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(["/cap/"])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() =>
        caches
          .match(request, { ignoreSearch: false })
          .then((found) => found || caches.match("/cap/"))
          .then(markedCopy),
      ),
  );
});

// A page shown from the copy says so: its root is marked, and the page shows its offline note.
// (navigator.onLine alone cannot tell: it stays true on a network that does not answer, and in
// a browser whose network is cut for one site.)
function markedCopy(found) {
  const type = found ? found.headers.get("Content-Type") || "" : "";
  if (!type.startsWith("text/html")) return found;
  return found.text().then(
    (text) =>
      new Response(text.replace("<html ", "<html data-offline-copy "), {
        status: found.status,
        statusText: found.statusText,
        headers: found.headers,
      }),
  );
}
