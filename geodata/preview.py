"""Draw the seed geodata to docs/seed-geodata.png: `python geodata/preview.py` (needs the dev extras)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "docs" / "seed-geodata.png"
COLOURS = {"UA": "#0057b7", "RU": "#d52b1e", None: "#888888"}


def base(ax: plt.Axes, regions: gpd.GeoDataFrame, border: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> None:
    """Region outlines, the border in bold, and named settlements."""
    regions.boundary.plot(ax=ax, color="#555555", linewidth=0.6)
    border.plot(ax=ax, color="black", linewidth=2.2)
    places.plot(ax=ax, color="black", markersize=12, zorder=5)
    for _, p in places.iterrows():
        ax.annotate(p["name"], (p.geometry.x, p.geometry.y), xytext=(3, 3), textcoords="offset points", fontsize=8)


def main() -> None:
    """Regions, the Kursk–Sumy border, places, and the illustrative timeline (one panel per source)."""
    regions = gpd.read_file(HERE / "regions.geojson")
    border = gpd.read_file(HERE / "lines.geojson")
    places = gpd.read_file(HERE / "places.geojson")
    areas = gpd.read_file(HERE / "control_areas.geojson")
    fig, axes = plt.subplots(1, 2, figsize=(14, 7), gridspec_kw={"width_ratios": [1, 1.25]})

    overview = axes[0]
    base(overview, regions, border, places)
    overview.set_xlim(33.5, 37.8)
    overview.set_ylim(50.3, 52.5)
    overview.set_title("Real geography: oblast outlines (OSM/GIS-Lab), Ukraine (EEA),\n"
                       "Kursk–Sumy border (262 km, bold), settlements")

    timeline = axes[1]
    base(timeline, regions[regions.key == "kursk-oblast"], border, places)
    for _, a in areas.sort_values("valid_from").iterrows():
        style = {"claimed": "--", "assessed": "-", "unknown": ":"}[a["status"]]
        colour = COLOURS.get(a["side"], COLOURS[None])
        gpd.GeoSeries([a.geometry]).boundary.plot(ax=timeline, color=colour, linestyle=style, linewidth=1.2)
    timeline.set_xlim(34.6, 35.9)
    timeline.set_ylim(50.85, 51.5)
    timeline.set_title("ILLUSTRATIVE timeline shapes, sized to reported figures\n"
                       "blue UA, red RU, grey unknown; dashed claimed, solid assessed")
    for ax in axes:
        ax.set_aspect(1 / 0.63)  # roughly equal distances at 51° N
        ax.tick_params(labelsize=7)
    fig.text(0.01, 0.01, "Outlines © OpenStreetMap contributors (ODbL), GIS-Lab; EEA. Shapes on the right are not any "
             "source's map.", fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
