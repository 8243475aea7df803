"""The server-side map renderer (app.services.render) on a scene of its own: no database needed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from shapely.geometry import LineString, box

from app.services import render

SCENE = render.Scene(
    title="Control on 2024-09-01", subtitle="A test scene", centre=(35.3, 51.25), zoom=9,
    layers=[render.Layer([box(35.2, 51.15, 35.4, 51.3)], {"color": "#0057b7", "fillOpacity": 0.35, "weight": 1.5},
                         "A series: 2024-09-01, 300 km²")],
    regions=[box(34.5, 50.8, 36.2, 51.8)], lines=[LineString([(34.6, 51.1), (36.0, 51.1)])],
    places=[("Sudzha", 35.271, 51.191, True)], attribution="Data: test", provenance="As known at now")


def test_a_png_has_the_asked_size_and_draws_the_areas() -> None:
    image = Image.open(io.BytesIO(render.png(SCENE, 800, 500, 100))).convert("RGB")
    assert image.size == (800, 500)
    empty = render.Scene(**{**SCENE.__dict__, "layers": []})
    bare = np.asarray(Image.open(io.BytesIO(render.png(empty, 800, 500, 100))).convert("RGB"), dtype=int)
    changed = np.abs(np.asarray(image, dtype=int) - bare).sum(axis=2) > 30
    assert 0.01 < changed.mean() < 0.5  # the box and its legend entry, nothing else


def test_animation_frames_are_the_pngs_pixels() -> None:
    """Frames composite their shared base with each frame's layers: the same image as the PNG's."""
    [frame] = render.frames(iter([SCENE]), 800, 500, 100)
    whole = np.asarray(Image.open(io.BytesIO(render.png(SCENE, 800, 500, 100))).convert("RGB"), dtype=int)
    assert frame.shape == (500, 800, 3)
    assert np.abs(frame.astype(int) - whole).max() <= 4


def test_the_scale_bar_is_geodesic() -> None:
    """The bar (a black and a white half) spans its label's km along the ellipsoid at the centre's latitude,
    whatever Web Mercator's scale there (1.6 times the equator's at 51.25°)."""
    _, figure = render._drawn(SCENE, 1600, 1000, 150)
    ax = figure.axes[0]
    black, white = ax.patches[:2]  # the areas are collections: the bar's halves are the axes' only patches
    label = next(t.get_text() for t in ax.texts if "km (geodesic" in t.get_text())
    km = float(label.split()[0])
    y = render.TO_MERCATOR.transform(*SCENE.centre)[1]
    west = render.TO_LONLAT.transform(black.get_x(), y)
    east = render.TO_LONLAT.transform(white.get_x() + white.get_width(), y)
    assert render.GEOD.inv(*west, east[0], west[1])[2] / 1000 == pytest.approx(km, rel=0.005)


def test_bounds_are_shown_whole_at_the_images_aspect() -> None:
    """With bounds, the view holds the whole box (widened on one side to the image's aspect), centred on it."""
    box_ = (35.0, 51.0, 35.6, 51.4)
    scene = render.Scene(**{**SCENE.__dict__, "bounds": box_})
    xmin, xmax, ymin, ymax = render._extent(scene, 800, 500)
    (x0, x1), (y0, y1) = render.TO_MERCATOR.transform([box_[0], box_[2]], [box_[1], box_[3]])
    assert xmin <= x0 < x1 <= xmax and ymin <= y0 < y1 <= ymax
    assert (xmax - xmin) / (ymax - ymin) == pytest.approx(800 / 500)
    assert min(x0 - xmin, ymax - y1) == pytest.approx(0, abs=1e-6)  # tight on the limiting side
    assert (xmin + xmax) / 2 == pytest.approx((x0 + x1) / 2) and (ymin + ymax) / 2 == pytest.approx((y0 + y1) / 2)
