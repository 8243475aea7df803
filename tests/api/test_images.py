"""The maps as images (issue 16): PNG of the map pages, the timeline as GIF and MP4."""

from __future__ import annotations

import io
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Connection

from tests.helpers import CASE, SYRSKYI_EXAMPLE

DAY = "2024-09-15"
PAGES = {
    "snapshot": {"date": DAY, "source": "example"},
    "compare": {"from": "2024-08-20", "to": "2024-11-20", "source": "example"},
    "disagreement": {"date": DAY, "a": SYRSKYI_EXAMPLE, "b": "example/RU/assessed/isw"},
}


def picture(client: TestClient, page: str, **params: str) -> Image.Image:
    response = client.get(f"/maps/{page}", params={**PAGES[page], "f": "png", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.load()  # decodes the whole file: a truncated or corrupt PNG raises here
    return image


@pytest.mark.parametrize("page", PAGES)
def test_each_map_page_is_a_png_of_the_size_asked(client: TestClient, seeded: Connection, page: str) -> None:
    assert picture(client, page).size == (1600, 1000)  # the default
    image = picture(client, page, width="900", height="640", dpi="110")
    assert image.size == (900, 640)
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    colours = {tuple(p) for p in pixels[::7]}
    assert len(colours) > 200, "a blank or nearly blank image"


def test_the_png_draws_the_areas(client: TestClient, seeded: Connection) -> None:
    """The same view with and without the day's areas: they differ where the areas are, and only the map and its
    legend and footer change (the rest is the same base map)."""
    with_areas = np.asarray(picture(client, "snapshot", width="800", height="500").convert("RGB"), dtype=int)
    without = np.asarray(picture(client, "snapshot", width="800", height="500", date="2024-01-01")
                         .convert("RGB"), dtype=int)
    changed = np.abs(with_areas - without).sum(axis=2) > 30
    assert changed.mean() > 0.01, "the areas should change at least 1 % of the pixels"
    assert changed.mean() < 0.6


def test_a_png_is_cached_and_tagged(client: TestClient, seeded: Connection) -> None:
    params = {**PAGES["snapshot"], "f": "png", "width": "600", "height": "400"}
    first = client.get("/maps/snapshot", params=params)
    again = client.get("/maps/snapshot", params=params, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/maps/snapshot", params=params).content == first.content


@pytest.mark.parametrize(("params", "parameter"), [
    ({"width": "6000", "height": "6000"}, "width"), ({"width": "10"}, "width"), ({"dpi": "5"}, "dpi"),
    ({"f": "jpeg"}, "f"),
])
def test_bad_image_sizes_are_400s(client: TestClient, params: dict[str, str], parameter: str) -> None:
    response = client.get("/maps/snapshot", params={**PAGES["snapshot"], "f": "png", **params})
    assert response.status_code == 400, response.text
    assert parameter in response.text


def example_days(client: TestClient, **params: str) -> list[str]:
    items = client.get("/collections/control-areas/items", params={"limit": "1000", "source": "example",
                                                                  **params}).json()
    return sorted({f["properties"]["observed_on"] for f in items["features"]})


def test_the_timeline_gif_has_a_frame_per_day_with_data(client: TestClient, seeded: Connection) -> None:
    response = client.get("/maps/timeline.gif", params={"source": "example", "width": "480", "height": "300",
                                                        "fps": "4"})
    assert response.status_code == 200, response.text
    days = example_days(client)
    assert response.headers["frontline-days"].split(",") == days
    gif = Image.open(io.BytesIO(response.content))
    assert gif.n_frames == len(days) and gif.size == (480, 300)
    assert gif.info["duration"] == 250 and gif.info["loop"] == 0
    assert gif.info["comment"].decode().endswith(",".join(days))
    frames = []
    for index in range(gif.n_frames):
        gif.seek(index)
        frames.append(np.asarray(gif.convert("RGB"), dtype=int))
    # Each day's frame differs from the one before: the title's day at least, and the areas.
    assert all(np.abs(a - b).sum() > 0 for a, b in zip(frames, frames[1:], strict=False))


def test_the_timeline_mp4_and_steps(client: TestClient, seeded: Connection, tmp_path: Path) -> None:
    params = {"source": "example", "start": "2024-08-01", "end": "2024-09-30", "step": "week", "width": "481",
              "height": "300"}
    response = client.get("/maps/timeline.mp4", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    days = response.headers["frontline-days"].split(",")
    assert days == ["2024-08-01", "2024-08-08", "2024-08-15", "2024-08-22", "2024-08-29", "2024-09-05",
                    "2024-09-12", "2024-09-19", "2024-09-26"]
    video = tmp_path / "timeline.mp4"
    video.write_bytes(response.content)
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(video))
    assert frames == len(days)
    reader = imageio_ffmpeg.read_frames(str(video))
    meta = next(reader)
    assert meta["size"] == (480, 300)  # H.264 in yuv420p: rounded down to even


@pytest.mark.parametrize(("params", "parameter", "says"), [
    ({"start": "2020-01-01", "end": "2024-12-31", "step": "day"}, "step", "at most 400"),
    ({"step": "week", "start": "2024-01-01", "end": "2025-12-31", "width": "3000", "height": "3000"}, "width",
     "160,000,000 pixels"),
    ({"step": "fortnight"}, "step", "fortnight"),
])
def test_an_animation_past_its_bounds_is_a_400(client: TestClient, seeded: Connection, params: dict[str, str],
                                               parameter: str, says: str) -> None:
    response = client.get("/maps/timeline.gif", params={"source": "example", **params})
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter and says in response.json()["detail"]


def test_no_data_is_a_404(client: TestClient, seeded: Connection) -> None:
    response = client.get("/maps/timeline.gif", params={"source": "example", "start": "2020-01-01",
                                                        "end": "2020-02-01", "case": CASE})
    assert response.status_code == 404


def test_a_browser_on_another_site_may_read_the_frame_days(client: TestClient, seeded: Connection) -> None:
    response = client.get("/maps/timeline.gif", params={"source": "example", "width": "300", "height": "200"},
                          headers={"Origin": "https://reports.example.org"})
    assert response.status_code == 200
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"frontline-days", "frontline-frames"} <= exposed


def test_the_png_draws_the_front_lines_asked(client: TestClient, seeded: Connection) -> None:
    size = {"width": "800", "height": "500"}
    plain = np.asarray(picture(client, "snapshot", **size).convert("RGB"), dtype=int)
    fronted = np.asarray(picture(client, "snapshot", front=SYRSKYI_EXAMPLE, **size).convert("RGB"), dtype=int)
    assert (np.abs(fronted - plain).sum(axis=2) > 30).mean() > 0.001  # the line and its legend entry
    bad = client.get("/maps/snapshot", params={**PAGES["snapshot"], "f": "png", "front": "nobody/UA/claimed/x"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "front"


def test_a_bbox_frames_the_image(client: TestClient, seeded: Connection) -> None:
    size = {"width": "600", "height": "400"}
    default = np.asarray(picture(client, "snapshot", **size).convert("RGB"), dtype=int)
    framed = np.asarray(picture(client, "snapshot", bbox="35.0,51.0,35.6,51.4", **size).convert("RGB"), dtype=int)
    assert (np.abs(framed - default).sum(axis=2) > 30).mean() > 0.05  # another view (the same: 0)
    gif = client.get("/maps/timeline.gif", params={"source": "example", "bbox": "35.0,51.0,35.6,51.4", **size})
    assert gif.status_code == 200
    for bad in ("35,51,35,51.4", "35,51,36", "35,95,36,96"):
        response = client.get("/maps/snapshot", params={**PAGES["snapshot"], "f": "png", "bbox": bad})
        assert response.status_code == 400 and response.json()["parameter"] == "bbox", bad
