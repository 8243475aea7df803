/* Frontline maps: the view in the URL (permalinks) and the timeline slider. No dependency but Leaflet. */
"use strict";

var frontline = (function () {
  /* Keep the map view in the URL hash (#map=zoom/lat/lon) so a link reopens the same view. */
  function permalink(map) {
    map.attributionControl.setPrefix("Leaflet");  // the library's name, without its default flag
    var match = /map=(\d+)\/(-?[\d.]+)\/(-?[\d.]+)/.exec(window.location.hash);
    if (match) {
      map.setView([parseFloat(match[2]), parseFloat(match[3])], parseInt(match[1], 10));
    }
    map.on("moveend", function () {
      var c = map.getCenter();
      var hash = "#map=" + map.getZoom() + "/" + c.lat.toFixed(4) + "/" + c.lng.toFixed(4);
      history.replaceState(null, "", window.location.pathname + window.location.search + hash);
    });
  }

  /* Settlement labels: the case's key places at every zoom, the others from zoom 9 up. */
  function labels(map) {
    function update() {
      map.getContainer().classList.toggle("fl-labels-minor-hidden", map.getZoom() < 9);
    }
    map.on("zoomend", update);
    update();
  }

  /* Settlements as circle markers in their own pane (above the areas, so they stay clickable), each with its
     name as a permanent label and its popup (markup the server built and escaped). */
  function places(group, list) {
    list.forEach(function (p) {
      L.circleMarker([p.lat, p.lon], {
        radius: p.major ? 5 : 3.5, color: "#111111", weight: 1.5, fill: true, fillColor: "#ffffff", fillOpacity: 1.0,
        pane: "settlements"
      }).bindPopup(p.popup, { maxWidth: 360 })
        .bindTooltip(p.label, { sticky: false, permanent: true, direction: "right", offset: [6, 0],
                                className: "fl-label" + (p.major ? "" : " fl-label-minor") })
        .addTo(group);
    });
  }

  function styleFor(config, p) {
    var grey = p.status === "contested" || p.status === "unknown" || !p.side;
    var color = grey ? config.grey : (config.sides[p.side] || config.grey);
    var base = config.styles[p.status] || config.styles.assessed;
    if (p.stale) { base = Object.assign({}, base, config.staleStyle); }  // outline only: an old observation
    return { color: color, fillColor: color, fillOpacity: base.fillOpacity, weight: base.weight,
             dashArray: base.dashArray };
  }

  /* Text only: data never becomes markup. */
  function tooltip(p) {
    var node = document.createElement("div");
    var seen = p.stale ? "as of " + p.observed_on + " (" + p.age_days + " days before: stale)"
                       : "observed " + p.observed_on;
    [p.series_title, (p.side || "no side") + ", " + p.status, seen,
     Number(p.area_km2).toLocaleString("en", { maximumFractionDigits: 1 }) + " km²"].forEach(function (line) {
      var div = document.createElement("div");
      div.textContent = line;
      node.appendChild(div);
    });
    return node;
  }

  function query(config, extra) {
    var params = new URLSearchParams(config.filters);
    Object.keys(extra).forEach(function (k) { params.set(k, extra[k]); });
    return params.toString();
  }

  /* A claim series' layer group, made (and listed in the layer control, by title) when the series appears. */
  function seriesGroup(map, control, groups, properties) {
    var key = properties.series;
    if (!groups[key]) {
      groups[key] = L.layerGroup().addTo(map);
      var label = document.createElement("span");
      label.textContent = properties.series_title;  // text, never markup
      control.addOverlay(groups[key], label.outerHTML);
    }
    return groups[key];
  }

  /* A slider over the days with data: each day's claims come from /control, its areas from /stats/area;
     each claim series gets its own toggleable layer in the page's layer control. */
  function timeline(map, control, config) {
    var groups = {};
    var fronts = frontLines(map, control, config.fronts || []);
    var days = config.days;
    var dayLabel = document.getElementById("fl-day");
    var areas = document.getElementById("fl-areas");
    var sliderControl = L.control({ position: "bottomleft" });
    var slider, playButton, timer = null, shown = null;

    sliderControl.onAdd = function () {
      var div = L.DomUtil.create("div", "fl-slider");
      playButton = L.DomUtil.create("button", "", div);
      playButton.type = "button";
      playButton.id = "fl-play";
      playButton.textContent = "▶ play";
      slider = L.DomUtil.create("input", "", div);
      slider.type = "range";
      slider.id = "fl-slider";
      slider.min = 0;
      slider.max = Math.max(days.length - 1, 0);
      slider.step = 1;
      var count = L.DomUtil.create("span", "", div);
      count.textContent = " " + days.length + " days with data";
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
      playButton.addEventListener("click", togglePlay);
      return div;
    };
    sliderControl.addTo(map);

    function show(index) {
      var day = days[index];
      if (day === undefined || day === shown) { return; }
      shown = day;
      slider.value = index;
      dayLabel.textContent = day;
      frontsOn(map, fronts, day);
      var url = new URL(window.location.href);
      url.searchParams.set("day", day);
      history.replaceState(null, "", url.pathname + url.search + url.hash);
      fetch(config.controlUrl + "?" + query(config, { date: day, simplify: config.simplify }))
        .then(function (r) { return r.json(); })
        .then(function (collection) {
          if (shown !== day) { return; }
          Object.keys(groups).forEach(function (key) { groups[key].clearLayers(); });
          collection.features.forEach(function (feature) {
            var group = seriesGroup(map, control, groups, feature.properties);
            if (config.tileTemplate) {  // the day's polygons of the series from the vector tiles
              var p = feature.properties;
              var asked = { series: p.series, datetime: p.observed_on };
              if (p.illustrative) { asked.source = p.source; }  // examples are tiled only when asked for
              tileGrid(map, config.tileTemplate + "?" + new URLSearchParams(asked), styleFor(config, p))
                .addTo(group);
              return;
            }
            L.geoJSON(feature, {
              style: function (f) { return styleFor(config, f.properties); },
              onEachFeature: function (f, l) { l.bindTooltip(tooltip(f.properties)); }
            }).addTo(group);
          });
          document.body.setAttribute("data-day-shown", day);
        });
      fetch(config.areaUrl + "?" + query(config, { date: day }))
        .then(function (r) { return r.json(); })
        .then(function (table) {
          if (shown !== day) { return; }
          areas.textContent = "";
          table.rows.forEach(function (row) {
            var div = document.createElement("div");
            div.textContent = row.title + " (observed " + row.observed_on + "): " +
              Number(row.area_km2).toLocaleString("en", { maximumFractionDigits: 1 }) + " km²";
            areas.appendChild(div);
          });
        });
    }

    function togglePlay() {
      if (timer) {
        clearInterval(timer);
        timer = null;
        playButton.textContent = "▶ play";
        return;
      }
      playButton.textContent = "❚❚ pause";
      timer = setInterval(function () {
        var next = (parseInt(slider.value, 10) + 1) % days.length;
        show(next);
      }, config.intervalMs || 1200);
    }

    /* A settlement's popup says who holds it on the day shown, per source (asked when it opens). */
    map.on("popupopen", function (event) {
      var at = event.popup.getLatLng();
      var place = config.places.filter(function (p) {
        return Math.abs(p.lat - at.lat) < 1e-7 && Math.abs(p.lon - at.lng) < 1e-7;
      })[0];
      var day = shown;
      if (!place || !day) { return; }
      fetch(config.placeUrl.replace("__KEY__", encodeURIComponent(place.key)) + "?" + query(config, { date: day }))
        .then(function (r) { return r.json(); })
        .then(function (table) {
          var node = document.createElement("div");
          var title = document.createElement("b");
          title.textContent = place.name;
          node.appendChild(title);
          node.appendChild(document.createTextNode(" on " + day + ":"));
          var held = table.rows.filter(function (row) { return row.holds; });
          if (!held.length) {
            held = [{ none: true }];
          }
          held.forEach(function (row) {
            var line = document.createElement("div");
            line.className = "fl-holder";
            line.textContent = row.none ? "no source's control area covers it on this day" :
              row.title + ": " + (row.side || "unknown") + " " + row.status + " since " + row.held_since +
              " (observed " + row.observed_on + ")";
            node.appendChild(line);
          });
          event.popup.setContent(node);
        });
    });

    var start = config.day ? days.indexOf(config.day) : -1;
    show(start >= 0 ? start : days.length - 1);
  }

  // Control areas drawn from the vector tiles (Leaflet.VectorGrid), one overlay per claim series: each
  // layer's URL template already names the series and its observation day.
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

  function tileLayers(map, control, layers) {
    layers.forEach(function (spec) {
      var grid = tileGrid(map, spec.url, spec.style, spec.attribution);
      grid.on("click", function (event) {
        var p = event.layer.properties;
        L.popup().setLatLng(event.latlng).setContent(
          document.createTextNode(spec.title + ": " + p.name + ", " + p.area_km2 + " km² (" + p.observed_on + ")")
        ).openOn(map);
      });
      grid.addTo(map);
      control.addOverlay(grid, spec.title);
    });
  }

  // Front lines (GET /frontline), one overlay per claim series with a side, fetched when shown. A spec's URL may
  // hold __DAY__: the timeline sets the day (frontsOn), and a shown line follows it.
  function frontLines(map, control, fronts) {
    return fronts.map(function (spec) {
      var layer = L.geoJSON(null, {
        style: { color: spec.colour, weight: 4, opacity: 0.95, lineCap: "round", dashArray: spec.dashed ? "7 7" : null },
        onEachFeature: function (f, l) {
          var label = document.createElement("span");
          label.textContent = "Front line of " + spec.title + ": " + f.properties.length_km + " km (geodesic), " +
            "observed " + f.properties.observed_on;
          l.bindTooltip(label, { sticky: true });
        }
      });
      layer.flSpec = spec;
      layer.flUrl = spec.url.indexOf("__DAY__") < 0 ? spec.url : null;
      layer.on("add", function () { loadFront(layer); });
      control.addOverlay(layer, "Front line: " + spec.title);
      if (spec.shown) { layer.addTo(map); }
      return layer;
    });
  }

  function loadFront(layer) {
    var url = layer.flUrl;
    if (!url || layer.flLoaded === url) { return; }
    layer.flLoaded = url;
    fetch(url).then(function (r) { return r.json(); }).then(function (c) {
      if (layer.flLoaded !== url) { return; }
      layer.clearLayers();
      if (c.features) { layer.addData(c); }  // a day before the series' first observation: a 404, no line
    });
  }

  function frontsOn(map, layers, day) {
    layers.forEach(function (layer) {
      layer.flUrl = layer.flSpec.url.replace("__DAY__", day);
      if (map.hasLayer(layer)) { loadFront(layer); }
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
    share: share,
    permalink: permalink, labels: labels, places: places, timeline: timeline, tileLayers: tileLayers,
    frontLines: frontLines
  };
})();
