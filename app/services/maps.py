"""Analyst maps: folium (Leaflet) pages built from the same queries the API serves, with no CDN.

Every script and stylesheet is served by the app itself (Leaflet and jQuery from their XStatic packages, ours
from ``app/static``); without a tile URL setting the base map is our own vector layers. Text that comes from
data is escaped by ``esc`` before it reaches a popup, a tooltip or a panel: folium puts popup and tooltip HTML
inside JavaScript template literals, so backticks, ``$`` and backslashes are escaped as well as markup.

The markup of panels, popups and tooltips is in ``app/templates/map_*.html``; Python hands them data. Their
environment passes every value they print through ``esc``, and nothing opts out (``|safe`` included): no
markup is ever handed to a template, one template takes in another with ``include`` or ``extends``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
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


def _render(template: str, **data: Any) -> str:
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
    maps_css: str
    vectorgrid_js: str  # Leaflet.VectorGrid, loaded only by pages that draw vector tiles


@dataclass(frozen=True)
class BaseMap:
    """Our own vector base layers, and an optional raster tile layer (a setting)."""

    regions: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    places: list[dict[str, Any]]  # each with a "popup" of escaped HTML, and "major": labelled at every zoom
    tile_url: str | None = None
    tile_attribution: str | None = None
    case: dict[str, Any] | None = None  # the case the page is about: its title, ground and default view


def _figure(m: Element) -> Figure:
    figure = m.get_root()
    assert isinstance(figure, Figure)
    return figure


def colour_of(side: SideStyle | None, status: str) -> str:
    """The colour of a claim series: its side's, or grey when it is contested, unknown or of no side."""
    return side.color if side and status not in ("contested", "unknown") else GREY


def _painted(colour: str, style: Mapping[str, Any]) -> dict[str, Any]:
    return {"color": colour, "fillColor": colour, **style}


def area_style(side: SideStyle | None, status: str, stale: bool = False) -> dict[str, Any]:
    """Leaflet path style of a control area: colour by side, pattern by status; a stale one as an outline."""
    style = STATUS_STYLE.get(status, STATUS_STYLE["assessed"])
    return _painted(colour_of(side, status), {**style, **STALE_STYLE} if stale else style)


def new_map(assets: Assets, base: BaseMap, title: str) -> folium.Map:
    """A Leaflet map that loads only this app's assets, with the base layers drawn."""
    view = (base.case or {}).get("view") or {}
    m = folium.Map(location=(view.get("lat", CENTRE[0]), view.get("lon", CENTRE[1])), zoom_start=view.get("zoom", 8),
                   tiles=None, control_scale=True)
    m.default_js = [("leaflet", assets.leaflet_js), ("jquery", assets.jquery_js), ("frontline", assets.maps_js)]
    m.default_css = [("leaflet_css", assets.leaflet_css), ("frontline_css", assets.maps_css)]
    _figure(m).header.add_child(RawHtml(_render("map_head.html", title=title)), name="title")
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
    group.add_to(m)
    # The name is always shown: the case's key places at every zoom, the others from zoom 9 (maps.css and
    # maps.js hide minor labels below it). One array drawn by maps.js, not a folium marker, popup and tooltip
    # per place: folium compiles a template for each, which took half a second for 195 places.
    markers = [{"lat": p["lat"], "lon": p["lon"], "major": bool(p.get("major")), "label": esc(p["name"]),
                "popup": p["popup"]} for p in places]
    m.add_child(MapScript(f"frontline.places({group.get_name()}, {script_json(markers)});"))


@dataclass(frozen=True)
class Share:
    """How a page is shared and cited: its citation, whether it is embedded, and the day it was built."""

    citation: cite.Citation
    embed: bool
    built: date
    downloads: Sequence[tuple[str, str]] = ()  # (label, URL): the view as an image or an animation


def share_panel(share: Share) -> str:
    """The share and cite panel (see map_share.html)."""
    iframe = (f'<iframe src="{html.escape(_embedded(share.citation.permalink))}" width="800" height="500" '
              f'style="border:0" title="{html.escape(share.citation.title)}" loading="lazy"></iframe>')
    return _render("map_share.html", citation=share.citation, iframe=iframe, accessed=share.built.isoformat(),
                   downloads=share.downloads,
                   bibtex=cite.bibtex(share.citation, share.built),
                   csl=orjson.dumps(cite.csl_json(share.citation, share.built), option=orjson.OPT_INDENT_2).decode())


