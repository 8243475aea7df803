"""Maps as images, drawn on the server without a browser (issue 16): a PNG of a map page, and frames for the
timeline's GIF and MP4.

A ``Scene`` is what a map page shows: the base layers, the areas with their Leaflet styles (the same dicts the
web pages use, translated here), a title, a legend, the attribution of every source and a provenance line.
matplotlib draws it through GeoPandas in Web Mercator, the web pages' projection, over the same view (the
case's centre and zoom). The scale bar is measured on the WGS84 ellipsoid at the map's centre (pyproj.Geod),
where Web Mercator's scale is exact only along the equator; north is up.

No pyplot: each image has its own ``Figure`` and Agg canvas, so requests in parallel threads do not share
state.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import imageio_ffmpeg
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from PIL import Image
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

GEOD = Geod(ellps="WGS84")
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)
MERCATOR_M_PER_PX_Z0 = 156543.03392804097  # Web Mercator metres per 256-px-tile pixel at zoom 0
MAX_LAT = 85.0  # Web Mercator's reach
REFERENCE_WIDTH_PX = 1400  # the browser width the web pages' view (centre and zoom) is meant for
REGION_STYLE: dict[str, Any] = {"color": "#6b6b6b", "weight": 1, "fillColor": "#f3efe6", "fillOpacity": 0.7}
LINE_STYLE: dict[str, Any] = {"color": "#1f1f1f", "weight": 2.5, "dashArray": "10 4 2 4", "fillOpacity": 0}
BACKGROUND = "#ece9e2"
FOOTER_PT = 6.5  # the footer's font size, points
FOOTER_LINES = 5  # room for the attribution (wrapped) and the provenance's two lines
SCALE_STEPS_KM = (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000)


@dataclass
class Layer:
    """Geometries (lon/lat) drawn in one Leaflet style; ``label`` names it in the legend (None: not listed)."""

    shapes: list[BaseGeometry]
    style: Mapping[str, Any]
    label: str | None = None


@dataclass
class Scene:
    """Everything one image shows."""

    title: str
    subtitle: str
    centre: tuple[float, float]  # lon, lat
    zoom: float
    layers: list[Layer] = field(default_factory=list)
    regions: list[BaseGeometry] = field(default_factory=list)
    lines: list[BaseGeometry] = field(default_factory=list)
    places: list[tuple[str, float, float, bool]] = field(default_factory=list)  # name, lon, lat, major
    legend_title: str = ""
    attribution: str = ""
    provenance: str = ""
    bounds: tuple[float, float, float, float] | None = None  # lon/lat: shown whole instead of centre and zoom


def png(scene: Scene, width: int, height: int, dpi: int) -> bytes:
    """The scene as a PNG of exactly ``width`` × ``height`` pixels."""
    canvas, _ = _drawn(scene, width, height, dpi)
    out = io.BytesIO()
    canvas.print_png(out)
    return out.getvalue()


def frames(scenes: Iterator[Scene], width: int, height: int, dpi: int) -> Iterator[np.ndarray]:
    """Each scene as an RGB array of ``height`` × ``width`` × 3, the same pixels as its PNG.

    The scenes of an animation differ only in their areas, title and legend: what they share (the regions
    under the areas; the lines, places, scale bar, north arrow and footer over them) is drawn once, and each
    frame draws its own layers on transparent figures and lays them between.
    """
    under = over = None
    for scene in scenes:
        if under is None or over is None:
            under = _layer(scene, width, height, dpi, _under)
            over = _layer(scene, width, height, dpi, _over)
        picture = Image.alpha_composite(under, _layer(scene, width, height, dpi, _areas))
        picture = Image.alpha_composite(Image.alpha_composite(picture, over),
                                        _layer(scene, width, height, dpi, _labels))
        yield np.asarray(picture.convert("RGB"))


def gif(images: Sequence[np.ndarray], fps: float, comment: str = "") -> bytes:
    """An animated GIF that loops (Pillow); ``comment`` is stored in the file.

    One palette for every frame, taken from up to eight of them: Pillow then stores each frame as its change
    from the one before, a third of the size of a palette per frame, and the colours do not flicker.
    """
    sample = images[:: max(1, len(images) // 8)][:8]
    palette = Image.fromarray(np.concatenate(sample, axis=0)).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    pictures = [Image.fromarray(a).quantize(palette=palette, dither=Image.Dither.NONE) for a in images]
    out = io.BytesIO()
    pictures[0].save(out, format="GIF", save_all=True, append_images=pictures[1:], loop=0,
                     duration=round(1000 / fps), optimize=True, comment=comment.encode())
    return out.getvalue()


def mp4(images: Sequence[np.ndarray], fps: float, path: str) -> bytes:
    """An H.264 MP4 (yuv420p, which every player reads) through the ffmpeg binary of imageio-ffmpeg's wheel."""
    height, width = images[0].shape[:2]
    writer = imageio_ffmpeg.write_frames(path, (width, height), fps=fps, codec="libx264", macro_block_size=2,
                                         output_params=["-movflags", "+faststart"], ffmpeg_log_level="error")
    writer.send(None)  # start the encoder
    for image in images:
        writer.send(np.ascontiguousarray(image))
    writer.close()
    with open(path, "rb") as file:
        return file.read()


