"""Research endpoints: as-of control, geodesic areas, series with reported figures, changes, depth."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Point, shape
from sqlalchemy import Connection, text

from app.services.importer import ImportOptions, import_file
from tests.helpers import GEOD, add_control_area, km2, problem, pyproj_km2, rows, shared_data

DEEPSTATE = ImportOptions(source="deepstatemap", side="RU", status="assessed")


def test_control_takes_each_series_latest_observation_with_its_age(client: TestClient) -> None:
    body = client.get("/control?date=2024-08-25").json()
    by_source = {(f["properties"]["source"], f["properties"]["side"]): f["properties"] for f in body["features"]}
    assert set(by_source) == {("syrskyi", "UA")}  # nothing else observed by then in the seed
    assert by_source[("syrskyi", "UA")]["observed_on"] == "2024-08-20"
    assert by_source[("syrskyi", "UA")]["age_days"] == 5
    later = client.get("/control?date=2024-11-22").json()["features"]
    assert {(f["properties"]["source"], f["properties"]["observed_on"]) for f in later} == {
        ("syrskyi", "2024-08-27"), ("isw", "2024-10-24"), ("ru-mod-tass", "2024-11-20"),
        ("deepstatemap", "2024-11-22")}
    assert len(later) == 5  # DeepState: held and unknown are two series
    assert client.get("/control?date=2024-08-11").json()["features"] == []


def test_control_known_at_answers_with_what_was_known_then(seeded: Connection, client: TestClient) -> None:
    before = seeded.execute(text("SELECT clock_timestamp()")).scalar_one()  # the seed was recorded just before
    # A correction of the 2024-08-20 claim, recorded later (now()+1 day, as the transaction's now() is fixed).
    later = seeded.execute(text("SELECT now() + interval '1 day'")).scalar_one()
    seeded.execute(text("UPDATE control_areas SET superseded_at = :later WHERE key = 'syrskyi-ua-held-2024-08-20'"),
                   {"later": later})
    add_control_area(seeded, "syrskyi-ua-held-2024-08-20", source="syrskyi", status="claimed", day="2024-08-20",
                     layer="kursk-incursion", geometry=Point(35.27, 51.19).buffer(0.05, quad_segs=8),
                     content_hash="c", recorded_at=later)
    corrected_at = seeded.execute(text("SELECT now() + interval '2 days'")).scalar_one()

    def area(known_at) -> float:  # type: ignore[no-untyped-def]
        response = client.get("/control", params={"date": "2024-08-20", "source": "syrskyi",
                                                   "known_at": known_at.isoformat()})
        return response.json()["features"][0]["properties"]["area_km2"]

    assert area(before) == pytest.approx(1263.0, abs=0.01)
    assert area(corrected_at) < 100


def test_control_simplifies_outlines_for_display_but_measures_full_areas(client: TestClient) -> None:
    full = client.get("/control?date=2024-11-22&source=deepstatemap").json()
    thin = client.get("/control?date=2024-11-22&source=deepstatemap&simplify=2000").json()

    def vertices(collection: dict) -> int:  # type: ignore[type-arg]
        return len(re.findall(r"\[-?\d+\.?\d*,\s*-?\d+\.?\d*\]", str(collection["features"])))

    assert vertices(thin) < vertices(full)
    assert [f["properties"]["area_km2"] for f in thin["features"]] == [
        f["properties"]["area_km2"] for f in full["features"]]


def test_area_per_side_and_clipped_to_a_region(client: TestClient) -> None:
    day = rows(client, "/stats/area?date=2024-11-22")
    assert {(r["source"], r["side"], r["status"]): r["area_km2"] for r in day} == {
        ("deepstatemap", "UA", "assessed"): pytest.approx(560.0, abs=0.01),
        ("deepstatemap", None, "unknown"): pytest.approx(200.0, abs=0.01),
        ("isw", "RU", "assessed"): pytest.approx(347.1, abs=0.01),
        ("ru-mod-tass", "RU", "claimed"): pytest.approx(600.0, abs=0.01),
        ("syrskyi", "UA", "claimed"): pytest.approx(1294.0, abs=0.01),
    }
    in_kursk = rows(client, "/stats/area?date=2024-11-22&region=Kursk oblast&side=UA")
    assert {r["source"]: r["area_km2"] for r in in_kursk} == {"deepstatemap": pytest.approx(560.0, abs=0.01),
                                                            "syrskyi": pytest.approx(1294.0, abs=0.01)}
    in_belgorod = rows(client, "/stats/area?date=2024-11-22&region=belgorod-oblast&side=UA")
    assert {r["area_km2"] for r in in_belgorod} == {0}


def test_area_csv_parses(client: TestClient) -> None:
    response = client.get("/stats/area?date=2024-11-22&f=csv")
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert len(table) == 5 and float(table[0]["area_km2"]) > 0 and table[0]["day"] == "2024-11-22"


@pytest.mark.parametrize("day", ["20240708", "20240820", "20241018"])
def test_area_agrees_with_pyproj_on_deepstate_days(seeded: Connection, client: TestClient, day: str) -> None:
    path = shared_data("deepstate", f"deepstatemap_data_{day}.geojson")
    import_file(seeded, path, DEEPSTATE)
    iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    [row] = rows(client, f"/stats/area?date={iso}&source=deepstatemap&side=RU")
    assert row["observed_on"] == iso
    assert row["area_km2"] == pytest.approx(pyproj_km2(path), rel=0.001)


def test_missing_days_fall_back_to_the_latest_earlier_snapshot(seeded: Connection, client: TestClient) -> None:
    folder = shared_data("deepstate")
    days = sorted(p.name[18:26] for p in folder.glob("deepstatemap_data_*.geojson"))
    present = {date(int(d[:4]), int(d[4:6]), int(d[6:])) for d in days}
    gap = next(d for d in sorted(present) if d.toordinal() + 1 not in {p.toordinal() for p in present})
    import_file(seeded, folder / f"deepstatemap_data_{gap:%Y%m%d}.geojson", DEEPSTATE)
    missing = date.fromordinal(gap.toordinal() + 1)
    [row] = rows(client, f"/stats/area?date={missing}&source=deepstatemap")
    assert row["observed_on"] == gap.isoformat() and row["age_days"] == 1


def test_series_has_one_row_per_step_and_series_with_reported_figures_beside(client: TestClient) -> None:
    body = client.get("/stats/area/series?start=2024-08-10&end=2024-08-31&side=UA&region=kursk-oblast").json()
    days = [r["day"] for r in body["rows"]]
    assert days == sorted(days) and days[0] == "2024-08-12" and days[-1] == "2024-08-31"  # from the first claim
    assert len(body["rows"]) == 20
    assert {(f["day"], f["value"]) for f in body["reported"]} == {
        ("2024-08-12", 1000.0), ("2024-08-20", 1263.0), ("2024-08-27", 1294.0)}
    weekly = rows(client, "/stats/area/series?start=2024-08-12&end=2024-11-22&step=week&source=syrskyi")
    assert len(weekly) == 15 and weekly[-1]["observed_on"] == "2024-08-27"


def test_series_csv_merges_measured_and_reported(client: TestClient) -> None:
    text_csv = client.get("/stats/area/series?start=2024-08-01&end=2024-12-01&step=month&side=UA&f=csv").text
    table = list(csv.DictReader(io.StringIO(text_csv)))
    assert {r["kind"] for r in table} == {"measured", "reported"}
    assert [r["value"] for r in table if r["kind"] == "reported"] == ["1000.0", "1263.0", "1294.0", "560.0"]


def test_change_totals_add_up(client: TestClient) -> None:
    body = client.get("/stats/changes?from=2024-08-20&to=2024-11-22").json()
    assert body["totals"]
    for total in body["totals"]:
        expected = total["before_km2"] + total["gained_km2"] - total["lost_km2"]
        assert expected == pytest.approx(total["after_km2"], rel=1e-6, abs=1e-3), total
    syrskyi = next(t for t in body["totals"] if t["source"] == "syrskyi")
    assert syrskyi["before_km2"] == pytest.approx(1263, abs=0.01)
    assert syrskyi["after_km2"] == pytest.approx(1294, abs=0.01)
    assert syrskyi["gained_km2"] == pytest.approx(31, abs=0.01) and syrskyi["lost_km2"] == pytest.approx(0, abs=0.01)
    gained = [f for f in body["features"] if f["properties"]["change"] == "gained"
              and f["properties"]["source"] == "syrskyi"]
    assert len(gained) == 1
    assert km2(shape(gained[0]["geometry"])) == pytest.approx(31, rel=0.001)


def test_change_totals_add_up_on_real_deepstate_days(seeded: Connection, client: TestClient) -> None:
    for day in ("20240806", "20241018"):
        import_file(seeded, shared_data("deepstate", f"deepstatemap_data_{day}.geojson"), DEEPSTATE)
    [total] = client.get("/stats/changes?from=2024-08-06&to=2024-10-18&source=deepstatemap&side=RU").json()["totals"]
    assert total["gained_km2"] > 0 and total["lost_km2"] > 0
    assert total["before_km2"] + total["gained_km2"] - total["lost_km2"] == pytest.approx(total["after_km2"], rel=1e-6)


def test_changes_csv_parses(client: TestClient) -> None:
    table = list(csv.DictReader(io.StringIO(client.get("/stats/changes?from=2024-08-20&to=2024-08-27&f=csv").text)))
    assert [r["source"] for r in table] == ["syrskyi"] and float(table[0]["gained_km2"]) > 30


def test_depth_is_the_geodesic_distance_of_the_farthest_point(seeded: Connection, client: TestClient) -> None:
    [row] = rows(client, "/stats/depth?date=2024-08-27&side=UA&region=kursk-oblast")
    assert row["source"] == "syrskyi" and 10 < row["depth_km"] < 60
    border = json.loads(seeded.execute(text(
        "SELECT ST_AsGeoJSON(geom) FROM lines WHERE key = 'kursk-sumy-border'")).scalar_one())
    # Independent check: geodesic distance from the point to the border, densified every ~100 m, with pyproj.
    line = shape(border).geoms[0] if border["type"] == "MultiLineString" else shape(border)
    dense = LineString(line.segmentize(0.001).coords)
    lon, lat = row["lon"], row["lat"]
    nearest = min(GEOD.inv(lon, lat, x, y)[2] for x, y in dense.coords) / 1000
    assert row["depth_km"] == pytest.approx(nearest, rel=0.01)
    area = shape(client.get("/control?date=2024-08-27&source=syrskyi").json()["features"][0]["geometry"])
    assert area.buffer(1e-6).contains(Point(lon, lat))


@pytest.mark.parametrize(("url", "status", "parameter"), [
    ("/control", 400, "date"),
    ("/control?date=2024-13-01", 400, "date"),
    ("/control?date=2024-08-20&status=held", 400, "status"),
    ("/control?date=2024-08-20&known_at=soon", 400, "known_at"),
    ("/stats/area?date=2024-08-20&region=atlantis", 400, "region"),
    ("/stats/area?date=2024-08-20&f=xlsx", 400, "f"),
    ("/stats/area?date=2024-08-20&bbox=1,2,3,4", 400, "bbox"),
    ("/stats/area/series?start=2024-09-01&end=2024-08-01", 400, "start"),
    ("/stats/area/series?start=2024-08-01&end=2024-09-01&step=hour", 400, "step"),
    ("/stats/area/series?start=1900-01-01&end=2024-09-01", 400, "step"),
    ("/stats/changes?from=2024-09-01&to=2024-08-01", 400, "from"),
    ("/stats/depth?date=2024-08-20", 400, "side"),
    ("/stats/depth?date=2024-08-20&side=UA&line=nowhere", 400, "line"),
])
def test_bad_research_requests_are_clear_problems(client: TestClient, url: str, status: int,
                                                 parameter: str | None) -> None:
    problem(client.get(url), status, parameter)
