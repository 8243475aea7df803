"""The front line on DeepStateMap's real publications (../shared/data/deepstate-raw): the Kursk salient keeps its
main front and the Tetkino bridgehead's, and nothing of the border (issue 23). Distances are measured here with
pyproj and Shapely in UTM zone 36N, independently of PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely import segmentize
from shapely.geometry import LineString, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from sqlalchemy import Connection, Engine

from app.db.frontline import BORDER_DRAWING_M
from app.services.importer import discover
from app.settings import Settings
from tests.helpers import client_on, import_folder, shared_data

SALIENT = "deepstatemap/UA/assessed/kursk-salient"
TETKINO = box(34.15, 51.22, 34.45, 51.36)  # the bridgehead west of Tetkino, on the border's western reach
TO_UTM = Transformer.from_crs(4326, 32636, always_xy=True).transform


def metres(geometry: BaseGeometry) -> BaseGeometry:
    """The geometry in UTM zone 36N (metres)."""
    return shapely.transform(geometry, lambda xy: np.column_stack(TO_UTM(xy[:, 0], xy[:, 1])))


def farthest_from(part: LineString, border: BaseGeometry) -> float:
    """How far (m) the part gets from the border: its farthest point, the line cut every 50 m."""
    return max(border.distance(shape({"type": "Point", "coordinates": c})) for c in segmentize(part, 50).coords)


def parts(client: TestClient, day: str) -> list[LineString]:
    """The front's connected parts (LineStrings, in UTM metres) on a day."""
    response = client.get("/frontline", params={"date": day, "series": SALIENT})
    assert response.status_code == 200, response.text
    geometry = response.json()["features"][0]["geometry"]
    return list(metres(shape(geometry)).geoms) if geometry else []


def test_the_salient_keeps_its_fronts_and_nothing_of_the_border(seeded: Connection, client: TestClient,
                                                                settings: Settings, engine: Engine) -> None:
    files = discover([shared_data("deepstate-raw")])
    assert import_folder(seeded, "deepstate-raw", "deepstate-raw") == len(files)
    days = sorted({datetime.fromtimestamp(int(p.stem), UTC).date().isoformat() for p in files})
    lines = client.get("/collections/lines/items", params={"limit": 1000}).json()["features"]
    border = metres(unary_union([shape(f["geometry"]) for f in lines
                                 if f["properties"]["kind"] == "international_border"]))
    tetkino = metres(TETKINO)
    drawings = bridgeheads = 0
    with client_on(seeded, settings, engine, border_drawing_m=0) as without_rule:
        for day in days:
            front = parts(client, day)
            reach = [farthest_from(p, border) for p in front]
            # Nothing of the border: every part reaches beyond what a drawing of the border does.
            assert all(r > BORDER_DRAWING_M for r in reach), (day, sorted(reach)[:3])
            assert max(p.length for p in front) > 20_000, day  # the main front, tens of km
            held = metres(shape(client.get("/control", params={"date": day, "series": SALIENT}).json()
                                ["features"][0]["geometry"]))
            bridgehead = held.intersection(tetkino)
            if not bridgehead.is_empty and farthest_from(bridgehead.boundary, border) > BORDER_DRAWING_M:
                assert any(p.intersects(tetkino) and p.length > 2000 for p in front), day  # the bridgehead's
                bridgeheads += 1
            # Without the rule, the source's own drawings of the border (within a kilometre of ours) are "front".
            drawings += sum(farthest_from(p, border) < 1000 for p in parts(without_rule, day))
    assert drawings >= len(days), "the publications draw the border apart from ours: the rule has work to do"
    assert bridgeheads > 0, "no publication holds the Tetkino bridgehead: the check above never ran"


@pytest.mark.parametrize("drawing_m", [-1, 20_001])
def test_the_border_drawing_tolerance_is_bounded(drawing_m: float) -> None:
    with pytest.raises(ValueError, match="border_drawing_m"):
        Settings(border_drawing_m=drawing_m)