# -- drawing --------------------------------------------------------------------------------------------------

def _drawn(scene: Scene, width: int, height: int, dpi: int) -> tuple[FigureCanvasAgg, Figure]:
    """The whole scene on one figure, in order: regions, areas, lines and places, then the panels."""
    canvas, figure, ax = _figure(scene, width, height, dpi, transparent=False)
    for part in (_under, _areas, _over, _labels):
        part(scene, figure, ax)
    return canvas, figure  # not drawn yet: print_png draws


def _layer(scene: Scene, width: int, height: int, dpi: int,
           part: Callable[[Scene, Figure, Any], None]) -> Image.Image:
    """One part of the scene drawn alone on a transparent figure, as an RGBA image."""
    canvas, figure, ax = _figure(scene, width, height, dpi, transparent=True)
    part(scene, figure, ax)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba()))


def _figure(scene: Scene, width: int, height: int, dpi: int, transparent: bool) -> tuple[FigureCanvasAgg, Figure, Any]:
    """A figure of the asked size whose axes show the scene's view, above a band for the footer."""
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="none" if transparent else "white")
    canvas = FigureCanvasAgg(figure)
    ax = figure.add_axes((0, _footer(height, dpi), 1, 1 - _footer(height, dpi)))
    ax.set_axis_off()
    ax.set_facecolor("none")
    xmin, xmax, ymin, ymax = _extent(scene, width, height * (1 - _footer(height, dpi)))
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_autoscale_on(False)  # GeoPandas must not move the view to its data
    return canvas, figure, ax


def _footer(height: int, dpi: int) -> float:
    """The band under the map (a fraction of the height): the attribution, wrapped, and the provenance."""
    return FOOTER_PT * FOOTER_LINES * 1.3 * dpi / 72 / height


def _under(scene: Scene, figure: Figure, ax: Any) -> None:
    footer = ax.get_position().y0
    figure.patches.append(Rectangle((0, 0), 1, 1, transform=figure.transFigure, color="white", zorder=-11))
    figure.patches.append(Rectangle((0, footer), 1, 1 - footer, transform=figure.transFigure, color=BACKGROUND,
                                    zorder=-10))
    _draw(ax, scene.regions, REGION_STYLE)


def _areas(scene: Scene, figure: Figure, ax: Any) -> None:
    for layer in scene.layers:
        _draw(ax, layer.shapes, layer.style)


def _over(scene: Scene, figure: Figure, ax: Any) -> None:
    _draw(ax, scene.lines, LINE_STYLE)
    _places(ax, scene.places)
    _scale_bar(ax, (*ax.get_xlim(), *ax.get_ylim()))
    _north_arrow(ax)
    footer = ax.get_position().y0
    figure.text(0.006, footer * 0.95, f"{scene.attribution}\n{scene.provenance}", fontsize=FOOTER_PT, va="top",
                color="#333", wrap=True, linespacing=1.25)


def _labels(scene: Scene, figure: Figure, ax: Any) -> None:
    _title(ax, scene)
    _legend(ax, scene)


def _extent(scene: Scene, width: float, height: float) -> tuple[float, float, float, float]:
    """The view in Web Mercator metres at this aspect: the scene's bounds whole (widened on one side to the
    aspect), or else the web page's view (centre and zoom at REFERENCE_WIDTH_PX)."""
    if scene.bounds is not None:
        west, south, east, north = scene.bounds
        (x0, x1), (y0, y1) = TO_MERCATOR.transform([west, east], [max(south, -MAX_LAT), min(north, MAX_LAT)])
        x, y = (x0 + x1) / 2, (y0 + y1) / 2
        span_x = max(x1 - x0, (y1 - y0) * width / height)
    else:
        x, y = TO_MERCATOR.transform(*scene.centre)
        span_x = REFERENCE_WIDTH_PX * MERCATOR_M_PER_PX_Z0 / 2 ** scene.zoom
    span_y = span_x * height / width
    return x - span_x / 2, x + span_x / 2, y - span_y / 2, y + span_y / 2


def _draw(ax: Any, shapes: Sequence[BaseGeometry], style: Mapping[str, Any]) -> None:
    """Geometries (lon/lat) in a Leaflet style, through GeoPandas in Web Mercator."""
    shapes = [s for s in shapes if s is not None and not s.is_empty]
    if not shapes:
        return
    series = gpd.GeoSeries(shapes, crs=4326).to_crs(3857)
    width = float(style.get("weight", 1.5)) * 0.75  # CSS px to points
    fill = style.get("fillColor", style.get("color", "#333"))
    polygons = series[series.geom_type.isin(["Polygon", "MultiPolygon"])]
    others = series[~series.geom_type.isin(["Polygon", "MultiPolygon"])]
    dashes = _dashes(style.get("dashArray"), width)
    if len(polygons):
        polygons.plot(ax=ax, facecolor=to_rgba(fill, float(style.get("fillOpacity", 0.2))),
                      edgecolor=to_rgba(style.get("color", fill), float(style.get("opacity", 1.0))),
                      linewidth=width, linestyle=dashes)
    if len(others):
        others.plot(ax=ax, color=style.get("color", fill), linewidth=width, linestyle=dashes)


