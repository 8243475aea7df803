"""Rebuild the seed geodata in this folder from real outlines: `python geodata/build.py`.

Real geography: the oblast and country outlines (copied from ../shared/data/boundaries, rounded to 1e-6°),
and the Kursk–Sumy border, which is Kursk oblast's own outline between its two tripoints with Ukraine.
Illustrative: the control-area timeline. Its shapes are zones around Sudzha, clipped to Kursk oblast and sized
by bisection so that their geodesic area equals a figure a source reported; they are not any source's map.
See README.md beside this file. The output is committed; the build is only needed when inputs change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString, Point, mapping
from shapely.ops import substring

HERE = Path(__file__).resolve().parent
BOUNDARIES = HERE.parent.parent / "shared" / "data" / "boundaries"
UTM = 32636  # UTM zone 36N: metric working CRS for buffers; every reported figure is measured on the ellipsoid
GEOD = Geod(ellps="WGS84")

OBLASTS = {  # key: (name_latin in the source file, English name)
    "kursk-oblast": ("Kursk Oblast", "Kursk oblast"),
    "belgorod-oblast": ("Belgorod Oblast", "Belgorod oblast"),
    "bryansk-oblast": ("Bryansk Oblast", "Bryansk oblast"),
}

# Border-side centre of the illustrative salient (on the Sumy border south-west of Sudzha) and of the
# illustrative western-flank counter-attack (towards Korenevo).
SALIENT_CENTRE = (35.22, 51.12)
WESTERN_FLANK_CENTRE = (34.95, 51.33)


def geodesic_km2(geom_4326: shapely.Geometry) -> float:
    """Area on the WGS84 ellipsoid in km²."""
    return abs(GEOD.geometry_area_perimeter(geom_4326)[0]) / 1e6


def to_4326(geom: shapely.Geometry) -> shapely.Geometry:
    """Reproject a UTM 36N geometry to lon/lat."""
    return gpd.GeoSeries([geom], crs=UTM).to_crs(4326).iloc[0]


def to_utm(lon: float, lat: float) -> Point:
    """Reproject a lon/lat point to UTM 36N."""
    return gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(UTM).iloc[0]


def rounded(geom: shapely.Geometry) -> shapely.Geometry:
    """Coordinates rounded to 1e-6° (about 0.1 m), valid."""
    return shapely.make_valid(shapely.set_precision(geom, 1e-6))


def sized_zone(clip: shapely.Geometry, centre: Point, target_km2: float) -> shapely.Geometry:
    """``clip`` ∩ a disc around ``centre`` whose radius is bisected until the geodesic area is ``target_km2``."""
    lo, hi = 0.0, 150_000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if geodesic_km2(to_4326(clip.intersection(centre.buffer(mid, 128)))) < target_km2:
            lo = mid
        else:
            hi = mid
    return clip.intersection(centre.buffer(hi, 128))


def kursk_sumy_border(oblasts: dict[str, shapely.Geometry], ukraine: shapely.Geometry) -> LineString:
    """The arc of Kursk oblast's outline between its tripoints with Bryansk and Belgorod oblasts that faces Ukraine."""
    ring = LineString(oblasts["kursk-oblast"].exterior.coords)

    def tripoint(neighbour: str) -> Point:
        shared = ring.intersection(oblasts[neighbour].buffer(500))
        points = [Point(c) for part in getattr(shared, "geoms", [shared]) for c in part.coords]
        return min(points, key=lambda p: p.distance(ukraine))

    lo, hi = sorted((ring.project(tripoint("bryansk-oblast")), ring.project(tripoint("belgorod-oblast"))))
    inner = substring(ring, lo, hi)
    outer_parts = [p for p in (substring(ring, hi, ring.length), substring(ring, 0, lo)) if p.geom_type == "LineString"]
    outer = shapely.line_merge(MultiLineString(outer_parts))
    return min((inner, outer), key=lambda arc: arc.hausdorff_distance(ukraine.boundary))


def feature(geom: shapely.Geometry | None, **properties: object) -> dict:
    """A GeoJSON feature."""
    return {"type": "Feature", "properties": properties, "geometry": mapping(geom) if geom is not None else None}


def write(name: str, features: list[dict]) -> None:
    """Write a FeatureCollection, one feature per line so diffs stay readable."""
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    (HERE / name).write_text('{"type": "FeatureCollection", "features": [\n' + body + "\n]}\n")


