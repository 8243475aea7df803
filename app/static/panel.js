/* Frontline maps, the controls around the map (map_page.html): the drawer and its layer list grouped by source,
   the legend folded on a phone, the day inputs with previous / next observation day and the ← / → keys, the place
   search, and the chart of area over time (chart.js) whose days open the map there. One call per page:
   frontline.page(map, config), which returns what the timeline needs (addLayer, setDay, and the chart). */
"use strict";

frontline.page = function (map, config) {
  var narrow = window.matchMedia("(max-width: 640px)");
  frontline.permalink(map);
  map.getContainer().setAttribute("role", "main");  // the page's main landmark: the map, its labels, its panes
  map.getContainer().setAttribute("aria-label", "Map");
  frontline.share(map, config);
  drawer();
  sharedView();
  barHeight();
  if (narrow.matches) { document.getElementById("fl-legend").removeAttribute("open"); }
  var list = layerList(document.getElementById("fl-layers"));
  config.layers.forEach(list.add);
  if (config.nav) { navigation(config.nav); }
  search(config.searchUrl);
  var chart = config.chart && !config.embed ? frontline.areaChart(map, config.chart, narrow, config.nav) : null;
  if (!chart) { document.body.classList.add("fl-no-chart"); map.invalidateSize(); }  // the map takes its place
  return { addLayer: list.add, setDay: list.setDay, chart: chart };

  /* The drawer: opened and closed by the menu button (and Escape), focus moved into it and back. */
  function drawer() {
    var button = document.getElementById("fl-menu"), panel = document.getElementById("fl-drawer");
    function toggle(open) {
      panel.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      (open ? document.getElementById("fl-close") : button).focus();
    }
    button.addEventListener("click", function () { toggle(panel.hidden); });
    document.getElementById("fl-close").addEventListener("click", function () { toggle(false); });
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { toggle(false); } });
  }

  /* The map starts under the bar, whose height depends on what wraps (two dates and a search on a phone). */
  function barHeight() {
    var bar = document.getElementById("fl-bar");
    function fit() {
      document.documentElement.style.setProperty("--bar-h", Math.ceil(bar.getBoundingClientRect().height) + "px");
      map.invalidateSize();
    }
    if (window.ResizeObserver) { new ResizeObserver(fit).observe(bar); }
    fit();
  }

  /* The share panel's permalink follows the hash: the view and the layers switched on or off are in it. */
  function sharedView() {
    var input = document.getElementById("fl-permalink");
    if (!input) { return; }
    var pinned = input.value;
    document.addEventListener("fl-hash", function () { input.value = pinned + window.location.hash; });
  }

  /* The layer list: a fieldset per group (the base layers, then each source), a checkbox per layer under its
     short title (the full title in its tooltip), and a front line as a sub-toggle of its series. A layer switched
     away from the page's default is named in the hash (-key, +key), so that a link reopens it so. */
  function layerList(root) {
    var groups = {}, fronts = [];
    var switched = (frontline.hashGet("layers") || "").split(",").filter(Boolean);
    function shownAt(key, on) {
      return switched.indexOf("+" + key) >= 0 ? true : switched.indexOf("-" + key) >= 0 ? false : on;
    }
    function remember(key, on, byDefault) {
      switched = switched.filter(function (t) { return t.slice(1) !== key; });
      if (on !== byDefault) { switched.push((on ? "+" : "-") + key); }
      frontline.hashSet("layers", switched.join(","));
    }
    function group(name) {
      if (!groups[name]) {
        var set = document.createElement("fieldset");
        set.className = "fl-group";
        var legend = document.createElement("legend");
        legend.textContent = name;
        set.appendChild(legend);
        root.appendChild(set);
        groups[name] = set;
      }
      return groups[name];
    }
    function toggle(parent, text, title, layer, byDefault, className, key) {
      var on = shownAt(key, byDefault);
      var label = document.createElement("label");
      label.className = className;
      label.title = title;
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = on;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + text));
      parent.appendChild(label);
      box.addEventListener("change", function () {
        if (box.checked) { layer.addTo(map); } else { map.removeLayer(layer); }
        remember(key, box.checked, byDefault);
      });
      if (on) { layer.addTo(map); }
      return label;
    }
    function add(item) {
      var row = document.createElement("div");
      row.className = "fl-layer";
      row.setAttribute("data-key", item.key);
      group(item.group).appendChild(row);
      var layer = item.var ? window[item.var] :
        item.tiles ? frontline.tileLayer(map, item.tiles, item.full) :
        item.front ? frontLayer(item.front, item.full) : (item.layer || L.layerGroup());
      var label = toggle(row, item.title, item.full, layer, item.on, "fl-layer-main", item.key);
      if (item.colour) {
        var swatch = document.createElement("span");
        swatch.className = "fl-swatch";
        swatch.style.background = item.colour;
        label.insertBefore(swatch, label.childNodes[1]);
      }
      item.fronts.forEach(function (spec, i) {
        toggle(row, spec.label, "Front line of " + item.full + " (" + spec.label + ")", frontLayer(spec, item.full),
               spec.shown, "fl-layer-sub", "front" + i + ":" + item.key);
      });
      return layer;
    }
    function frontLayer(spec, title) {
      var layer = frontline.frontLayer(map, spec, title);
      fronts.push(layer);
      return layer;
    }
    function setDay(day) { fronts.forEach(function (f) { f.setDay(day); }); }
    return { add: add, setDay: setDay };
  }

  /* Day inputs: a date typed opens that day; previous / next (and ← / →) move every input to the observation day
     before / after it. The page is reloaded at the new URL, the view (hash) kept. */
  function navigation(nav) {
    var inputs = nav.inputs.map(function (i) { return document.getElementById("fl-date-" + i.param); });
    function open(values) {
      var url = new URL(window.location.href);
      Object.keys(values).forEach(function (k) { url.searchParams.set(k, values[k]); });
      url.searchParams.delete("known_at");  // another day is another question: the data as it is now
      window.location.assign(url.pathname + url.search + url.hash);
    }
    function target(direction) {  // every input's neighbouring observation day, or null when one has none
      var values = {};
      inputs.forEach(function (input) {
        var day = neighbour(nav.days, input.value, direction);
        if (day) { values[input.getAttribute("data-param")] = day; }
      });
      return Object.keys(values).length === inputs.length && ordered(values) ? values : null;
    }
    function step(direction) {
      var values = target(direction);
      if (values) { open(values); }
    }
    [["fl-prev", -1, "no earlier observation day"], ["fl-next", 1, "no later observation day"]].forEach(function (b) {
      var button = document.getElementById(b[0]);
      if (!target(b[1])) { button.disabled = true; button.title = b[2]; }
    });
    function ordered(values) { return !(values.from && values.to) || values.from < values.to; }
    inputs.forEach(function (input) {
      input.addEventListener("change", function () {
        var values = {};
        inputs.forEach(function (i) { values[i.getAttribute("data-param")] = i.value; });
        if (/^\d{4}-\d{2}-\d{2}$/.test(input.value) && ordered(values)) { open(values); }
      });
    });
    document.getElementById("fl-prev").addEventListener("click", function () { step(-1); });
    document.getElementById("fl-next").addEventListener("click", function () { step(1); });
    document.addEventListener("keydown", function (e) {
      var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) || e.target.isContentEditable;
      if (typing || e.altKey || e.ctrlKey || e.metaKey) { return; }
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        if (map.getContainer().contains(e.target)) { return; }  // the map pans with the arrows when it has focus
        e.preventDefault();
        step(e.key === "ArrowLeft" ? -1 : 1);
      }
    });
    frontline.openDay = function (day) {
      var param = config.chart ? config.chart.param : inputs[inputs.length - 1].getAttribute("data-param");
      var values = {};
      values[param] = day;
      if (ordered(Object.assign({ from: (document.getElementById("fl-date-from") || {}).value }, values))) {
        open(values);
      }
    };
  }

  /* The place search: names (and Cyrillic names) from /places?q=, a list to pick from with the keyboard or the
     pointer; the map moves to the place picked and opens its popup when the page draws it. */
  function search(url) {
    var input = document.getElementById("fl-search"), results = document.getElementById("fl-search-results");
    var timer = null, asked = "", active = -1;
    function show(rows) {
      results.textContent = "";
      active = -1;
      rows.forEach(function (row, i) {
        var li = document.createElement("li");
        li.id = "fl-search-" + i;
        li.setAttribute("role", "option");
        li.textContent = row.name + (row.alt_names.length ? " (" + row.alt_names.join(", ") + ")" : "") +
          (row.region ? ", " + row.region.replace(/-/g, " ") : "");
        li.addEventListener("mousedown", function (e) { e.preventDefault(); go(row); });
        li.flRow = row;
        results.appendChild(li);
      });
      if (!rows.length) {
        var none = document.createElement("li");
        none.className = "fl-none";
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        none.textContent = "no place of that name";
        results.appendChild(none);
      }
      results.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function close() { results.hidden = true; input.setAttribute("aria-expanded", "false"); }
    function go(row) {
      close();
      input.value = row.name;
      map.setView([row.lat, row.lon], Math.max(map.getZoom(), 11));
      map.eachLayer(function (layer) {
        if (layer instanceof L.CircleMarker && layer.getPopup && layer.getPopup()) {
          var p = layer.getLatLng();
          if (Math.abs(p.lat - row.lat) < 1e-6 && Math.abs(p.lng - row.lon) < 1e-6) { layer.openPopup(); }
        }
      });
      document.body.setAttribute("data-place-found", row.key);
    }
    function highlight(i) {
      var items = results.querySelectorAll("[role=option]:not([aria-disabled])");
      if (!items.length) { return; }
      active = (i + items.length) % items.length;
      items.forEach(function (li, j) { li.setAttribute("aria-selected", String(j === active)); });
      input.setAttribute("aria-activedescendant", items[active].id);
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q) { close(); return; }
      timer = setTimeout(function () {
        asked = q;
        fetch(url + "?" + new URLSearchParams({ q: q, limit: 8 })).then(function (r) { return r.json(); })
          .then(function (answer) { if (asked === q && answer.rows) { show(answer.rows); } });
      }, 150);
    });
    input.addEventListener("keydown", function (e) {
      var items = results.querySelectorAll("[role=option]:not([aria-disabled])");
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        highlight(active + (e.key === "ArrowDown" ? 1 : -1));
      } else if (e.key === "Enter" && items.length) {
        e.preventDefault();
        go(items[Math.max(active, 0)].flRow);
      } else if (e.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", close);
  }

  /* The observation day before (direction -1) or after (+1) ``value`` among ``days`` (sorted), or null. */
  function neighbour(days, value, direction) {
    if (direction < 0) {
      for (var i = days.length - 1; i >= 0; i--) { if (days[i] < value) { return days[i]; } }
    } else {
      for (var j = 0; j < days.length; j++) { if (days[j] > value) { return days[j]; } }
    }
    return null;
  }
};