def _dashes(dash_array: str | None, width: float) -> Any:
    """A Leaflet dashArray ("8 5", in px) as a matplotlib dash pattern (in line widths)."""
    if not dash_array:
        return "solid"
    lengths = [float(n) * 0.75 / max(width, 0.5) for n in dash_array.replace(",", " ").split()]
    return (0, tuple(lengths))


def _places(ax: Any, places: Sequence[tuple[str, float, float, bool]]) -> None:
    """Each settlement's marker, and its name where it overlaps no name already placed (``places`` come in order
    of priority, as the maps place them: the case's key places, then by population)."""
    renderer = ax.figure.canvas.get_renderer()
    placed: list[Any] = []
    for name, lon, lat, major in places:
        x, y = TO_MERCATOR.transform(lon, lat)
        ax.plot(x, y, marker="o", markersize=4.5 if major else 3, markerfacecolor="white",
                markeredgecolor="#111", markeredgewidth=1, zorder=5)
        label = ax.annotate(name, (x, y), xytext=(5, 2), textcoords="offset points", fontsize=7.5 if major else 5.5,
                            fontweight="bold" if major else "normal", zorder=6, annotation_clip=True,
                            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6})
        box = label.get_window_extent(renderer)
        if any(box.overlaps(other) for other in placed):
            label.remove()
        else:
            placed.append(box)


def _title(ax: Any, scene: Scene) -> None:
    ax.text(0.012, 0.985, scene.title, transform=ax.transAxes, fontsize=12, fontweight="bold", va="top",
            bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": "#999", "alpha": 0.94}, zorder=10)
    if scene.subtitle:
        ax.text(0.012, 0.925, scene.subtitle, transform=ax.transAxes, fontsize=7.5, va="top", color="#333",
                bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "none", "alpha": 0.85}, zorder=10)


def _legend(ax: Any, scene: Scene) -> None:
    handles: list[Any] = []
    for layer in scene.layers:
        if layer.label is None:
            continue
        style = layer.style
        colour = style.get("fillColor", style.get("color", "#333"))
        width = float(style.get("weight", 1.5)) * 0.75
        if all(shape.geom_type in ("LineString", "MultiLineString") for shape in layer.shapes):
            handles.append(Line2D([], [], color=colour, linewidth=width, label=layer.label))
            continue
        handles.append(Patch(facecolor=to_rgba(colour, float(style.get("fillOpacity", 0.2))),
                             edgecolor=style.get("color", colour), linewidth=width,
                             linestyle=_dashes(style.get("dashArray"), width), label=layer.label))
    handles.append(Line2D([], [], color=LINE_STYLE["color"], linewidth=1.8, linestyle=_dashes(
        LINE_STYLE["dashArray"], 1.8), label="international border and lines"))
    legend = ax.legend(handles=handles, loc="lower right", fontsize=7, title=scene.legend_title or None,
                       title_fontsize=7.5, framealpha=0.94, borderpad=0.6)
    legend.set_zorder(10)


def _scale_bar(ax: Any, extent: tuple[float, float, float, float]) -> None:
    """A bar of a round number of km, about a sixth of the map's width, true at the centre's latitude."""
    xmin, xmax, ymin, ymax = extent
    lon, lat = _lonlat((xmin + xmax) / 2, (ymin + ymax) / 2)
    km_per_unit = GEOD.inv(*_lonlat(xmin, (ymin + ymax) / 2), *_lonlat(xmax, (ymin + ymax) / 2))[2] / 1000 / (
        xmax - xmin)
    target = (xmax - xmin) * km_per_unit / 6
    km = max([s for s in SCALE_STEPS_KM if s <= target] or [SCALE_STEPS_KM[0]])
    east, _, _ = GEOD.fwd(lon, lat, 90, km * 1000)
    x0, y0 = TO_MERCATOR.transform(lon, lat)
    x1, _ = TO_MERCATOR.transform(east, lat)
    length = x1 - x0
    left, bottom = xmin + 0.02 * (xmax - xmin), ymin + 0.03 * (ymax - ymin)
    height = 0.008 * (ymax - ymin)
    ax.add_patch(Rectangle((left, bottom), length / 2, height, facecolor="#111", edgecolor="#111", zorder=10))
    ax.add_patch(Rectangle((left + length / 2, bottom), length / 2, height, facecolor="white", edgecolor="#111",
                           zorder=10))
    ax.text(left, bottom + 2.2 * height, f"{km:g} km (geodesic, at {abs(lat):.1f}°{'N' if lat >= 0 else 'S'})",
            fontsize=7, zorder=10, bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(x, y)
    return float(lon), float(lat)


def _north_arrow(ax: Any) -> None:
    ax.annotate("N", xy=(0.975, 0.80), xytext=(0.975, 0.72), xycoords="axes fraction", ha="center", va="top",
                fontsize=10, fontweight="bold", zorder=10,
                arrowprops={"arrowstyle": "-|>", "color": "#111", "lw": 1.5})
