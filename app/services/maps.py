"""Analyst maps: folium (Leaflet) pages built from the same queries the API serves, with no CDN.

Every script and stylesheet is served by the app itself (Leaflet and jQuery from their XStatic packages, uPlot
and ours from ``app/static``); without a tile URL setting the base map is our own vector layers. The pages
themselves are in ``app/services/map_pages.py``; this module holds what they share: styles, escaping, the base
layers, and ``finish``, which puts the page's chrome around the map.

The markup around the map (bar, drawer, legend, chart, panels, popups, tooltips) is in
``app/templates/map_*.html``; Python hands them data. Their environment passes every value they print through
``esc``, and nothing opts out (``|safe`` included): no markup is ever handed to a template, one template takes in
another with ``include`` or ``extends``. What the controls do is in ``app/static/*.js``, configured by one JSON
object per page (``frontline.page``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import folium
import orjson
from branca.element import Element, Figure, MacroElement
from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

from app.db.maplayers import SideStyle
from app.services import cite

GREY = "#7f7f7f"
CENTRE = (51.25, 35.6)  # the Kursk–Sumy border near Sudzha: where the first case is
BASE_GROUP = "Base layers"
OPPOSED = "#7b2d8b"  # the disagreement map's ground that two series give to opposite sides
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
#: A stale observation (older than its series' rhythm allows) is drawn as an outline only.
STALE_STYLE: dict[str, Any] = {"fillOpacity": 0.0, "weight": 2, "dashArray": "2 5"}
#: How the comparison draws a change in its claim series' colour: gains filled, losses as a dashed outline.
CHANGE_STYLE: dict[str, dict[str, Any]] = {
    "gained": {"fillOpacity": 0.55, "weight": 1},
    "lost": {"fillColor": "#ffffff", "fillOpacity": 0.6, "weight": 2, "dashArray": "4 3"},
}


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


def _km2(value: Any, sign: str = "") -> str:
    """An area in km² to 0.1 (the ``km2`` filter); a gain or a loss with its sign, but never a signed 0.0."""
    text = f"{float(value):,.1f}"
    return text if text == "0.0" else sign + text


class _Unwrap(Extension):
    """Drop each line break in a template's text, with the indentation after it: it is there for the reader.

    A fragment is one line of markup in its tooltip, popup or panel (tests match a popup's rows on one line).
    Only text between template tags is touched, so a tag or a sentence that needs its spaces keeps to one line.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        """The template's tokens, its text unwrapped."""
        for token in stream:
            yield Token(token.lineno, "data", re.sub(r"\n\s*", "", token.value)) if token.type == "data" else token


#: Map fragments. ``finalize=esc``: every value a template prints is escaped, even one marked ``|safe``
#: (autoescaping is off, as its markupsafe escape leaves backticks, ``$`` and braces as they are).
_TEMPLATES = Environment(loader=PackageLoader("app", "templates"), autoescape=False, finalize=esc,
                         undefined=StrictUndefined, extensions=[_Unwrap])
_TEMPLATES.filters["km2"] = _km2


def render(template: str, **data: Any) -> str:
    """A fragment from app/templates/map_*.html with the data given (which it escapes)."""
    return _TEMPLATES.get_template(template).render(data)


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
    chart_js: str
    panel_js: str
    timeline_js: str
    maps_css: str
    uplot_js: str
    uplot_css: str
    vectorgrid_js: str  # Leaflet.VectorGrid, loaded only by pages that draw vector tiles


@dataclass(frozen=True)
class BaseMap:
    """Our own vector base layers, and an optional raster tile layer (a setting)."""

    regions: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    places: list[dict[str, Any]]  # each with a "popup" of escaped HTML, "major" (a key place) and "rank"
    tile_url: str | None = None
    tile_attribution: str | None = None
    case: dict[str, Any] | None = None  # the case the page is about: its title, ground and default view


@dataclass(frozen=True)
class Share:
    """How a page is shared and cited: its citation, whether it is embedded, and the day it was built."""

    citation: cite.Citation
    embed: bool
    built: date
    downloads: Sequence[tuple[str, str]] = ()  # (label, URL): the view as an image or an animation


@dataclass(frozen=True)
class Controls:
    """What a page's controls need besides its layers (built by app/routes/views.py).

    ``catalogue``: every series by key (title, short_title, source_name, side, status); ``shown``: the series
    drawn when the page opens (the case's featured ones, unless ``series=`` decides); ``fronts``: per series,
    the front lines the layer list offers (label, /frontline URL, shown, dashed); ``nav``: the day inputs and
    the observation days to step through;
    ``chart``: the /stats/area/series query of the chart; ``empty``: set when the store holds no claims yet.
    """

    catalogue: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    shown: frozenset[str] = frozenset()
    fronts: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    nav: Mapping[str, Any] | None = None
    chart: Mapping[str, Any] | None = None
    search_url: str = ""
    empty: Mapping[str, Any] | None = None
    share: Share | None = None

    def short(self, key: str, fallback: str) -> str:
        """A series' short title (its layer-list name), or ``fallback``."""
        return str((self.catalogue.get(key) or {}).get("short_title") or fallback)

    def source_name(self, key: str, fallback: str) -> str:
        """The name of a series' source (its group in the layer list)."""
        return str((self.catalogue.get(key) or {}).get("source_name") or fallback)


def _figure(m: Element) -> Figure:
    figure = m.get_root()
    assert isinstance(figure, Figure)
    return figure


def colour_of(side: SideStyle | None, status: str) -> str:
    """The colour of a claim series: its side's, or grey when it is contested, unknown or of no side."""
    return side.color if side and status not in ("contested", "unknown") else GREY


def painted(colour: str, style: Mapping[str, Any]) -> dict[str, Any]:
    """A Leaflet path style in one colour (outline and fill)."""
    return {"color": colour, "fillColor": colour, **style}


def area_style(side: SideStyle | None, status: str, stale: bool = False) -> dict[str, Any]:
    """Leaflet path style of a control area: colour by side, pattern by status; a stale one as an outline."""
    style = STATUS_STYLE.get(status, STATUS_STYLE["assessed"])
    return painted(colour_of(side, status), {**style, **STALE_STYLE} if stale else style)


def new_map(assets: Assets, base: BaseMap, title: str) -> tuple[folium.Map, list[dict[str, Any]]]:
    """A Leaflet map that loads only this app's assets, with the base layers drawn; and their layer-list items."""
    view = (base.case or {}).get("view") or {}
    m = folium.Map(location=(view.get("lat", CENTRE[0]), view.get("lon", CENTRE[1])), zoom_start=view.get("zoom", 8),
                   tiles=None, control_scale=True)
    m.default_js = [("leaflet", assets.leaflet_js), ("jquery", assets.jquery_js), ("uplot", assets.uplot_js),
                    ("frontline", assets.maps_js), ("frontline_chart", assets.chart_js),
                    ("frontline_panel", assets.panel_js)]
    m.default_css = [("leaflet_css", assets.leaflet_css), ("uplot_css", assets.uplot_css),
                     ("frontline_css", assets.maps_css)]
    _figure(m).header.add_child(RawHtml(render("map_head.html", title=title)), name="title")
    items = []
    if base.tile_url:
        tiles = folium.TileLayer(tiles=base.tile_url, attr=base.tile_attribution or "base map", name="Base map")
        tiles.add_to(m)
        items.append(layer_item(BASE_GROUP, "tiles", "Base map", tiles.get_name()))
    return m, items + _add_base_layers(m, base)


def layer_item(group: str, key: str, title: str, var: str | None, on: bool = True, full: str | None = None,
               colour: str | None = None, fronts: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """An entry of the layer list: its group (a source, or the base layers), its name (at most 40 characters;
    ``full`` in its tooltip), the page's JavaScript variable of its layer, whether it is on, and its front
    lines as sub-toggles."""
    return {"group": group, "key": key, "title": title, "full": full or title, "var": var, "on": on,
            "colour": colour, "fronts": list(fronts)}


def _add_base_layers(m: folium.Map, base: BaseMap) -> list[dict[str, Any]]:
    regions = folium.FeatureGroup(name="Regions")
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
    settlements = _add_places(m, base.places)
    return [layer_item(BASE_GROUP, "regions", "Regions", regions.get_name()),
            layer_item(BASE_GROUP, "lines", "Border and lines", lines.get_name()),
            layer_item(BASE_GROUP, "settlements", "Settlements", settlements)]


def _add_places(m: folium.Map, places: Iterable[dict[str, Any]]) -> str:
    # Settlements get a pane above the areas: a settlement inside a claimed area must still be clickable.
    folium.map.CustomPane("settlements", z_index=450, pointer_events=True).add_to(m)
    group = folium.FeatureGroup(name="Settlements")
    group.add_to(m)
    # Every name is a label; maps.js shows those that fit, by priority (``rank``: the case's key places first,
    # then by population). One array drawn by maps.js, not a folium marker, popup and tooltip per place: folium
    # compiles a template for each, which took half a second for 195 places.
    markers = [{"lat": p["lat"], "lon": p["lon"], "major": bool(p.get("major")), "rank": p.get("rank", 0),
                "label": esc(p["name"]), "popup": p["popup"]} for p in places]
    m.add_child(MapScript(f"frontline.places({m.get_name()}, {group.get_name()}, {script_json(markers)});"))
    return str(group.get_name())


def share_context(share: Share | None) -> dict[str, Any] | None:
    """What the share and cite panel (map_share.html) prints."""
    if share is None:
        return None
    iframe = (f'<iframe src="{html.escape(_embedded(share.citation.permalink))}" width="800" height="500" '
              f'style="border:0" title="{html.escape(share.citation.title)}" loading="lazy"></iframe>')
    return {"citation": share.citation, "iframe": iframe, "accessed": share.built.isoformat(),
            "downloads": share.downloads, "bibtex": cite.bibtex(share.citation, share.built),
            "csl": orjson.dumps(cite.csl_json(share.citation, share.built), option=orjson.OPT_INDENT_2).decode()}


def _embedded(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "embed=1"


def legend(sides: Mapping[str, SideStyle], statuses: Iterable[str], changes: bool = False, stale: bool = False,
           kinds: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """What the legend (map_legend.html) shows: sides, the statuses drawn, stale outlines, changes, kinds."""
    return {"sides": sides, "grey": GREY, "statuses": [STATUS_LABEL.get(s, s) for s in dict.fromkeys(statuses)],
            "changes": changes, "stale": stale, "kinds": list(kinds)}


def finish(m: folium.Map, base: BaseMap, controls: Controls, template: str, context: Mapping[str, Any],
           layers: Sequence[Mapping[str, Any]], script: str = "") -> str:
    """The page: the chrome of ``template`` (a map_page.html) around the map, its layer list and controls set up
    by ``frontline.page`` (panel.js), then the page's own ``script``."""
    chrome = render(template, case=base.case, nav=controls.nav, chart=controls.chart, empty=controls.empty,
                    share=share_context(controls.share), **context)
    _figure(m).html.add_child(RawHtml(chrome))
    config = {"layers": list(layers), "nav": controls.nav, "chart": controls.chart, "searchUrl": controls.search_url,
              "caseKey": base.case["key"] if base.case else None,
              "embed": bool(controls.share and controls.share.embed),
              "attributions": list(controls.share.citation.attributions) if controls.share else []}
    m.add_child(MapScript(f"var flPage = frontline.page({m.get_name()}, {script_json(config)}); {script}"))
    rendered: str = _figure(m).render()
    # folium's viewport forbids zooming the page, which people with low vision need (WCAG 1.4.4): allow it; and
    # its page names no language, which screen readers need to choose a voice (WCAG 3.1.1).
    rendered = re.sub(r",\s*maximum-scale=1\.0, user-scalable=no", "", rendered, count=1)
    return rendered.replace("<html>", "<html lang='en'>", 1)


def place_popup(place: Mapping[str, Any], holders: Sequence[Mapping[str, Any]], day: date | None) -> str:
    """Who holds a settlement on the day, per source, since when (escaped HTML); its name alone without a day."""
    return render("map_place_popup.html", name=place["name"], alt_names=", ".join(place.get("alt_names") or []),
                  day=day.isoformat() if day else None, held=[h for h in holders if h.get("holder")])


def page_title(base: BaseMap, what: str) -> str:
    """The browser tab's title: the case (or 'every claim, uncut') and what the page shows."""
    return f"Frontline: {base.case['title'] if base.case else 'every claim, uncut'}: {what}"
