"""The four analyst map pages: snapshot, timeline, comparison and disagreement.

Each draws its claim series as layers grouped by source in the layer list (short titles; the full title in the
tooltip and the tables), the case's featured series on and the others off (``Controls.shown``), with a front line
as a sub-toggle where ``Controls.fronts`` offers one; the chrome (bar, drawer, legend, chart) comes from
``maps.finish`` and the page's template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import folium
import orjson

from app.db.maplayers import SideStyle
from app.services.maps import (
    CHANGE_STYLE,
    GREY,
    OPPOSED,
    STALE_STYLE,
    STATUS_STYLE,
    Assets,
    BaseMap,
    Controls,
    area_style,
    colour_of,
    esc,
    finish,
    layer_item,
    legend,
    new_map,
    page_title,
    painted,
    render,
    script_json,
)

#: How the disagreement page draws each kind of ground: what the series share (agreed in A's colour, opposed in
#: purple, undetermined in grey) filled; what only one draws as an outline in its own colour.
DISAGREEMENT_KINDS = ("agreed", "opposed", "undetermined", "only_a", "only_b")


def _cut(text: str, most: int = 40) -> str:
    """A name of at most ``most`` characters: cut at a word, with an ellipsis, when it is longer."""
    return text if len(text) <= most else text[:most - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _fronts(controls: Controls, key: str, colour: str) -> list[dict[str, Any]]:
    """The front-line sub-toggles of a series (none unless offered), in its colour."""
    return [{**spec, "colour": colour} for spec in controls.fronts.get(key, ())]


def _area_tooltip(p: Mapping[str, Any]) -> str:
    return render("map_area_tooltip.html", title=p["series_title"], name=p.get("name"),
                  side=p.get("side") or "no side", status=p["status"], observed_on=p["observed_on"],
                  age_days=p.get("age_days"), stale=p.get("stale"), area_km2=p["area_km2"],
                  illustrative=p.get("illustrative"))


def snapshot_page(assets: Assets, base: BaseMap, day: date, features: Sequence[dict[str, Any]],
                  area_rows: Sequence[Mapping[str, Any]], sides: Mapping[str, SideStyle], controls: Controls,
                  tile_url: Callable[[Mapping[str, Any]], str] | None = None) -> str:
    """Control areas as of a day: a layer per claim series, settlements, border, legend, the km² per series.

    With ``tile_url`` (a series' properties -> its tile URL template) the areas are drawn from vector tiles,
    not embedded in the page.
    """
    m, items = new_map(assets, base, page_title(base, f"control on {day.isoformat()}"))
    if tile_url is not None:
        m.default_js = [*m.default_js, ("vectorgrid", assets.vectorgrid_js)]
    by_series: dict[str, list[dict[str, Any]]] = {}
    for feature in features:
        by_series.setdefault(feature["properties"]["series"], []).append(feature)
    for key, group_features in by_series.items():
        p = group_features[0]["properties"]
        style = area_style(sides.get(p["side"]) if p["side"] else None, p["status"], bool(p.get("stale")))
        on = key in controls.shown
        item = layer_item(controls.source_name(key, p["source"]), key, controls.short(key, p["series_title"]), None,
                          on, p["series_title"], style["color"], _fronts(controls, key, style["color"]))
        if tile_url is not None:
            item["tiles"] = {"url": tile_url(p), "style": style, "attribution": p["source"]}
        else:
            group = folium.FeatureGroup(name=esc(p["series_title"]), show=on)
            for feature in group_features:
                # Geometry only: folium embeds the data in a script that Jinja parses again (see esc), and the
                # tooltip says everything the properties would.
                shape = {"type": "Feature", "geometry": feature["geometry"], "properties": {}}
                folium.GeoJson(shape, style_function=lambda _, s=style: s,
                               tooltip=folium.Tooltip(_area_tooltip(feature["properties"]))).add_to(group)
            group.add_to(m)
            item["var"] = group.get_name()
        items.append(item)
    for row in area_rows:  # a series observed with nothing inside the ground on the day: listed, nothing drawn
        if row["series"] not in by_series:
            colour = area_style(sides.get(row["side"]) if row["side"] else None, row["status"])["color"]
            items.append(layer_item(controls.source_name(row["series"], row["source"]), row["series"],
                                    controls.short(row["series"], row["title"]), None,
                                    row["series"] in controls.shown, row["title"], colour))
    statuses = [f["properties"]["status"] for f in features] or list(STATUS_STYLE)
    context = {"day": day.isoformat(), "rows": area_rows,
               "illustrative": any(f["properties"].get("illustrative") for f in features),
               "legend": legend(sides, statuses, stale=any(f["properties"].get("stale") for f in features))}
    return finish(m, base, controls, "map_snapshot.html", context, items)


def timeline_page(assets: Assets, base: BaseMap, days: Sequence[date], day: date | None,
                  config: Mapping[str, Any], sides: Mapping[str, SideStyle], controls: Controls) -> str:
    """A slider over the days with data; each day's claims are fetched from /control as the slider moves (a layer
    per series, listed when it first appears), and each switched-on front line (URLs with __DAY__) from
    /frontline."""
    m, items = new_map(assets, base, page_title(base, "timeline"))
    m.default_js = [*m.default_js, ("frontline_timeline", assets.timeline_js)]
    if config.get("tileTemplate"):
        m.default_js = [*m.default_js, ("vectorgrid", assets.vectorgrid_js)]
    catalogue = {key: {"title": row["title"], "short": controls.short(key, row["title"]),
                       "group": controls.source_name(key, row["source"]),
                       "fronts": _fronts(controls, key, colour_of(sides.get(row["side"] or ""), row["status"]))}
                 for key, row in controls.catalogue.items()}
    settings = {**config, "days": [d.isoformat() for d in days], "day": day.isoformat() if day else None,
                "catalogue": catalogue, "shown": sorted(controls.shown),
                "styles": STATUS_STYLE, "staleStyle": STALE_STYLE, "grey": GREY,
                "sides": {c: s.color for c, s in sides.items()},
                "places": [{k: p[k] for k in ("key", "name", "lat", "lon")} for p in base.places]}
    context = {"legend": legend(sides, STATUS_STYLE, stale=True)}
    return finish(m, base, controls, "map_timeline.html", context, items,
                  f"frontline.timeline({m.get_name()}, flPage, {script_json(settings)});")


def compare_page(assets: Assets, base: BaseMap, before: date, after: date, rows: Sequence[Mapping[str, Any]],
                 sides: Mapping[str, SideStyle], controls: Controls, towns: Sequence[Mapping[str, Any]] = ()) -> str:
    """Areas gained and lost per claim series between two days, with km² in the figures, and the settlements
    that changed hands (``towns``: rows of /stats/settlements) with the day of each change."""
    m, items = new_map(assets, base, page_title(base, f"{before.isoformat()} to {after.isoformat()}"))
    for row in rows:
        colour = colour_of(sides.get(row["side"]) if row["side"] else None, row["status"])
        on = row["series"] in controls.shown
        group = folium.FeatureGroup(name=esc(row["title"]), show=on)
        for change, change_style in CHANGE_STYLE.items():
            if row[f"{change}_km2"] > 0 and row[f"{change}_geojson"]:
                style = painted(colour, change_style)
                tooltip = render("map_change_tooltip.html", label=row["title"], change=change,
                                 area_km2=row[f"{change}_km2"])
                folium.GeoJson(orjson.loads(row[f"{change}_geojson"]), style_function=lambda _, s=style: s,
                               tooltip=folium.Tooltip(tooltip)).add_to(group)
        group.add_to(m)
        items.append(layer_item(controls.source_name(row["series"], row["source"]), row["series"],
                                controls.short(row["series"], row["title"]), group.get_name(), on, row["title"],
                                colour, _fronts(controls, row["series"], colour)))
    context = {"before": before.isoformat(), "after": after.isoformat(), "rows": rows, "towns": towns,
               "legend": legend(sides, [], changes=True)}
    return finish(m, base, controls, "map_compare.html", context, items)


def disagreement_styles(series: Mapping[str, Mapping[str, Any]], sides: Mapping[str, SideStyle]
                        ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """How each kind of ground is drawn and named, given the two series (``a`` and ``b``)."""
    def colour(role: str) -> str:
        side = series[role]["side"]
        return colour_of(sides.get(side) if side else None, series[role]["status"])

    styles = {"agreed": painted(colour("a"), {"fillOpacity": 0.5, "weight": 1}),
              "opposed": painted(OPPOSED, {"fillOpacity": 0.55, "weight": 1}),
              "undetermined": painted(GREY, {"fillOpacity": 0.4, "weight": 1}),
              "only_a": painted(colour("a"), {"fillOpacity": 0.12, "weight": 2, "dashArray": "6 4"}),
              "only_b": painted(colour("b"), {"fillOpacity": 0.12, "weight": 2, "dashArray": "2 4"})}
    labels = {"agreed": "agreed: both give it to the same side", "opposed": "opposed: they give it to opposite sides",
              "undetermined": "undetermined: one gives it to no side",
              "only_a": f"only A: {series['a']['title']}", "only_b": f"only B: {series['b']['title']}"}
    return styles, labels


def disagreement_page(assets: Assets, base: BaseMap, day: date, found: Mapping[str, Any],
                      figures: Mapping[str, float], sides: Mapping[str, SideStyle], controls: Controls) -> str:
    """Two claim series on a day: the ground they agree on, oppose, leave undetermined, or draw alone, a layer
    each, with the km² in the figures; each series' front line to switch on."""
    series = found["series"]
    m, items = new_map(assets, base, page_title(base, f"{series['a']['title']} against {series['b']['title']}"))
    styles, labels = disagreement_styles(series, sides)
    short = {"only_a": f"only A: {controls.short(series['a']['series'], series['a']['title'])}",
             "only_b": f"only B: {controls.short(series['b']['series'], series['b']['title'])}",
             "agreed": "agreed (same side)", "opposed": "opposed (opposite sides)", "undetermined": "undetermined"}
    for kind in DISAGREEMENT_KINDS:
        geometry = found["geojson"][kind]
        group = folium.FeatureGroup(name=esc(labels[kind]))
        if geometry and figures[f"{kind}_km2"] > 0:
            shape = {"type": "Feature", "geometry": orjson.loads(geometry), "properties": {}}
            folium.GeoJson(shape, style_function=lambda _, st=styles[kind]: st,
                           tooltip=folium.Tooltip(f"{esc(labels[kind])}: {figures[f'{kind}_km2']:,.1f} km²")
                           ).add_to(group)
        group.add_to(m)
        items.append(layer_item("Ground", kind, _cut(short[kind]), group.get_name(), True, labels[kind],
                                styles[kind]["fillColor"]))
    for role in ("a", "b"):
        s = series[role]
        colour = colour_of(sides.get(s["side"]) if s["side"] else None, s["status"])
        for front in _fronts(controls, s["series"], colour):
            items.append({**layer_item("Front lines", f"front-{role}", _cut(f"{role.upper()}: "
                                       f"{controls.short(s['series'], s['title'])}"), None, front["shown"],
                                       f"Front line of {s['title']}", colour), "front": front})
    kinds = [(kind, labels[kind], styles[kind]["fillColor"]) for kind in DISAGREEMENT_KINDS]
    context = {"day": day.isoformat(), "series": list(series.values()), "kinds": kinds, "figures": figures,
               "legend": legend(sides, [], kinds=[(short[k], c) for k, _, c in kinds])}
    return finish(m, base, controls, "map_disagreement.html", context, items)
