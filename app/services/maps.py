"""Analyst maps: folium (Leaflet) pages built from the same queries the API serves, with no CDN.

Every script and stylesheet is served by the app itself (Leaflet and jQuery from their XStatic packages, ours
from ``app/static``); without a tile URL setting the base map is our own vector layers. Text that comes from
data is escaped by ``esc`` before it reaches a popup, a tooltip or a panel: folium puts popup and tooltip HTML
inside JavaScript template literals, so backticks, ``$`` and backslashes are escaped as well as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import folium
import orjson
from branca.element import Element, Figure, MacroElement

from app.db.maplayers import SideStyle

GREY = "#7f7f7f"
CENTRE = (51.25, 35.6)  # the Kursk–Sumy border near Sudzha: where the first case is
#: How each status is drawn; the side gives the colour (contested and unknown are grey).
STATUS_STYLE: dict[str, dict[str, Any]] = {
    "claimed": {"fillOpacity": 0.12, "weight": 2.5, "dashArray": "8 5"},
    "assessed": {"fillOpacity": 0.35, "weight": 1.5, "dashArray": None},
    "confirmed": {"fillOpacity": 0.55, "weight": 2.5, "dashArray": None},
    "contested": {"fillOpacity": 0.3, "weight": 1.5, "dashArray": "3 3"},
    "unknown": {"fillOpacity": 0.3, "weight": 1.5, "dashArray": "3 3"},
}
STATUS_LABEL = {"claimed": "claimed (dashed, light)", "assessed": "assessed (solid)",
                "confirmed": "confirmed (solid, dark)", "contested": "contested (grey)", "unknown": "unknown (grey)"}


def esc(value: Any) -> str:
    """Data as inert text inside HTML that folium places in a JavaScript template literal.

    Braces are escaped too: branca parses a popup's or tooltip's rendered script as a Jinja template once
    more, so ``{{ ... }}`` in data would otherwise be evaluated on the server.
    """
    text = "" if value is None else str(value)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"),
                         ("\\", "&#92;"), ("`", "&#96;"), ("$", "&#36;"), ("{", "&#123;"), ("}", "&#125;")):
        text = text.replace(char, entity)
    return text


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = orjson.dumps(value, default=str).decode()
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                       ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text


class MapScript(MacroElement):  # type: ignore[misc]
    """JavaScript run once the map exists (added as the map's last child, so it renders after the map).

    It puts its code in the page itself: a MacroElement's output would be parsed by Jinja once more.
    """

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "MapScript"
        self.code = code

    def render(self, **kwargs: Any) -> str:
        """Add the code to the page's script, as it is."""
        _figure(self).script.add_child(RawHtml(self.code), name=self.get_name())
        return ""


class RawHtml(Element):  # type: ignore[misc]
    """Markup we built (and escaped) ourselves, added to the page as it is, never run through Jinja."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = markup

    def render(self, **kwargs: Any) -> str:
        """The markup."""
        return self.markup


@dataclass(frozen=True)
class Assets:
    """Where the page loads its scripts and stylesheets from: this app, never a CDN."""

    leaflet_js: str
    leaflet_css: str
    jquery_js: str
    maps_js: str
    maps_css: str


@dataclass(frozen=True)
class BaseMap:
    """Our own vector base layers, and an optional raster tile layer (a setting)."""

    regions: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    places: list[dict[str, Any]]  # each with a "popup" of escaped HTML
    tile_url: str | None = None
    tile_attribution: str | None = None


def _figure(m: Element) -> Figure:
    figure = m.get_root()
    assert isinstance(figure, Figure)
    return figure


def area_style(side: SideStyle | None, status: str) -> dict[str, Any]:
    """Leaflet path style of a control area: colour by side, pattern by status."""
    color = side.color if side and status not in ("contested", "unknown") else GREY
    return {"color": color, "fillColor": color, **STATUS_STYLE.get(status, STATUS_STYLE["assessed"])}


def new_map(assets: Assets, base: BaseMap, title: str) -> folium.Map:
    """A Leaflet map that loads only this app's assets, with the base layers drawn."""
    m = folium.Map(location=CENTRE, zoom_start=8, tiles=None, control_scale=True)
    m.default_js = [("leaflet", assets.leaflet_js), ("jquery", assets.jquery_js), ("frontline", assets.maps_js)]
    m.default_css = [("leaflet_css", assets.leaflet_css), ("frontline_css", assets.maps_css)]
    _figure(m).header.add_child(RawHtml(f"<title>{esc(title)}</title><link rel='icon' href='data:,'>"),
                                name="title")
    if base.tile_url:
        folium.TileLayer(tiles=base.tile_url, attr=base.tile_attribution or "base map", name="Base map").add_to(m)
    _add_base_layers(m, base)
    return m


def _add_base_layers(m: folium.Map, base: BaseMap) -> None:
    regions = folium.FeatureGroup(name="Regions", show=True)
    for region in base.regions:
        folium.GeoJson(
            orjson.loads(region["geojson"]),
            style_function=lambda _: {"color": "#6b6b6b", "weight": 1, "fillColor": "#f3efe6", "fillOpacity": 0.7},
            tooltip=folium.Tooltip(f"{esc(region['name'])}: {region['area_km2']:,.0f} km²"),
        ).add_to(regions)
    regions.add_to(m)
    lines = folium.FeatureGroup(name="Border and lines")
    for line in base.lines:
        folium.GeoJson(
            orjson.loads(line["geojson"]),
            style_function=lambda _: {"color": "#1f1f1f", "weight": 2.5, "dashArray": "10 4 2 4"},
            tooltip=folium.Tooltip(f"{esc(line['name'])}: {line['length_km']:,.0f} km (geodesic)"),
        ).add_to(lines)
    lines.add_to(m)
    _add_places(m, base.places)


def _add_places(m: folium.Map, places: Iterable[dict[str, Any]]) -> None:
    # Settlements get a pane above the areas: a settlement inside a claimed area must still be clickable.
    folium.map.CustomPane("settlements", z_index=450, pointer_events=True).add_to(m)
    group = folium.FeatureGroup(name="Settlements")
    for place in places:
        marker = folium.CircleMarker(
            location=(place["lat"], place["lon"]), radius=5, color="#111111", weight=1.5, fill=True,
            fill_color="#ffffff", fill_opacity=1.0,
            popup=folium.Popup(folium.Html(place["popup"], script=True), max_width=360),
            tooltip=folium.Tooltip(esc(place["name"])),
        )
        marker.options["pane"] = "settlements"  # folium drops a pane= argument
        marker.add_to(group)
    group.add_to(m)


def _finish(m: folium.Map, panels: Sequence[str], init: Callable[[str], str] | None = None) -> str:
    """Add the panels, the layer control and the page's own script (given the layer control's JS name)."""
    for panel in panels:
        _figure(m).html.add_child(RawHtml(panel))
    control = folium.LayerControl(collapsed=False)
    control.add_to(m)
    if init:
        m.add_child(MapScript(init(control.get_name())))
    rendered: str = _figure(m).render()
    return rendered


def _feature_tooltip(p: Mapping[str, Any], sources: Mapping[str, str]) -> str:
    side = p.get("side") or "no side"
    parts = [f"<b>{esc(sources.get(p['source'], p['source']))}</b>", f"{esc(side)}, {esc(p['status'])}",
             f"observed {esc(p['observed_on'])}", f"{p['area_km2']:,.1f} km²"]
    if p.get("name"):
        parts.insert(1, esc(p["name"]))
    if p.get("illustrative"):
        parts.append("<i>illustrative</i>")
    return "<br>".join(parts)


# -- place popups ------------------------------------------------------------------------------------------

def place_popup(place: Mapping[str, Any], holders: Sequence[Mapping[str, Any]], day: date,
                sources: Mapping[str, str]) -> str:
    """Who holds a settlement on the day, per source, since when (escaped HTML)."""
    names = ", ".join(esc(n) for n in place.get("alt_names") or [])
    head = f"<b>{esc(place['name'])}</b>" + (f" ({names})" if names else "") + f"<br>on {day.isoformat()}:"
    held = [h for h in holders if h["holds"]]
    if not held:
        return head + "<br><i>no source's control area covers it on this day</i>"
    rows = "".join(
        f"<tr><td>{esc(sources.get(h['source'], h['source']))}</td><td>{esc(h['side'] or 'unknown')}</td>"
        f"<td>{esc(h['status'])}</td><td>{esc(h['held_since'])}</td><td>{esc(h['observed_on'])}</td></tr>"
        for h in held)
    return (head + "<table class='fl-table'><tr><th>source</th><th>holder</th><th>status</th><th>since</th>"
            f"<th>observed</th></tr>{rows}</table>")


# -- pages -------------------------------------------------------------------------------------------------

def _legend(sides: Mapping[str, SideStyle], statuses: Iterable[str], extra: str = "") -> str:
    side_rows = "".join(f"<div><span class='fl-swatch' style='background:{s.color}'></span>{esc(s.name)} ({esc(code)})"
                        "</div>" for code, s in sides.items())
    status_rows = "".join(f"<div>{esc(STATUS_LABEL.get(s, s))}</div>" for s in dict.fromkeys(statuses))
    return (f"<div class='fl-panel fl-legend' id='fl-legend'><b>Sides</b>{side_rows}"
            f"<div><span class='fl-swatch' style='background:{GREY}'></span>contested / unknown</div>"
            + (f"<b>Status</b>{status_rows}" if status_rows else "") + f"{extra}"
            "<div class='fl-note'>Areas are geodesic (WGS84). Claims are as their sources state them; "
            "none is independently verified.</div></div>")


def _area_table(rows: Sequence[Mapping[str, Any]], sources: Mapping[str, str]) -> str:
    body = "".join(
        f"<tr><td title='{esc(sources.get(r['source'], r['source']))}'>{esc(r['source'])}</td>"
        f"<td>{esc(r['side'] or '—')}</td><td>{esc(r['status'])}</td><td>{esc(r['layer'] or '')}</td>"
        f"<td>{esc(r['observed_on'])}</td><td class='fl-num'>{float(r['area_km2']):,.1f}</td></tr>" for r in rows)
    return ("<table class='fl-table'><tr><th>source</th><th>side</th><th>status</th><th>layer</th><th>observed</th>"
            f"<th>km²</th></tr>{body}</table>")


def snapshot_page(assets: Assets, base: BaseMap, day: date, features: Sequence[dict[str, Any]],
                  area_rows: Sequence[Mapping[str, Any]], sides: Mapping[str, SideStyle],
                  sources: Mapping[str, str]) -> str:
    """Control areas as of a day: one toggleable layer per source, settlements, border, legend, title."""
    m = new_map(assets, base, f"Frontline: control on {day.isoformat()}")
    by_source: dict[str, list[dict[str, Any]]] = {}
    for feature in features:
        by_source.setdefault(feature["properties"]["source"], []).append(feature)
    for slug, group_features in by_source.items():
        group = folium.FeatureGroup(name=f"Source: {esc(slug)}")
        for feature in group_features:
            p = feature["properties"]
            style = area_style(sides.get(p["side"]) if p["side"] else None, p["status"])
            # Geometry only: folium embeds the data in a script that Jinja parses again (see esc), and the
            # tooltip says everything the properties would.
            shape = {"type": "Feature", "geometry": feature["geometry"], "properties": {}}
            folium.GeoJson(shape, style_function=lambda _, s=style: s,
                           tooltip=folium.Tooltip(_feature_tooltip(p, sources))).add_to(group)
        group.add_to(m)
    illustrative = any(f["properties"].get("illustrative") for f in features)
    title = (f"<div class='fl-panel fl-title' id='fl-title'><h1>Control on <span id='fl-day'>{day.isoformat()}"
             "</span></h1>" + ("<div class='fl-warn'>Includes illustrative shapes (see geodata/README.md)</div>"
                               if illustrative else "")
             + (_area_table(area_rows, sources) if area_rows else "<i>no observation on or before this day</i>")
             + "</div>")
    statuses = [f["properties"]["status"] for f in features] or list(STATUS_STYLE)
    return _finish(m, [title, _legend(sides, statuses)], lambda _: f"frontline.permalink({m.get_name()});")


def timeline_page(assets: Assets, base: BaseMap, days: Sequence[date], day: date | None,
                  config: Mapping[str, Any], sides: Mapping[str, SideStyle]) -> str:
    """A slider over the days with data; each day's claims are fetched from /control as the slider moves."""
    m = new_map(assets, base, "Frontline: timeline")
    settings = {**config, "days": [d.isoformat() for d in days], "day": day.isoformat() if day else None,
                "styles": STATUS_STYLE, "grey": GREY, "sides": {c: s.color for c, s in sides.items()},
                "places": [{k: p[k] for k in ("key", "name", "lat", "lon")} for p in base.places]}
    title = ("<div class='fl-panel fl-title' id='fl-title'><h1>Claims on <span id='fl-day'>—</span></h1>"
             "<div id='fl-areas'></div></div>")
    name = m.get_name()
    return _finish(m, [title, _legend(sides, STATUS_STYLE)], lambda control: (
        f"frontline.permalink({name}); frontline.timeline({name}, {control}, {script_json(settings)});"))


def _signed(km2: float, sign: str) -> str:
    """A gain or loss in km² with its sign; nothing is plain 0.0 (not −0.0)."""
    text = f"{km2:,.1f}"
    return text if text == "0.0" else sign + text


def compare_page(assets: Assets, base: BaseMap, before: date, after: date, rows: Sequence[Mapping[str, Any]],
                 sides: Mapping[str, SideStyle], sources: Mapping[str, str]) -> str:
    """Areas gained and lost per claim series between two days, with km² in the legend."""
    m = new_map(assets, base, f"Frontline: {before.isoformat()} to {after.isoformat()}")
    for row in rows:
        side = sides.get(row["side"]) if row["side"] else None
        color = side.color if side and row["status"] not in ("contested", "unknown") else GREY
        label = f"{row['source']}: {row['side'] or 'no side'} {row['status']}"
        group = folium.FeatureGroup(name=esc(label))
        for change, style in (("gained", {"color": color, "fillColor": color, "fillOpacity": 0.55, "weight": 1}),
                              ("lost", {"color": color, "fillColor": "#ffffff", "fillOpacity": 0.6, "weight": 2,
                                        "dashArray": "4 3"})):
            if row[f"{change}_km2"] > 0 and row[f"{change}_geojson"]:
                folium.GeoJson(orjson.loads(row[f"{change}_geojson"]), style_function=lambda _, s=style: s,
                               tooltip=folium.Tooltip(f"{esc(label)}<br>{change}: {row[f'{change}_km2']:,.1f} km²")
                               ).add_to(group)
        group.add_to(m)
    body = "".join(
        f"<tr><td title='{esc(sources.get(r['source'], r['source']))}'>{esc(r['source'])}</td>"
        f"<td>{esc(r['side'] or '—')}</td><td>{esc(r['status'])}</td><td class='fl-num'>{r['before_km2']:,.1f}</td>"
        f"<td class='fl-num fl-gain'>{_signed(r['gained_km2'], '+')}</td>"
        f"<td class='fl-num fl-loss'>{_signed(r['lost_km2'], '−')}</td>"
        f"<td class='fl-num'>{r['after_km2']:,.1f}</td></tr>" for r in rows)
    table = ("<table class='fl-table' id='fl-changes'><tr><th>source</th><th>side</th><th>status</th><th>before</th>"
             f"<th>gained</th><th>lost</th><th>after (km²)</th></tr>{body}</table>")
    title = (f"<div class='fl-panel fl-title' id='fl-title'><h1>Changes {before.isoformat()} → {after.isoformat()}"
             "</h1>" + (table if rows else "<i>no claim series on either day</i>") + "</div>")
    extra = ("<b>Change</b><div><span class='fl-swatch fl-solid'></span>gained (solid)</div>"
             "<div><span class='fl-swatch fl-dashed'></span>lost (dashed outline)</div>")
    return _finish(m, [title, _legend(sides, [], extra)],
                   lambda _: f"frontline.permalink({m.get_name()});")
