/* Frontline maps, the chart under the map: each featured series' km² on every step day, as /stats/area/series
   answers, drawn by uPlot (served by the app); the day the map shows as a dashed line; a click on a day opens the
   map there (frontline.openDay, or the timeline's onDay). From the keyboard: focus the chart, ← / → pick a day
   (read out with its km²), Enter opens it. */
"use strict";

frontline.areaChart = (function () {
  /* The chart under the map: each series' km² on every step day, as /stats/area/series answers (the rows are
     kept on the chart as `flRows`); a click on a day opens the page on it. Folded at first on a phone. */
  function areaChart(map, spec, narrow, nav) {
    var box = document.getElementById("fl-chart"), button = document.getElementById("fl-chart-toggle");
    var plot = null, data = null;
    function setOpen(open) {
      document.body.classList.toggle("fl-chart-closed", !open);
      button.setAttribute("aria-expanded", String(open));
      map.invalidateSize();
      if (open && data && !plot) { draw(); }
      if (plot) { plot.setSize(size()); }
    }
    function size() {  // the legend takes 270 pixels on the right, but on a phone
      return { width: Math.max(box.clientWidth - (narrow.matches ? 0 : 280), 200),
               height: Math.max(box.clientHeight - 4, 60) };
    }
    button.addEventListener("click", function () { setOpen(document.body.classList.contains("fl-chart-closed")); });
    setOpen(!narrow.matches);
    var result = { rows: null, data: null, plot: null, marked: initialDay(), mark: mark };
    function initialDay() {
      var input = nav ? document.getElementById("fl-date-" + spec.param) : null;
      return input ? input.value : null;
    }
    function mark(day) {  // the day the map shows, as a vertical line on the chart
      result.marked = day;
      if (plot) { plot.redraw(false); }
    }
    fetch(spec.url).then(function (r) { return r.json(); }).then(function (answer) {
      result.rows = answer.rows;
      data = columns(answer.rows, spec.series);
      result.data = data;
      document.body.setAttribute("data-chart-ready", "true");
      if (!document.body.classList.contains("fl-chart-closed")) { draw(); }
    });
    window.addEventListener("resize", function () { if (plot) { plot.setSize(size()); } });
    function draw() {
      var lines = spec.series.map(function (s) {
        return { label: s.title, stroke: s.colour, width: 2, dash: s.dash, spanGaps: false,
                 value: function (u, v) { return v == null ? "—" : v.toLocaleString("en", { maximumFractionDigits: 1 }) + " km²"; } };
      });
      plot = new uPlot({
        width: size().width, height: size().height, legend: { show: !narrow.matches },
        scales: { x: { time: true } }, cursor: { drag: { x: false, y: false } },
        axes: [{ stroke: "#333" }, { stroke: "#333", size: 72, values: function (u, ticks) {
          return ticks.map(function (t) { return t.toLocaleString("en"); });
        } }],
        series: [{ label: "day", value: function (u, v) { return v == null ? "—" : day(v); } }].concat(lines),
        hooks: { draw: [function (u) {
          if (!result.marked) { return; }
          var x = Math.round(u.valToPos(Date.parse(result.marked + "T00:00:00Z") / 1000, "x", true));
          var ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#1a1a1a";
          ctx.setLineDash([3, 3]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        }] }
      }, data, box);
      result.plot = plot;
      plot.over.addEventListener("click", function () { open(plot.cursor.idx); });
      plot.over.title = "Click a day to open the map on it";
      keyboard();
    }
    function open(i) {
      if (i == null || data[0][i] == null) { return; }
      var chosen = day(data[0][i]);
      if (frontline.openDay) { frontline.openDay(chosen); } else if (result.onDay) { result.onDay(chosen); }
    }
    /* ← / → move the chart's cursor a day (from the day the map shows), and say the day and each series' km². */
    function keyboard() {
      var live = document.getElementById("fl-chart-live");
      var at = null;
      box.tabIndex = 0;
      box.addEventListener("keydown", function (e) {
        if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
          e.preventDefault();
          e.stopPropagation();  // not the page's ← / →, which step the map itself
          if (at === null) {  // from the day the map shows (or the last)
            at = data[0].indexOf(Date.parse(result.marked + "T00:00:00Z") / 1000);
            at = at < 0 ? data[0].length - 1 : at;
          }
          at = Math.min(Math.max(at + (e.key === "ArrowLeft" ? -1 : 1), 0), data[0].length - 1);
          var y = data.slice(1).map(function (values) { return values[at]; }).filter(function (v) { return v != null; });
          plot.setCursor({ left: plot.valToPos(data[0][at], "x"), top: y.length ? plot.valToPos(y[0], "y") : 0 });
          live.textContent = day(data[0][at]) + ": " + spec.series.map(function (s, i) {
            var v = data[i + 1][at];
            return s.title + " " + (v == null ? "no observation" : v.toLocaleString("en", { maximumFractionDigits: 1 }) + " km²");
          }).join("; ");
          result.picked = day(data[0][at]);
        } else if (e.key === "Enter") {
          e.preventDefault();
          open(at);
        }
      });
    }
    return result;
  }

  /* The rows of /stats/area/series as uPlot's columns: the days (Unix seconds), then each series' km². */
  function columns(rows, series) {
    var days = [], index = {};
    rows.forEach(function (r) { if (!(r.day in index)) { index[r.day] = days.length; days.push(r.day); } });
    days.sort();
    days.forEach(function (d, i) { index[d] = i; });
    var out = [days.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; })];
    series.forEach(function (s) {
      var values = days.map(function () { return null; });
      rows.forEach(function (r) { if (r.series === s.key) { values[index[r.day]] = r.area_km2; } });
      out.push(values);
    });
    return out;
  }

  function day(seconds) { return new Date(seconds * 1000).toISOString().slice(0, 10); }

  return areaChart;
})();