def _embedded(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "embed=1"


def _finish(m: folium.Map, panels: Sequence[str], init: Callable[[str], str] | None = None,
            share: Share | None = None) -> str:
    """Add the panels, the layer control and the page's own script (given the layer control's JS name), and the
    share and cite panel."""
    if share is not None:
        panels = [*panels, share_panel(share)]
    for panel in panels:
        _figure(m).html.add_child(RawHtml(panel))
    control = folium.LayerControl(collapsed=False)
    control.add_to(m)
    if share is not None:
        config = {"attributions": list(share.citation.attributions), "embed": share.embed}
        m.add_child(MapScript(f"frontline.share({m.get_name()}, {script_json(config)});"))
    if init:
        m.add_child(MapScript(init(control.get_name())))
    rendered: str = _figure(m).render()
    return rendered


# -- place popups ------------------------------------------------------------------------------------------

def place_popup(place: Mapping[str, Any], holders: Sequence[Mapping[str, Any]], day: date | None) -> str:
    """Who holds a settlement on the day, per source, since when (escaped HTML); its name alone without a day."""
    return _render("map_place_popup.html", name=place["name"], alt_names=", ".join(place.get("alt_names") or []),
                   day=day.isoformat() if day else None, held=[h for h in holders if h.get("holder")])


# -- pages -------------------------------------------------------------------------------------------------

def _legend(sides: Mapping[str, SideStyle], statuses: Iterable[str], changes: bool = False, stale: bool = False
            ) -> str:
    labels = [STATUS_LABEL.get(s, s) for s in dict.fromkeys(statuses)]
    return _render("map_legend.html", sides=sides, grey=GREY, statuses=labels, changes=changes, stale=stale)


def _area_tooltip(p: Mapping[str, Any]) -> str:
    return _render("map_area_tooltip.html", title=p["series_title"], name=p.get("name"),
                   side=p.get("side") or "no side", status=p["status"], observed_on=p["observed_on"],
                   age_days=p.get("age_days"), stale=p.get("stale"), area_km2=p["area_km2"],
                   illustrative=p.get("illustrative"))


def front_script(m: folium.Map, control: str, fronts: Sequence[Mapping[str, Any]],
                 sides: Mapping[str, SideStyle]) -> str:
    """The script that adds a toggleable front-line layer per series (``series``, ``title``, ``side``,
    ``url`` of its /frontline GeoJSON, ``shown``), in its side's colour."""
    specs = front_specs(fronts, sides)
    return f"frontline.frontLines({m.get_name()}, {control}, {script_json(specs)});" if specs else ""


def front_specs(fronts: Sequence[Mapping[str, Any]], sides: Mapping[str, SideStyle]) -> list[dict[str, Any]]:
    """What maps.js needs of each front-line layer: title, URL, shown, colour (its side's), dashed."""
    return [{"title": f["title"], "url": f["url"], "shown": f["shown"], "dashed": f.get("dashed", False),
             "colour": sides[f["side"]].color if f["side"] in sides else GREY} for f in fronts]


def snapshot_page(assets: Assets, base: BaseMap, day: date, features: Sequence[dict[str, Any]],
                  area_rows: Sequence[Mapping[str, Any]], sides: Mapping[str, SideStyle],
                  tile_url: Callable[[Mapping[str, Any]], str] | None = None,
                  fronts: Sequence[Mapping[str, Any]] = (), share: Share | None = None) -> str:
    """Control areas as of a day: one toggleable layer per claim series, settlements, border, legend, title,
    and a toggleable front line per series with a side (``fronts``, see front_script).

    With ``tile_url`` (a series' properties -> its tile URL template) the areas are drawn from vector tiles,
    not embedded in the page.
    """
    m = new_map(assets, base, _page_title(base, f"control on {day.isoformat()}"))
    title = _render("map_snapshot_title.html", day=day.isoformat(), rows=area_rows, case=base.case,
                    illustrative=any(f["properties"].get("illustrative") for f in features))
    statuses = [f["properties"]["status"] for f in features] or list(STATUS_STYLE)
    panels = [title, _legend(sides, statuses, stale=any(f["properties"].get("stale") for f in features))]
    if tile_url is not None:
        m.default_js = [*m.default_js, ("vectorgrid", assets.vectorgrid_js)]
        layers = [{"title": p["series_title"], "url": tile_url(p), "attribution": p["source"],
                   "style": area_style(sides.get(p["side"]) if p["side"] else None, p["status"], bool(p.get("stale")))}
                  for p in (f["properties"] for f in features)]
        return _finish(m, panels, lambda control: f"{_init(m)} frontline.tileLayers({m.get_name()}, {control}, "
                                                   f"{script_json(layers)}); {front_script(m, control, fronts, sides)}",
                       share)
    by_series: dict[str, list[dict[str, Any]]] = {}
    for feature in features:
        by_series.setdefault(feature["properties"]["series_title"], []).append(feature)
    for title_, group_features in by_series.items():
        group = folium.FeatureGroup(name=esc(title_))
        for feature in group_features:
            p = feature["properties"]
            style = area_style(sides.get(p["side"]) if p["side"] else None, p["status"], bool(p.get("stale")))
            # Geometry only: folium embeds the data in a script that Jinja parses again (see esc), and the
            # tooltip says everything the properties would.
            shape = {"type": "Feature", "geometry": feature["geometry"], "properties": {}}
            folium.GeoJson(shape, style_function=lambda _, s=style: s,
                           tooltip=folium.Tooltip(_area_tooltip(p))).add_to(group)
        group.add_to(m)
    return _finish(m, panels, lambda control: f"{_init(m)} {front_script(m, control, fronts, sides)}", share)


def timeline_page(assets: Assets, base: BaseMap, days: Sequence[date], day: date | None,
                  config: Mapping[str, Any], sides: Mapping[str, SideStyle], share: Share | None = None,
                  fronts: Sequence[Mapping[str, Any]] = ()) -> str:
    """A slider over the days with data; each day's claims are fetched from /control as the slider moves, and
    each switched-on front line (``fronts``, URLs with __DAY__) from /frontline."""
    m = new_map(assets, base, _page_title(base, "timeline"))
    if config.get("tileTemplate"):
        m.default_js = [*m.default_js, ("vectorgrid", assets.vectorgrid_js)]
    settings = {**config, "days": [d.isoformat() for d in days], "day": day.isoformat() if day else None,
                "fronts": front_specs(fronts, sides),
                "styles": STATUS_STYLE, "staleStyle": STALE_STYLE, "grey": GREY,
                "sides": {c: s.color for c, s in sides.items()},
                "places": [{k: p[k] for k in ("key", "name", "lat", "lon")} for p in base.places]}
    name = m.get_name()
    return _finish(m, [_render("map_timeline_title.html", case=base.case), _legend(sides, STATUS_STYLE, stale=True)],
                   lambda control: f"{_init(m)} frontline.timeline({name}, {control}, {script_json(settings)});",
                   share)


def compare_page(assets: Assets, base: BaseMap, before: date, after: date, rows: Sequence[Mapping[str, Any]],
                 sides: Mapping[str, SideStyle], towns: Sequence[Mapping[str, Any]] = (),
                 share: Share | None = None, fronts: Sequence[Mapping[str, Any]] = ()) -> str:
    """Areas gained and lost per claim series between two days, with km² in the title, and the settlements that
    changed hands (``towns``: rows of /stats/settlements) with the day of each change."""
    m = new_map(assets, base, _page_title(base, f"{before.isoformat()} to {after.isoformat()}"))
    for row in rows:
        colour = colour_of(sides.get(row["side"]) if row["side"] else None, row["status"])
        label = row["title"]
        group = folium.FeatureGroup(name=esc(label))
        for change, change_style in CHANGE_STYLE.items():
            if row[f"{change}_km2"] > 0 and row[f"{change}_geojson"]:
                style = _painted(colour, change_style)
                tooltip = _render("map_change_tooltip.html", label=label, change=change, area_km2=row[f"{change}_km2"])
                folium.GeoJson(orjson.loads(row[f"{change}_geojson"]), style_function=lambda _, s=style: s,
                               tooltip=folium.Tooltip(tooltip)).add_to(group)
        group.add_to(m)
    title = _render("map_compare_title.html", before=before.isoformat(), after=after.isoformat(),
                    rows=rows, case=base.case, towns=towns)
    return _finish(m, [title, _legend(sides, [], changes=True)],
                   lambda control: f"{_init(m)} {front_script(m, control, fronts, sides)}", share)


#: How the disagreement page draws each kind of ground: what the series share (agreed in A's colour, opposed in
#: purple, undetermined in grey) filled; what only one draws as an outline in its own colour.
DISAGREEMENT_KINDS = ("agreed", "opposed", "undetermined", "only_a", "only_b")
OPPOSED = "#7b2d8b"


def disagreement_styles(series: Mapping[str, Mapping[str, Any]], sides: Mapping[str, SideStyle]
                        ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """How each kind of ground is drawn and named, given the two series (``a`` and ``b``)."""
    def colour(role: str) -> str:
        side = series[role]["side"]
        return colour_of(sides.get(side) if side else None, series[role]["status"])

    styles = {"agreed": _painted(colour("a"), {"fillOpacity": 0.5, "weight": 1}),
              "opposed": _painted(OPPOSED, {"fillOpacity": 0.55, "weight": 1}),
              "undetermined": _painted(GREY, {"fillOpacity": 0.4, "weight": 1}),
              "only_a": _painted(colour("a"), {"fillOpacity": 0.12, "weight": 2, "dashArray": "6 4"}),
              "only_b": _painted(colour("b"), {"fillOpacity": 0.12, "weight": 2, "dashArray": "2 4"})}
    labels = {"agreed": "agreed: both give it to the same side", "opposed": "opposed: they give it to opposite sides",
              "undetermined": "undetermined: one gives it to no side",
              "only_a": f"only A: {series['a']['title']}", "only_b": f"only B: {series['b']['title']}"}
    return styles, labels


def disagreement_page(assets: Assets, base: BaseMap, day: date, found: Mapping[str, Any],
                      figures: Mapping[str, float], sides: Mapping[str, SideStyle], share: Share | None = None,
                      fronts: Sequence[Mapping[str, Any]] = ()) -> str:
    """Two claim series on a day: the ground they agree on, oppose, leave undetermined, or draw alone, one
    toggleable layer each, with the km² in the title."""
    series = found["series"]
    m = new_map(assets, base, _page_title(base, f"{series['a']['title']} against {series['b']['title']}"))
    styles, labels = disagreement_styles(series, sides)
    for kind in DISAGREEMENT_KINDS:
        geometry = found["geojson"][kind]
        group = folium.FeatureGroup(name=esc(labels[kind]))
        if geometry and figures[f"{kind}_km2"] > 0:
            shape = {"type": "Feature", "geometry": orjson.loads(geometry), "properties": {}}
            folium.GeoJson(shape, style_function=lambda _, st=styles[kind]: st,
                           tooltip=folium.Tooltip(f"{esc(labels[kind])}: {_km2(figures[f'{kind}_km2'])} km²")
                           ).add_to(group)
        group.add_to(m)
    kinds = [(kind, labels[kind], styles[kind]["fillColor"]) for kind in DISAGREEMENT_KINDS]
    title = _render("map_disagreement_title.html", day=day.isoformat(), series=list(series.values()),
                    kinds=kinds, figures=figures, case=base.case)
    return _finish(m, [title], lambda control: f"{_init(m)} {front_script(m, control, fronts, sides)}", share)


def _page_title(base: BaseMap, what: str) -> str:
    """The browser tab's title: the case (or 'every claim, uncut') and what the page shows."""
    return f"Frontline: {base.case['title'] if base.case else 'every claim, uncut'}: {what}"


def _init(m: folium.Map) -> str:
    """The script every map page runs: the view in the URL, and place labels that follow the zoom."""
    return f"frontline.permalink({m.get_name()}); frontline.labels({m.get_name()});"
