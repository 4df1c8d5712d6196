// The public alert page: a map of the areas under alert (no tiles: nothing leaves this server),
// and an offline copy kept by a service worker. The page reads fine without either.
(function () {
  "use strict";

  function drawMap() {
    var data = JSON.parse(document.getElementById("alert-areas").textContent);
    var box = document.getElementById("map");
    if (!window.L || !data.features.length) return;
    box.hidden = false;
    var map = L.map(box, { attributionControl: false, zoomSnap: 0.25 });
    var styles = getComputedStyle(document.documentElement);
    var layer = L.geoJSON(data, {
      style: function (f) {
        var probe = document.createElement("span");
        probe.className = "lvl-" + f.properties.level;
        document.body.appendChild(probe);
        var colour = getComputedStyle(probe).getPropertyValue("--lvl").trim() || styles.color;
        probe.remove();
        return { color: colour, weight: 2, fillOpacity: 0.35 };
      },
      onEachFeature: function (f, l) {
        var a = document.createElement("a");
        a.href = "#" + f.properties.id;
        a.textContent = f.properties.title + " — " + f.properties.area;
        l.bindPopup(a);
      },
    }).addTo(map);
    map.fitBounds(layer.getBounds(), { padding: [12, 12] });
    box.dataset.areas = String(data.features.length);
  }

  function keepOffline() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/cap/offline.js", { scope: "/cap/" }).catch(function () {});
    var note = document.getElementById("offline");
    // shown from the worker's copy (it marks the page), or told the network is gone
    var copy = document.documentElement.hasAttribute("data-offline-copy");
    var show = function () { note.hidden = navigator.onLine && !copy; };
    window.addEventListener("online", function () { copy = false; show(); });
    window.addEventListener("offline", show);
    show();
  }

  drawMap();
  keepOffline();
})();
