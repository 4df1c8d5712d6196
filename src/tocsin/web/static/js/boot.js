// Runs before anything else: when the page opens on the map, ask for the map's data at once,
// in parallel with loading the modules, instead of after them (the first view's critical path).
(function () {
  var m = /^#\/?(?:map)?(?:\/([^/]*))?/.exec(location.hash || "#/map");
  if (!m || (location.hash && !/^#\/?(map|$)/.test(location.hash))) return;
  var parent = m[1] ? decodeURIComponent(m[1]) : "";
  var url = "/api/v1/web/map" + (parent ? "?parent=" + encodeURIComponent(parent) : "");
  var headers = { Accept: "application/json" };
  var token = localStorage.getItem("tocsin.token");
  if (token) headers.Authorization = "Bearer " + token;
  window.__tocsinFirstMap = { url: url, response: fetch(url, { headers: headers }) };
})();
