"""The shipped import profiles on the real exports in ../shared/data, measured through the API.

Every expected figure is computed here, independently of PostGIS, from the files themselves (shapely + pyproj).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy import Connection

from app.services.importer import discover, import_file
from app.services.profiles import load_profile
from tests.helpers import km2, shared_data

KURSK_BOX = (33.5, 50.6, 37.5, 52.5)
PUBLICATIONS = {"2024-08-20": "1724184993.geojson", "2024-09-01": "1725222208.geojson"}
PLACES = {"sudzha": Point(35.271, 51.191), "plekhovo": Point(35.33, 51.10)}


def raw_polygons(path: Path, status: str, fill: str | None = None) -> shapely.Geometry:
    """The union of a raw export's polygons of one status (and fill) whose inside point is in the Kursk box."""
    chosen = []
    for f in json.loads(path.read_text())["features"]:
        p, geom = f["properties"], f["geometry"] and shape(f["geometry"])
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        if f"geoJSON.status.{status}" not in (p.get("name") or ""):
            continue
        if fill and (p.get("fill") or "").lower() != fill:
            continue
        inside = geom.representative_point()
        if KURSK_BOX[0] <= inside.x <= KURSK_BOX[2] and KURSK_BOX[1] <= inside.y <= KURSK_BOX[3]:
            chosen.append(shapely.force_2d(shapely.make_valid(geom)))
    return shapely.union_all(chosen)


def import_raw(conn: Connection) -> list[Path]:
    folder = shared_data("deepstate-raw")
    profile = load_profile("deepstate-raw")
    files = discover([folder])
    for path in files:
        assert import_file(conn, path, profile).outcome == "imported"
    return files


def area_rows(client: TestClient, day: str) -> dict[tuple[str | None, str, str | None], float]:
    rows = client.get(f"/stats/area?date={day}&region=kursk-oblast&source=deepstatemap").json()["rows"]
    return {(r["side"], r["status"], r["layer"]): r["area_km2"] for r in rows}


@pytest.mark.parametrize("day", list(PUBLICATIONS))
def test_ua_held_area_in_kursk_agrees_with_the_files(client: TestClient, seeded: Connection, day: str) -> None:
    import_raw(seeded)
    path = shared_data("deepstate-raw", PUBLICATIONS[day])
    rows = area_rows(client, day)
    expected_held = km2(raw_polygons(path, "dismissed", "#01579b"))
    assert rows[("UA", "assessed", "kursk-salient")] == pytest.approx(expected_held, rel=0.03)
    # The grey zone is its own series, reported beside the held ground, never added to it.
    assert rows[(None, "unknown", "unknown")] == pytest.approx(km2(raw_polygons(path, "unknown")), rel=0.03)
    assert rows[("RU", "assessed", "occupied")] < 1.0  # DeepStateMap marks no Russian-held ground in Kursk


def test_sudzha_and_plekhovo_are_ua_held_and_the_history_says_since_when(client: TestClient,
                                                                         seeded: Connection) -> None:
    files = import_raw(seeded)
    for key, point in PLACES.items():
        rows = client.get(f"/places/{key}/control?date=2024-08-20&source=deepstatemap").json()["rows"]
        held = {(r["side"], r["layer"]) for r in rows if r["holds"]}
        assert held == {("UA", "kursk-salient")}, key
        first = next(datetime.fromtimestamp(int(p.stem), UTC).date() for p in files
                     if raw_polygons(p, "dismissed", "#01579b").covers(point))
        periods = client.get(f"/places/{key}/history?source=deepstatemap").json()["rows"]
        salient = [p for p in periods if p["layer"] == "kursk-salient"]
        assert salient and salient[0]["first_observed"] == first.isoformat(), key


def test_isw_figures_stand_beside_our_geodesic_areas(client: TestClient, seeded: Connection) -> None:
    folder = shared_data("isw-kursk")
    profile = load_profile("isw-kursk")
    reports = [import_file(seeded, path, profile) for path in discover([folder])]
    assert all(r.outcome == "imported" for r in reports)
    body = client.get("/stats/area/series?start=2024-09-11&end=2024-10-24&source=isw&region=kursk-oblast").json()
    reported = {r["day"]: r for r in body["reported"] if r["metric"] == "publisher_area_km2"}
    assert len(reported) == len(reports) == 11
    for path in discover([folder]):
        features = json.loads(path.read_text())["features"]
        day = date.fromisoformat(re.sub(r"\.geojson$", "", path.name)).isoformat()
        theirs = sum(f["properties"]["area_km2"] for f in features)
        ours = km2(shapely.union_all([shapely.force_2d(shape(f["geometry"])) for f in features]))
        row = reported[day]
        assert row["value"] == pytest.approx(theirs) and row["measured_km2"] == pytest.approx(ours, rel=0.001)
        assert row["difference_pct"] == pytest.approx((theirs - ours) / ours * 100, abs=0.05)
    assert max(abs(r["difference_pct"]) for r in reported.values()) > 1  # the difference is shown, not hidden
