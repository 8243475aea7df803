/* Frontline maps, the layers: the view in the URL, settlements and their labels (which never overlap), control
   areas from vector tiles, front lines, attributions. panel.js builds the controls around them; timeline.js the
   slider. No dependency but Leaflet. Data never becomes markup: names are set as text, or escaped by the server. */
"use strict";

var frontline = (function () {
  /* What the page shows beyond its query, in the URL hash so a link reopens it: the view
     (#map=zoom/lat/lon) and the layers switched away from the page's defaults (&layers=-key,+key). */
  function hashGet(name) {
    var found = new RegExp("[#&]" + name + "=([^&]*)").exec(window.location.hash);
    return found ? decodeURIComponent(found[1]) : null;
  }

  function hashSet(name, value) {
    var parts = window.location.hash.replace(/^#/, "").split("&").filter(function (p) {
      return p && p.indexOf(name + "=") !== 0;
    });
    if (value) { parts.push(name + "=" + encodeURIComponent(value).replace(/%(2F|2C|2B|3A)/g, decodeURIComponent)); }
    parts.sort();  // map= first, then layers=
    history.replaceState(null, "", window.location.pathname + window.location.search +
                         (parts.length ? "#" + parts.join("&") : ""));
    document.dispatchEvent(new Event("fl-hash"));
  }

  function permalink(map) {
    map.attributionControl.setPrefix("Leaflet");  // the library's name, without its default flag
    var match = /^(\d+)\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(hashGet("map") || "");
    if (match) {
      map.setView([parseFloat(match[2]), parseFloat(match[3])], parseInt(match[1], 10));
    }
    map.on("moveend", function () {
      var c = map.getCenter();
      hashSet("map", map.getZoom() + "/" + c.lat.toFixed(4) + "/" + c.lng.toFixed(4));
    });
  }

  /* Settlements as circle markers in their own pane (above the areas, so they stay clickable), each with its
     name as a permanent label and its popup (markup the server built and escaped). Labels are decluttered. */
  function places(map, group, list) {
    var markers = list.map(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: p.major ? 5 : 3.5, color: "#111111", weight: 1.5, fill: true, fillColor: "#ffffff",
        fillOpacity: 1.0, pane: "settlements"
      }).bindPopup(p.popup, { maxWidth: 360 })
        .bindTooltip(p.label, { sticky: false, permanent: true, direction: "right", offset: [6, 0],
                                className: "fl-label" + (p.major ? " fl-label-major" : "") });
      marker.flRank = p.rank || 0;
      marker.flName = p.label;
      return marker.addTo(group);
    });
    markers.sort(function (a, b) { return b.flRank - a.flRank || (a.flName < b.flName ? -1 : 1); });
    var pending = null;
    function later() {
      if (pending === null) { pending = requestAnimationFrame(function () { pending = null; declutter(map, markers); }); }
    }
    map.on("zoomend moveend resize layeradd layerremove", later);
    map.flDeclutter = function () { declutter(map, markers); };
    declutter(map, markers);
  }

  /* Show each label that fits: by rank (the case's key places, then population), a label is shown on the right
     of its marker, else on its left, where it stays inside the map and overlaps no label already shown, no other
     settlement's marker and no front line drawn; else it is hidden (kept in the page, so the marker's name is
     still read out). */
  function declutter(map, markers) {
    var taken = [];
    var fronts = frontSegments(map);
    var origin = map.getContainer().getBoundingClientRect();
    var view = L.bounds([0, 0], [origin.width, origin.height]);
    var dots = markers.filter(function (m) { return map.hasLayer(m); }).map(function (m) {
      var c = map.latLngToContainerPoint(m.getLatLng()), r = m.getRadius() + 1;
      return { marker: m, box: { left: c.x - r, top: c.y - r, right: c.x + r, bottom: c.y + r } };
    });
    markers.forEach(function (marker) {
      var tooltip = marker.getTooltip();
      var element = tooltip && tooltip.getElement();
      if (!element || !map.hasLayer(marker)) { return; }
      var point = map.latLngToContainerPoint(marker.getLatLng());
      element.classList.remove("fl-label-hidden");
      if (!view.contains(point)) { element.classList.add("fl-label-hidden"); return; }
      var placed = false;
      ["right", "left"].some(function (side) {
        tooltip.options.direction = side;
        tooltip.options.offset = side === "right" ? [6, 0] : [-6, 0];
        tooltip.update();
        var r = element.getBoundingClientRect();
        var box = { left: r.left - origin.left - 1, top: r.top - origin.top - 1,
                    right: r.right - origin.left + 1, bottom: r.bottom - origin.top + 1 };
        var free = box.left >= 0 && box.top >= 0 && box.right <= origin.width && box.bottom <= origin.height &&
          !taken.some(function (t) { return overlaps(t, box); }) &&
          !dots.some(function (d) { return d.marker !== marker && overlaps(d.box, box); }) &&
          !fronts.some(function (s) { return crosses(s, box); });
        if (free) { taken.push(box); placed = true; }
        return free;
      });
      if (!placed) { element.classList.add("fl-label-hidden"); }
    });
  }

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  /* Whether segment s ([x1, y1, x2, y2], container pixels) passes through box b (Liang–Barsky clipping). */
  function crosses(s, b) {
    var t0 = 0, t1 = 1, dx = s[2] - s[0], dy = s[3] - s[1];
    var checks = [[-dx, s[0] - b.left], [dx, b.right - s[0]], [-dy, s[1] - b.top], [dy, b.bottom - s[1]]];
    for (var i = 0; i < 4; i++) {
      var p = checks[i][0], q = checks[i][1];
      if (p === 0) { if (q < 0) { return false; } continue; }
      var t = q / p;
      if (p < 0) { if (t > t1) { return false; } if (t > t0) { t0 = t; } } else { if (t < t0) { return false; } if (t < t1) { t1 = t; } }
    }
    return true;
  }

  /* The segments of every front line on the map, in container pixels. */
  function frontSegments(map) {
    var segments = [];
    map.eachLayer(function (layer) {
      if (!layer.flFront || !layer.getLayers) { return; }
      layer.eachLayer(function (feature) {
        if (!feature.getLatLngs) { return; }
        var parts = feature.getLatLngs();
        if (parts.length && !Array.isArray(parts[0])) { parts = [parts]; }
        parts.forEach(function (part) {
          for (var i = 1; i < part.length; i++) {
            var a = map.latLngToContainerPoint(part[i - 1]), b = map.latLngToContainerPoint(part[i]);
            segments.push([a.x, a.y, b.x, b.y]);
          }
        });
      });
    });
    return segments;
  }

  // A layer of control areas from the vector tiles (Leaflet.VectorGrid). Tile layers live in the tile pane,
  // under the regions' fills: they get a pane of their own, above the overlays.
  function tileGrid(map, url, style, attribution) {
    if (!map.getPane("frontline-tiles")) {
      map.createPane("frontline-tiles").style.zIndex = 450;
    }
    return L.vectorGrid.protobuf(url, {
      vectorTileLayerStyles: { "control-areas": Object.assign({ fill: true }, style) }, interactive: true,
      maxNativeZoom: 22, pane: "frontline-tiles", rendererFactory: L.svg.tile, attribution: attribution
    });
  }

  /* A series' areas from the vector tiles, with a popup on click (text only). */
  function tileLayer(map, spec, title) {
    var grid = tileGrid(map, spec.url, spec.style, spec.attribution);
    grid.on("click", function (event) {
      var p = event.layer.properties;
      L.popup().setLatLng(event.latlng).setContent(
        document.createTextNode(title + ": " + p.name + ", " + p.area_km2 + " km² (" + p.observed_on + ")")
      ).openOn(map);
    });
    return grid;
  }

  // A front line (GET /frontline), fetched when shown. Its URL may hold __DAY__: the timeline sets the day
  // (setDay), and a shown line follows it.
  function frontLayer(map, spec, title) {
    var layer = L.geoJSON(null, {
      style: { color: spec.colour, weight: 4, opacity: 0.95, lineCap: "round", dashArray: spec.dashed ? "7 7" : null },
      onEachFeature: function (f, l) {
        var label = document.createElement("span");
        label.textContent = "Front line of " + title + ": " + f.properties.length_km + " km (geodesic), " +
          "observed " + f.properties.observed_on;
        l.bindTooltip(label, { sticky: true });
      }
    });
    layer.flFront = true;
    layer.flUrl = spec.url.indexOf("__DAY__") < 0 ? spec.url : null;
    layer.on("add", function () { loadFront(map, layer); });
    layer.setDay = function (day) {
      layer.flUrl = spec.url.replace("__DAY__", day);
      if (map.hasLayer(layer)) { loadFront(map, layer); }
    };
    return layer;
  }

  function loadFront(map, layer) {
    var url = layer.flUrl;
    if (!url || layer.flLoaded === url) { return; }
    layer.flLoaded = url;
    fetch(url).then(function (r) { return r.json(); }).then(function (c) {
      if (layer.flLoaded !== url) { return; }
      layer.clearLayers();
      if (c.features) { layer.addData(c); }  // a day before the series' first observation: a 404, no line
      if (map.flDeclutter) { map.flDeclutter(); }  // labels give way to the line
    });
  }

  // The share and cite panel: each source's attribution on the map, the embedded layout, and the retrieval day
  // (the reader's today) in the citation entries.
  function share(map, config) {
    config.attributions.forEach(function (text) {
      var holder = document.createElement("span");
      holder.textContent = text;
      map.attributionControl.addAttribution(holder.innerHTML);
    });
    if (config.embed) {
      document.body.classList.add("fl-embed");
      map.invalidateSize();
    }
    var now = new Date().toISOString();
    var today = now.slice(0, 10);
    document.querySelectorAll("[data-fl-accessed]").forEach(function (e) {
      e.textContent = now.slice(0, 16).replace("T", " ") + " UTC";
    });
    var bibtex = document.getElementById("fl-bibtex");
    if (bibtex) {
      bibtex.textContent = bibtex.textContent.replace(/urldate = \{[0-9-]+\}/, "urldate = {" + today + "}");
    }
    var csl = document.getElementById("fl-csl");
    if (csl) {
      var item = JSON.parse(csl.textContent);
      item.accessed = { "date-parts": [today.split("-").map(Number)] };
      csl.textContent = JSON.stringify(item, null, 2);
    }
  }

  return {
    permalink: permalink, hashGet: hashGet, hashSet: hashSet, places: places,
    tileGrid: tileGrid, tileLayer: tileLayer,
    frontLayer: frontLayer, share: share
  };
})();
