/* Frontline maps, the timeline: a slider over the days with data; each day's claims come from /control, its
   areas from /stats/area; each claim series gets its own layer in the page's layer list when it first appears
   (the case's featured series on, the others off); switched-on front lines follow the day. */
"use strict";

frontline.timeline = function (map, page, config) {
  var groups = {};
  var days = config.days;
  var dayLabel = document.getElementById("fl-day");
  var areas = document.getElementById("fl-areas");
  var sliderControl = L.control({ position: "bottomleft" });
  var slider, playButton, timer = null, shown = null;

  sliderControl.onAdd = function () {
    var div = L.DomUtil.create("div", "fl-slider");
    playButton = L.DomUtil.create("button", "fl-button", div);
    playButton.type = "button";
    playButton.id = "fl-play";
    playButton.textContent = "▶ play";
    var label = L.DomUtil.create("label", "fl-sr", div);
    label.htmlFor = "fl-slider";
    label.textContent = "Day shown";
    slider = L.DomUtil.create("input", "", div);
    slider.type = "range";
    slider.id = "fl-slider";
    slider.min = 0;
    slider.max = Math.max(days.length - 1, 0);
    slider.step = 1;
    var count = L.DomUtil.create("span", "fl-count", div);
    count.textContent = " " + days.length + " days";
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
    playButton.addEventListener("click", togglePlay);
    return div;
  };
  sliderControl.addTo(map);
  if (page.chart) {  // a click on the chart moves the slider to that day (or the last day with data before it)
    page.chart.onDay = function (day) {
      var index = -1;
      days.forEach(function (d, i) { if (d <= day) { index = i; } });
      if (index >= 0) { show(index); }
    };
  }

  function styleFor(p) {
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

  function query(extra) {
    var params = new URLSearchParams(config.filters);
    Object.keys(extra).forEach(function (k) { params.set(k, extra[k]); });
    return params.toString();
  }

  /* A claim series' layer group, made (and listed in the layer list, by short title under its source) when the
     series first appears. */
  function seriesGroup(p) {
    var key = p.series;
    if (!groups[key]) {
      var known = config.catalogue[key] || { title: p.series_title, short: p.series_title, group: p.source, fronts: [] };
      groups[key] = L.layerGroup();
      page.addLayer({ group: known.group, key: key, title: known.short, full: known.title, var: null,
                      layer: groups[key], on: config.shown.indexOf(key) >= 0, colour: styleFor(p).color,
                      fronts: known.fronts });
      if (shown) { page.setDay(shown); }
    }
    return groups[key];
  }

  function show(index) {
    var day = days[index];
    if (day === undefined || day === shown) { return; }
    shown = day;
    slider.value = index;
    dayLabel.textContent = day;
    page.setDay(day);
    if (page.chart) { page.chart.mark(day); }
    var url = new URL(window.location.href);
    url.searchParams.set("day", day);
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    fetch(config.controlUrl + "?" + query({ date: day, simplify: config.simplify }))
      .then(function (r) { return r.json(); })
      .then(function (collection) {
        if (shown !== day) { return; }
        Object.keys(groups).forEach(function (key) { groups[key].clearLayers(); });
        collection.features.forEach(function (feature) {
          var group = seriesGroup(feature.properties);
          if (config.tileTemplate) {  // the day's polygons of the series from the vector tiles
            var p = feature.properties;
            var asked = { series: p.series, datetime: p.observed_on };
            if (p.illustrative) { asked.source = p.source; }  // examples are tiled only when asked for
            frontline.tileGrid(map, config.tileTemplate + "?" + new URLSearchParams(asked), styleFor(p))
              .addTo(group);
            return;
          }
          L.geoJSON(feature, {
            style: function (f) { return styleFor(f.properties); },
            onEachFeature: function (f, l) { l.bindTooltip(tooltip(f.properties)); }
          }).addTo(group);
        });
        document.body.setAttribute("data-day-shown", day);
      });
    fetch(config.areaUrl + "?" + query({ date: day }))
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
    fetch(config.placeUrl.replace("__KEY__", encodeURIComponent(place.key)) + "?" + query({ date: day }))
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
};