def main() -> None:
    """Build regions.geojson, lines.geojson and control_areas.geojson."""
    if not BOUNDARIES.exists():
        sys.exit(f"{BOUNDARIES} is missing: the real outlines are needed to rebuild the seed geodata")
    russia = gpd.read_file(BOUNDARIES / "russia-oblasts-kursk-belgorod-bryansk.geojson")
    ukraine_ll = gpd.read_file(BOUNDARIES / "ukraine-country.geojson").geometry.iloc[0]
    by_latin = dict(zip(russia.name_latin, zip(russia.geometry, russia.name, strict=True), strict=True))

    regions = [
        feature(rounded(by_latin[latin][0]), key=key, name=name, local_name=by_latin[latin][1], kind="oblast",
                country="RU", source="osm-gislab")
        for key, (latin, name) in OBLASTS.items()
    ]
    regions.append(feature(rounded(ukraine_ll), key="ukraine", name="Ukraine", local_name="Україна",
                           kind="country", country="UA", source="eea"))
    write("regions.geojson", regions)

    oblasts_utm = {key: gpd.GeoSeries([by_latin[latin][0]], crs=4326).to_crs(UTM).iloc[0]
                   for key, (latin, _) in OBLASTS.items()}
    ukraine_utm = gpd.GeoSeries([ukraine_ll], crs=4326).to_crs(UTM).iloc[0]
    border = rounded(to_4326(kursk_sumy_border(oblasts_utm, ukraine_utm)))
    write("lines.geojson", [feature(
        border, key="kursk-sumy-border", name="Russia–Ukraine border: Kursk oblast – Sumy oblast",
        kind="international_border", source="osm-gislab",
        notes="Kursk oblast's outline between its tripoints with Bryansk and Belgorod oblasts "
              "(derived by geodata/build.py).",
    )])
    print(f"border: {GEOD.geometry_length(border) / 1e3:.1f} km geodesic")
    write("control_areas.geojson", illustrative_timeline(oblasts_utm["kursk-oblast"]))


EXAMPLE_TITLES = {
    ("syrskyi", "claimed"): "Example: Syrskyi's claimed area, drawn to his figures",
    ("isw", "assessed"): "Example: ISW's assessed Russian advances, drawn to ISW's totals",
    ("ru-mod-tass", "claimed"): "Example: Russian MoD claims of ground retaken (size illustrative too)",
    ("deepstatemap", "assessed"): "Example: DeepStateMap's Ukrainian-held ground, drawn to its figure",
    ("deepstatemap", "unknown"): "Example: DeepStateMap's grey zone, drawn to its figure",
}


def illustrative_timeline(kursk: shapely.Geometry) -> list[dict]:
    """Control areas sized to reported figures (see reported_figures.csv); shapes are illustrative."""
    salient = to_utm(*SALIENT_CENTRE)
    flank = to_utm(*WESTERN_FLANK_CENTRE)
    note = ("ILLUSTRATIVE shape drawn by Frontline (a zone around Sudzha clipped to Kursk oblast) sized to the "
            "reported figure; not the source's map.")
    out: list[dict] = []

    def add(key: str, source: str, side: str | None, status: str, day: str, geom: shapely.Geometry, figure: str | None,
            extra_note: str = "") -> None:
        # Stored under the source `example`, never under the source whose figure the shape illustrates: the
        # layer names that source, and the series title says it is an example.
        geom = rounded(to_4326(geom))
        out.append(feature(geom, key=key, source="example", illustrates=source, side=side, status=status,
                           valid_from=day, valid_to=None, layer=source, series_title=EXAMPLE_TITLES[source, status],
                           name=key, illustrative=True, figure=figure, notes=f"{note} {extra_note}".strip()))
        print(f"{key}: {geodesic_km2(geom):.1f} km²")

    # Ukrainian commander-in-chief's claims of area held (claimed).
    for day, km2 in (("2024-08-12", 1000.0), ("2024-08-20", 1263.0), ("2024-08-27", 1294.0)):
        add(f"syrskyi-ua-held-{day}", "syrskyi", "UA", "claimed", day, sized_zone(kursk, salient, km2),
            f"syrskyi-area-{day}")
    # ISW's assessed Russian advances inside the salient, sized to the sum of ISW's own area_km2 on that day.
    before = sized_zone(kursk, salient, 1294.0)
    for day, km2 in (("2024-09-11", 47.5), ("2024-10-24", 347.1)):
        add(f"isw-ru-advances-{day}", "isw", "RU", "assessed", day, sized_zone(before, flank, km2),
            f"isw-ru-advances-{day}")
    # Russian MoD claims of ground retaken (via TASS): no area figure was published; size illustrative.
    for day, km2 in (("2024-09-12", 150.0), ("2024-11-20", 600.0)):
        add(f"ru-mod-retaken-{day}", "ru-mod-tass", "RU", "claimed", day, sized_zone(before, flank, km2), None,
            "No area figure was published with the claim: the size is illustrative too.")
    # DeepStateMap's assessment of 2024-11-22: about 560 km² held by Ukraine and about 200 km² unclear.
    held = sized_zone(kursk, salient, 560.0)
    add("deepstate-ua-held-2024-11-22", "deepstatemap", "UA", "assessed", "2024-11-22", held,
        "deepstate-area-2024-11-22")
    grey = sized_zone(kursk, salient, 760.0).difference(held)
    add("deepstate-unclear-2024-11-22", "deepstatemap", None, "unknown", "2024-11-22", grey,
        "deepstate-unclear-2024-11-22", "Status unknown (grey zone) around the held ground.")
    return out


if __name__ == "__main__":
    main()
