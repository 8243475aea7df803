"""The map pages as images (issue 16): the scene each page shows, built from the same rows and styles as the
page (app.services.maps), for app.services.render to draw.

Every image says what it shows and where it comes from: a title with the case and the day or days, a legend
with the series' titles (and their observation days and km²), the attribution of every source and of the base
layers, and a provenance line (the data as known at an instant, the data version, the permalink).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import unquote

import shapely

from app.db.maplayers import SideStyle
from app.services import map_pages, maps
from app.services.render import Layer, Scene

DEFAULT_ZOOM = 8


@dataclass(frozen=True)
class Footer:
    """What every image credits and pins: source attributions, and the provenance line."""

    attributions: Sequence[str]
    known_at: str | None
    version: int
    permalink: str

    @property
    def attribution(self) -> str:
        """Every source credited, and what the figures are."""
        return "Data: " + "; ".join(self.attributions) + ". Claims as their sources state them; none is " \
            "independently verified. Areas geodesic (WGS84)."

    @property
    def provenance(self) -> str:
        """When the data was as shown, and where to see it again."""
        return (f"As known at {self.known_at or 'now'} (data version {self.version}). Frontline, this view:\n"
                f"{unquote(self.permalink)}")


def _scene(base: maps.BaseMap, title: str, footer: Footer, legend_title: str, layers: list[Layer]) -> Scene:
    case = base.case or {}
    view = case.get("view") or {}
    subtitle = (f"{case['title']}: cut to its ground" if case else "Every claim, uncut")
    return Scene(
        title=title, subtitle=subtitle, centre=(view.get("lon", maps.CENTRE[1]), view.get("lat", maps.CENTRE[0])),
        zoom=view.get("zoom", DEFAULT_ZOOM), layers=layers,
        regions=[shapely.from_geojson(r["geojson"]) for r in base.regions],
        lines=[shapely.from_geojson(line["geojson"]) for line in base.lines],
        places=[(p["name"], p["lon"], p["lat"], bool(p.get("major")))
                for p in sorted(base.places, key=lambda p: -p.get("rank", 0))],
        legend_title=legend_title, attribution=footer.attribution, provenance=footer.provenance)


def snapshot_scene(base: maps.BaseMap, day: date, features: Sequence[Mapping[str, Any]],
                   sides: Mapping[str, SideStyle], footer: Footer, fronts: Sequence[Mapping[str, Any]] = ()) -> Scene:
    """The snapshot: each series' areas in its style; the legend names it, its observation day and km². With
    ``fronts`` (answers of app.db.frontline.front_line), their lines too, in their side's colour."""
    by_series: dict[str, list[Mapping[str, Any]]] = {}
    for feature in features:
        p = feature["properties"]
        by_series.setdefault(p.get("series_short_title") or p["series_title"], []).append(feature)
    layers = []
    for title, group in by_series.items():
        p = group[0]["properties"]
        style = maps.area_style(sides.get(p["side"]) if p["side"] else None, p["status"], bool(p.get("stale")))
        km2 = sum(float(f["properties"]["area_km2"]) for f in group)
        stale = ", stale" if p.get("stale") else ""
        layers.append(Layer([shapely.geometry.shape(f["geometry"]) for f in group], style,
                            f"{title}: {p['observed_on']}{stale}, {km2:,.1f} km²"))
    for front in fronts:
        if front["geojson"]:
            colour = sides[front["side"]].color if front["side"] in sides else maps.GREY
            label = f"front line of {front['title']}: {front['observed_on']}, {front['length_km']:,.1f} km"
            layers.append(Layer([shapely.from_geojson(front["geojson"])], {"color": colour, "weight": 4}, label))
    return _scene(base, f"Control on {day.isoformat()}", footer, "series: observed, km²", layers)


def compare_scene(base: maps.BaseMap, before: date, after: date, rows: Sequence[Mapping[str, Any]],
                  sides: Mapping[str, SideStyle], footer: Footer) -> Scene:
    """Gains filled and losses outlined, per series, in its colour; the legend gives their km²."""
    layers = []
    for row in rows:
        colour = maps.colour_of(sides.get(row["side"]) if row["side"] else None, row["status"])
        for change, sign in (("gained", "+"), ("lost", "−")):
            if row[f"{change}_km2"] > 0 and row[f"{change}_geojson"]:
                layers.append(Layer([shapely.from_geojson(row[f"{change}_geojson"])],
                                    {"color": colour, "fillColor": colour, **maps.CHANGE_STYLE[change]},
                                    f"{row['title']}: {change} {sign}{row[f'{change}_km2']:,.1f} km²"))
    return _scene(base, f"Changes {before.isoformat()} → {after.isoformat()}", footer, "series: km²", layers)


def disagreement_scene(base: maps.BaseMap, day: date, found: Mapping[str, Any], figures: Mapping[str, float],
                       sides: Mapping[str, SideStyle], footer: Footer) -> Scene:
    """The five kinds of ground of two series, with km²; the legend names both series' observation days."""
    series = found["series"]
    styles, labels = map_pages.disagreement_styles(series, sides)
    layers = [Layer([shapely.from_geojson(found["geojson"][kind])] if found["geojson"][kind] else [],
                    styles[kind], f"{labels[kind]}: {figures[f'{kind}_km2']:,.1f} km²")
              for kind in map_pages.DISAGREEMENT_KINDS]
    days = "; ".join(f"{role.upper()} observed {s['observed_on']}" for role, s in series.items())
    return _scene(base, f"Where two sources disagree, {day.isoformat()}", footer, days, layers)
