"""What the database derives at write time (app/db/observed.py): each series' union per day, its area and its
cuts to regions and cases, kept with the version history, checked against Shapely and pyproj on the same
polygons."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely import wkt
from shapely.geometry import Polygon, shape
from shapely.ops import unary_union
from sqlalchemy import Connection, text

from app.db.observed import DISPLAY_BANDS, METRES_PER_DEGREE
from app.settings import Settings
from tests.helpers import SQUARE, add_control_area, bearer, feature, km2

DAY = "2024-09-01"
SERIES = "isw/UA/assessed/test-layer"
# Two overlapping squares north of Sudzha, the second straddling the Kursk–Sumy border to the south-west.
NORTH = Polygon(SQUARE)
SOUTH_WEST = Polygon([(35.1, 51.15), (35.3, 51.15), (35.3, 51.25), (35.1, 51.25)])


def current(conn: Connection, series: str = SERIES, day: str = DAY) -> list[dict[str, Any]]:
    """The current observations of a series on a day, with their whole shape."""
    return [dict(r._mapping) for r in conn.execute(text(
        "SELECT o.id, o.area_ids, s.area_km2, ST_AsText(s.geom) AS wkt FROM observations o "
        "JOIN observation_shapes s ON s.observation_id = o.id AND s.ground = '' "
        "JOIN series ON series.source_id = o.source_id AND series.status = o.status "
        " AND series.side_code IS NOT DISTINCT FROM o.side_code AND series.layer IS NOT DISTINCT FROM o.layer "
        "WHERE series.key = :series AND o.observed_on = :day AND o.superseded_at IS NULL"),
        {"series": series, "day": day})]


def ground_of(conn: Connection, key: str) -> Any:
    return wkt.loads(conn.execute(text("SELECT ST_AsText(geom) FROM regions WHERE key = :key AND superseded_at "
                                       "IS NULL"), {"key": key}).scalar_one())


def add_two_parts(conn: Connection) -> list[int]:
    key = f"{SERIES}/{DAY}"
    return [add_control_area(conn, key, geometry=NORTH), add_control_area(conn, key, geometry=SOUTH_WEST)]


def test_a_days_parts_are_united_once_and_measured_on_the_ellipsoid(seeded: Connection) -> None:
    ids = add_two_parts(seeded)
    [observation] = current(seeded)
    union = unary_union([NORTH, SOUTH_WEST])
    assert observation["area_ids"] == sorted(ids)
    assert observation["area_km2"] == pytest.approx(km2(union), rel=1e-4)
    overlap = km2(NORTH.intersection(SOUTH_WEST))
    assert overlap > 30  # and it is not counted twice:
    assert observation["area_km2"] == pytest.approx(km2(NORTH) + km2(SOUTH_WEST) - overlap, rel=1e-4)
    assert wkt.loads(observation["wkt"]).symmetric_difference(union).area < 1e-9


def test_every_observation_is_cut_to_every_region_and_case(seeded: Connection) -> None:
    add_two_parts(seeded)
    [observation] = current(seeded)
    cuts = dict(seeded.execute(text("SELECT ground, area_km2 FROM observation_shapes WHERE observation_id = :id"),
                               {"id": observation["id"]}).all())
    regions = set(seeded.execute(text("SELECT key FROM regions WHERE superseded_at IS NULL")).scalars())
    case_keys = set(seeded.execute(text("SELECT key FROM cases")).scalars())
    assert set(cuts) == {"", *regions, *case_keys}
    union = unary_union([NORTH, SOUTH_WEST])
    for region in ("kursk-oblast", "ukraine"):
        assert cuts[region] == pytest.approx(km2(union.intersection(ground_of(seeded, region))), rel=0.005)
    assert 0 < cuts["kursk-oblast"] < cuts[""]  # the square south-west of the border is partly in Ukraine
    assert cuts["ukraine"] > 5
    assert cuts["bryansk-oblast"] == 0


def test_the_figures_read_what_was_stored(client: TestClient, seeded: Connection) -> None:
    add_two_parts(seeded)
    [observation] = current(seeded)
    rows = client.get(f"/stats/area?date={DAY}&series={SERIES}&region=kursk-oblast").json()["rows"]
    stored = seeded.execute(text("SELECT area_km2 FROM observation_shapes WHERE observation_id = :id "
                                 "AND ground = 'kursk-oblast'"), {"id": observation["id"]}).scalar_one()
    assert [r["area_km2"] for r in rows] == [pytest.approx(stored, abs=0.001)]
    [control] = client.get(f"/control?date={DAY}&series={SERIES}").json()["features"]
    assert control["id"] == observation["id"] and control["properties"]["parts"] == 2
    assert control["properties"]["area_ids"] == observation["area_ids"]
    assert control["properties"]["key"] == f"{SERIES}/{DAY}"
    assert control["properties"]["area_km2"] == pytest.approx(observation["area_km2"], abs=0.001)


def test_a_correction_versions_the_observation_in_the_same_transaction(
        client: TestClient, seeded: Connection, settings: Settings) -> None:
    writer = bearer(seeded, settings, "editor", "write")
    body = feature([SQUARE], source="isw", side="UA", status="assessed", valid_from=DAY, layer="test-layer")
    created = client.post("/collections/control-areas/items", json=body, headers=writer)
    assert created.status_code == 201, created.text
    [before] = current(seeded)
    known = seeded.execute(text("SELECT clock_timestamp()")).scalar_one()
    bigger = feature([[[35.2, 51.2], [35.5, 51.2], [35.5, 51.29], [35.2, 51.29], [35.2, 51.2]]], source="isw",
                     side="UA", status="assessed", valid_from=DAY, layer="test-layer")
    url = f"/collections/control-areas/items/{created.json()['properties']['key']}"
    fixed = client.put(url, json=bigger, headers={**writer, "If-Match": client.get(url).headers["etag"]})
    assert fixed.status_code == 200, fixed.text
    [after] = current(seeded)
    assert after["id"] != before["id"] and after["area_km2"] == pytest.approx(2 * before["area_km2"], rel=0.01)
    closed = seeded.execute(text("SELECT superseded_at IS NOT NULL FROM observations WHERE id = :id"),
                            {"id": before["id"]}).scalar_one()
    assert closed  # history keeps the old observation, closed
    then = client.get("/stats/area", params={"date": DAY, "series": SERIES, "known_at": known.isoformat()}).json()
    assert [r["area_km2"] for r in then["rows"]] == [pytest.approx(before["area_km2"], abs=0.001)]
    now = client.get("/stats/area", params={"date": DAY, "series": SERIES}).json()
    assert [r["area_km2"] for r in now["rows"]] == [pytest.approx(after["area_km2"], abs=0.001)]

    gone = client.delete(url + "?reason=test", headers={**writer, "If-Match": client.get(url).headers["etag"]})
    assert gone.status_code == 204, gone.text
    assert current(seeded) == []
    assert client.get(f"/control?date={DAY}&series={SERIES}").json()["features"] == []


def rhythm(conn: Connection, series: str = SERIES) -> dict[str, Any]:
    """The series' row in observed_series (migration 0009)."""
    return dict(conn.execute(text(
        "SELECT o.first_observed, o.last_observed, o.observations, o.median_gap_days FROM observed_series o "
        "JOIN series ON series.source_id = o.source_id AND series.status = o.status "
        " AND series.side_code IS NOT DISTINCT FROM o.side_code AND series.layer IS NOT DISTINCT FROM o.layer "
        "WHERE series.key = :series"), {"series": series}).one()._mapping)


