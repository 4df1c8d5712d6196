// Runs before anything else: when the page opens on the map, ask for the map's data at once,
// in parallel with loading the modules, instead of after them (the first view's critical path).
// The session cookie goes with it; without one the answer is 401 and the page signs in.
(function () {
  var m = /^#\/?(?:map)?(?:\/([^/]*))?/.exec(location.hash || "#/map");
  if (!m || (location.hash && !/^#\/?(map|$)/.test(location.hash))) return;
  var parent = m[1] ? decodeURIComponent(m[1]) : "";
  var url = "/api/v1/web/map" + (parent ? "?parent=" + encodeURIComponent(parent) : "");
  var request = { headers: { Accept: "application/json" }, credentials: "same-origin" };
  window.__tocsinFirstMap = { url: url, response: fetch(url, request) };
})();