def test_a_series_rhythm_is_kept_at_write_time(client: TestClient, seeded: Connection) -> None:
    """Days 1, 3 and 10 of September: gaps 2 and 7, median 4.5; retracting day 10 leaves one gap of 2."""
    ids = {day: add_control_area(seeded, f"{SERIES}/2024-09-{day:02d}", day=f"2024-09-{day:02d}")
           for day in (1, 3, 10)}
    assert rhythm(seeded) == {"first_observed": date(2024, 9, 1), "last_observed": date(2024, 9, 10),
                              "observations": 3, "median_gap_days": 4.5}
    listed = {s["id"]: s for s in client.get("/series").json()["series"]}[SERIES]
    assert (listed["observations"], listed["median_gap_days"]) == (3, 4.5)
    before = seeded.execute(text("SELECT clock_timestamp()")).scalar_one()
    seeded.execute(text("UPDATE control_areas SET superseded_at = clock_timestamp() WHERE id = :id"),
                   {"id": ids[10]})
    assert rhythm(seeded) == {"first_observed": date(2024, 9, 1), "last_observed": date(2024, 9, 3),
                              "observations": 2, "median_gap_days": 2.0}
    # The latest observation on or before a day, now and as known before the retraction:
    for known_at, expected in ((None, "2024-09-03"), (before.isoformat(), "2024-09-10")):
        params = {"date": "2024-09-20", "series": SERIES} | ({"known_at": known_at} if known_at else {})
        [row] = client.get("/stats/area", params=params).json()["rows"]
        assert row["observed_on"] == expected


def test_editing_a_region_cuts_again(seeded: Connection) -> None:
    add_two_parts(seeded)
    [observation] = current(seeded)
    # A new version of the region: only its part north of 51.25° N.
    seeded.execute(text("UPDATE regions SET superseded_at = clock_timestamp() WHERE key = 'kursk-oblast' "
                        "AND superseded_at IS NULL"))
    seeded.execute(text(
        "INSERT INTO regions (key, source_id, content_hash, name, kind, geom) "
        "SELECT 'kursk-oblast', source_id, 'north', name, kind, "
        "ST_Multi(ST_CollectionExtract(ST_Intersection(geom, ST_MakeEnvelope(30, 51.25, 40, 60, 4326)), 3)) "
        "FROM regions WHERE key = 'kursk-oblast' ORDER BY id DESC LIMIT 1"))
    cut = seeded.execute(text("SELECT area_km2 FROM observation_shapes WHERE observation_id = :id "
                              "AND ground = 'kursk-oblast'"), {"id": observation["id"]}).scalar_one()
    expected = km2(unary_union([NORTH, SOUTH_WEST]).intersection(ground_of(seeded, "kursk-oblast")))
    assert cut == pytest.approx(expected, rel=0.005)
    assert cut < km2(NORTH)


@pytest.mark.parametrize(("asked", "band"), [(None, None), (10, None), (40, 40), (100, 40), (150, 150),
                                            (999, 150), (5000, 1000)])
def test_outlines_come_simplified_per_zoom_band(client: TestClient, seeded: Connection, asked: int | None,
                                                band: int | None) -> None:
    ring = [(35.2 + 0.1 * (i % 2) * 0.01, 51.2 + i * 0.001) for i in range(100)]  # a zigzag: worth simplifying
    zigzag = Polygon([*ring, (35.0, 51.3), (35.0, 51.2)])
    add_control_area(seeded, f"{SERIES}/{DAY}", geometry=zigzag)
    query = f"/control?date={DAY}&series={SERIES}" + (f"&simplify={asked}" if asked is not None else "")
    [found] = client.get(query).json()["features"]
    stored = seeded.execute(text(
        "SELECT ST_AsGeoJSON(ST_ForcePolygonCCW(ST_SimplifyPreserveTopology(geom, :tolerance)), 5) "
        "FROM observation_shapes WHERE observation_id = :id AND ground = ''"),
        {"tolerance": (band or 0) / METRES_PER_DEGREE, "id": found["id"]}).scalar_one()
    sent = shape(found["geometry"])
    if band is None:
        assert sent.symmetric_difference(zigzag).area < 1e-12
    else:
        assert sent.equals_exact(shape(json.loads(stored)), 1e-9)
        assert band in DISPLAY_BANDS
    assert found["properties"]["area_km2"] == pytest.approx(km2(zigzag), rel=1e-4)
