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
from tests.helpers import (
    EXAMPLE_SERIES,
    GEOD,
    SQUARE,
    SYRSKYI_EXAMPLE,
    add_control_area,
    add_observations,
    every,
    km2,
    prefer,
    problem,
    pyproj_km2,
    rows,
    shared_data,
)

DEEPSTATE = ImportOptions(source="deepstatemap", side="RU", status="assessed")


def test_control_takes_each_series_latest_observation_with_its_age(client: TestClient) -> None:
    body = client.get("/control?date=2024-08-25&source=example").json()
    by_series = {f["properties"]["series"]: f["properties"] for f in body["features"]}
    assert set(by_series) == {SYRSKYI_EXAMPLE}  # nothing else observed by then in the seed
    assert by_series[SYRSKYI_EXAMPLE]["observed_on"] == "2024-08-20"
    assert by_series[SYRSKYI_EXAMPLE]["age_days"] == 5
    assert by_series[SYRSKYI_EXAMPLE]["series_title"] == EXAMPLE_SERIES[SYRSKYI_EXAMPLE]
    later = client.get("/control?date=2024-11-22&source=example").json()["features"]
    # Each example's layer names the source whose figures it illustrates.
    assert {(f["properties"]["layer"], f["properties"]["observed_on"]) for f in later} == {
        ("syrskyi", "2024-08-27"), ("isw", "2024-10-24"), ("ru-mod-tass", "2024-11-20"),
        ("deepstatemap", "2024-11-22")}
    assert len(later) == 5  # DeepState: held and unknown are two series
    assert {f["properties"]["series"]: f["properties"]["series_title"] for f in later} == EXAMPLE_SERIES
    assert {(f["properties"]["source"], f["properties"]["illustrative"]) for f in later} == {("example", True)}
    assert client.get("/control?date=2024-08-11&source=example").json()["features"] == []
    # Without source=example, the seed alone has nothing to show: its shapes are examples, no source's map.
    assert client.get("/control?date=2024-11-22").json()["features"] == []


def test_control_known_at_answers_with_what_was_known_then(seeded: Connection, client: TestClient) -> None:
    before = seeded.execute(text("SELECT clock_timestamp()")).scalar_one()  # the seed was recorded just before
    # A correction of the 2024-08-20 claim, recorded later (now()+1 day, as the transaction's now() is fixed).
    later = seeded.execute(text("SELECT now() + interval '1 day'")).scalar_one()
    seeded.execute(text("UPDATE control_areas SET superseded_at = :later WHERE key = 'syrskyi-ua-held-2024-08-20'"),
                   {"later": later})
    add_control_area(seeded, "syrskyi-ua-held-2024-08-20", source="example", status="claimed", day="2024-08-20",
                     layer="syrskyi", geometry=Point(35.27, 51.19).buffer(0.05, quad_segs=8),
                     content_hash="c", recorded_at=later)
    corrected_at = seeded.execute(text("SELECT now() + interval '2 days'")).scalar_one()

    def area(known_at) -> float:  # type: ignore[no-untyped-def]
        response = client.get("/control", params={"date": "2024-08-20", "series": SYRSKYI_EXAMPLE,
                                                   "known_at": known_at.isoformat()})
        [found] = response.json()["features"]
        return found["properties"]["area_km2"]

    assert area(before) == pytest.approx(1263.0, abs=0.01)
    assert area(corrected_at) < 100


def test_control_simplifies_outlines_for_display_but_measures_full_areas(client: TestClient) -> None:
    full = client.get("/control?date=2024-11-22&source=example").json()
    thin = client.get("/control?date=2024-11-22&source=example&simplify=2000").json()
    assert len(full["features"]) == 5

    def vertices(collection: dict) -> int:  # type: ignore[type-arg]
        return len(re.findall(r"\[-?\d+\.?\d*,\s*-?\d+\.?\d*\]", str(collection["features"])))

    assert vertices(thin) < vertices(full)
    assert [f["properties"]["area_km2"] for f in thin["features"]] == [
        f["properties"]["area_km2"] for f in full["features"]]


def test_area_per_side_and_clipped_to_a_region(client: TestClient) -> None:
    day = rows(client, "/stats/area?date=2024-11-22&source=example")
    assert {(r["layer"], r["side"], r["status"]): r["area_km2"] for r in day} == {
        ("deepstatemap", "UA", "assessed"): pytest.approx(560.0, abs=0.01),
        ("deepstatemap", None, "unknown"): pytest.approx(200.0, abs=0.01),
        ("isw", "RU", "assessed"): pytest.approx(347.1, abs=0.01),
        ("ru-mod-tass", "RU", "claimed"): pytest.approx(600.0, abs=0.01),
        ("syrskyi", "UA", "claimed"): pytest.approx(1294.0, abs=0.01),
    }
    assert {r["series"]: r["title"] for r in day} == EXAMPLE_SERIES
    in_kursk = rows(client, "/stats/area?date=2024-11-22&region=Kursk oblast&side=UA&source=example")
    assert {r["series"]: r["area_km2"] for r in in_kursk} == {
        "example/UA/assessed/deepstatemap": pytest.approx(560.0, abs=0.01),
        SYRSKYI_EXAMPLE: pytest.approx(1294.0, abs=0.01)}
    in_belgorod = rows(client, "/stats/area?date=2024-11-22&region=belgorod-oblast&side=UA&source=example")
    assert {r["area_km2"] for r in in_belgorod} == {0}
    assert rows(client, "/stats/area?date=2024-11-22") == []  # the seed's shapes are examples, not figures


def test_area_csv_parses(client: TestClient) -> None:
    response = client.get("/stats/area?date=2024-11-22&source=example&f=csv")
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert len(table) == 5 and float(table[0]["area_km2"]) > 0 and table[0]["day"] == "2024-11-22"
    assert {r["series"]: r["title"] for r in table} == EXAMPLE_SERIES
    assert {r["stale"] for r in table} <= {"true", "false", "True", "False"}


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
    # The example drawn to Syrskyi's figures, beside the figures themselves (stored under his own source).
    body = client.get("/stats/area/series?start=2024-08-10&end=2024-08-31&side=UA&region=kursk-oblast"
                      "&source=example,syrskyi").json()
    days = [r["day"] for r in body["rows"]]
    assert days == sorted(days) and days[0] == "2024-08-12" and days[-1] == "2024-08-31"  # from the first claim
    assert len(body["rows"]) == 20 and {r["series"] for r in body["rows"]} == {SYRSKYI_EXAMPLE}
    assert {(f["day"], f["source"], f["value"]) for f in body["reported"]} == {
        ("2024-08-12", "syrskyi", 1000.0), ("2024-08-20", "syrskyi", 1263.0), ("2024-08-27", "syrskyi", 1294.0)}
    weekly = rows(client, f"/stats/area/series?start=2024-08-12&end=2024-11-22&step=week&series={SYRSKYI_EXAMPLE}")
    assert len(weekly) == 15 and weekly[-1]["observed_on"] == "2024-08-27"
    # Observed 2024-08-12, -20, -27: a median gap of 7.5 days, so stale after 15 days.
    assert [r["stale"] for r in weekly] == [r["age_days"] > 15 for r in weekly]
    assert weekly[3]["stale"] is False and weekly[-1]["stale"] is True


def test_series_csv_merges_measured_and_reported(client: TestClient) -> None:
    url = "/stats/area/series?start=2024-08-01&end=2024-12-01&step=month&side=UA&f=csv"
    table = list(csv.DictReader(io.StringIO(client.get(f"{url}&source=example,syrskyi,deepstatemap").text)))
    assert {r["kind"] for r in table} == {"measured", "reported"}
    assert {r["source"] for r in table if r["kind"] == "measured"} == {"example"}
    assert [r["value"] for r in table if r["kind"] == "reported"] == ["1000.0", "1263.0", "1294.0", "560.0"]
    # By default the examples are left out; the reported figures stay, under their own sources.
    default = list(csv.DictReader(io.StringIO(client.get(url).text)))
    assert {r["kind"] for r in default} == {"reported"}
    assert [(r["source"], r["value"]) for r in default] == [
        ("syrskyi", "1000.0"), ("syrskyi", "1263.0"), ("syrskyi", "1294.0"), ("deepstatemap", "560.0")]


def test_change_totals_add_up(client: TestClient) -> None:
    body = client.get("/stats/changes?from=2024-08-20&to=2024-11-22&source=example").json()
    assert {t["series"]: t["title"] for t in body["totals"]} == EXAMPLE_SERIES
    for total in body["totals"]:
        expected = total["before_km2"] + total["gained_km2"] - total["lost_km2"]
        assert expected == pytest.approx(total["after_km2"], rel=1e-6, abs=1e-3), total
    syrskyi = next(t for t in body["totals"] if t["series"] == SYRSKYI_EXAMPLE)
    assert syrskyi["before_km2"] == pytest.approx(1263, abs=0.01)
    assert syrskyi["after_km2"] == pytest.approx(1294, abs=0.01)
    assert syrskyi["gained_km2"] == pytest.approx(31, abs=0.01) and syrskyi["lost_km2"] == pytest.approx(0, abs=0.01)
    gained = [f for f in body["features"] if f["properties"]["change"] == "gained"
              and f["properties"]["series"] == SYRSKYI_EXAMPLE]
    assert len(gained) == 1 and gained[0]["properties"]["title"] == EXAMPLE_SERIES[SYRSKYI_EXAMPLE]
    assert km2(shape(gained[0]["geometry"])) == pytest.approx(31, rel=0.001)


def test_change_totals_add_up_on_real_deepstate_days(seeded: Connection, client: TestClient) -> None:
    for day in ("20240806", "20241018"):
        import_file(seeded, shared_data("deepstate", f"deepstatemap_data_{day}.geojson"), DEEPSTATE)
    [total] = client.get("/stats/changes?from=2024-08-06&to=2024-10-18&source=deepstatemap&side=RU").json()["totals"]
    assert total["gained_km2"] > 0 and total["lost_km2"] > 0
    assert total["before_km2"] + total["gained_km2"] - total["lost_km2"] == pytest.approx(total["after_km2"], rel=1e-6)


def test_changes_csv_parses(client: TestClient) -> None:
    url = "/stats/changes?from=2024-08-20&to=2024-08-27&f=csv"
    table = list(csv.DictReader(io.StringIO(client.get(f"{url}&source=example").text)))
    assert [r["series"] for r in table] == [SYRSKYI_EXAMPLE] and float(table[0]["gained_km2"]) > 30
    assert table[0]["title"] == EXAMPLE_SERIES[SYRSKYI_EXAMPLE]
    assert list(csv.DictReader(io.StringIO(client.get(url).text))) == []  # no examples by default


def test_depth_is_the_geodesic_distance_of_the_farthest_point(seeded: Connection, client: TestClient) -> None:
    assert rows(client, "/stats/depth?date=2024-08-27&side=UA&region=kursk-oblast") == []  # examples left out
    [row] = rows(client, "/stats/depth?date=2024-08-27&side=UA&region=kursk-oblast&source=example")
    assert row["series"] == SYRSKYI_EXAMPLE and row["title"] == EXAMPLE_SERIES[SYRSKYI_EXAMPLE]
    assert 10 < row["depth_km"] < 60
    border = json.loads(seeded.execute(text(
        "SELECT ST_AsGeoJSON(geom) FROM lines WHERE key = 'kursk-sumy-border'")).scalar_one())
    # Independent check: geodesic distance from the point to the border, densified every ~100 m, with pyproj.
    line = shape(border).geoms[0] if border["type"] == "MultiLineString" else shape(border)
    dense = LineString(line.segmentize(0.001).coords)
    lon, lat = row["lon"], row["lat"]
    nearest = min(GEOD.inv(lon, lat, x, y)[2] for x, y in dense.coords) / 1000
    assert row["depth_km"] == pytest.approx(nearest, rel=0.01)
    area = shape(client.get(f"/control?date=2024-08-27&series={SYRSKYI_EXAMPLE}").json()["features"][0]["geometry"])
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


# -- examples, series, sources by name, staleness ------------------------------------------------------------

# A real observation beside the seed's examples: DeepStateMap's UA-held ground north of Sudzha on 2024-08-26.
REAL_SERIES = "deepstatemap/UA/assessed/kursk-salient"
RESEARCH_URLS = [
    "/control?date=2024-11-22",
    "/stats/area?date=2024-11-22",
    "/stats/area?date=2024-11-22&region=kursk-oblast",
    "/stats/area/series?start=2024-08-01&end=2024-11-30&step=week",
    "/stats/changes?from=2024-08-20&to=2024-11-22",
    "/stats/changes?from=2024-08-20&to=2024-11-22&f=csv",
    "/stats/depth?date=2024-08-27&side=UA&region=kursk-oblast",
]


def answered(client: TestClient, url: str) -> list[dict]:  # type: ignore[type-arg]
    """The rows, features' properties or change totals of a 200 answer (JSON or CSV)."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    if "f=csv" in url:
        return list(csv.DictReader(io.StringIO(response.text)))
    body = response.json()
    return [f["properties"] for f in body.get("features", [])] + body.get("rows", []) + body.get("totals", [])


def add_real_area(conn: Connection) -> None:
    add_control_area(conn, f"{REAL_SERIES}/2024-08-26", source="deepstatemap", side="UA", status="assessed",
                     layer="kursk-salient", day="2024-08-26")


@pytest.mark.parametrize("url", RESEARCH_URLS)
def test_examples_are_left_out_unless_asked_for_with_source_example(seeded: Connection, client: TestClient,
                                                                    url: str) -> None:
    assert answered(client, url) == []  # the seed alone: only examples
    add_real_area(seeded)
    assert {(r["source"], r["series"]) for r in answered(client, url)} == {("deepstatemap", REAL_SERIES)}
    examples = answered(client, f"{url}&source=example")
    assert examples and {r["source"] for r in examples} == {"example"}
    assert {r["series"] for r in examples} <= set(EXAMPLE_SERIES)
    both = {r["source"] for r in answered(client, f"{url}&source=example,deepstatemap")}
    assert both == {"example", "deepstatemap"}
    # A series key reaches an example without source=example.
    assert {r["series"] for r in answered(client, f"{url}&series={SYRSKYI_EXAMPLE}")} <= {SYRSKYI_EXAMPLE}


def test_series_selects_exactly_those_series_preferred_or_not(seeded: Connection, client: TestClient) -> None:
    # DeepStateMap's daily snapshots and its full publications' occupied layer describe the same ground.
    daily = add_observations(seeded, "deepstatemap", "RU", "assessed", None, [date(2024, 9, 1)])
    occupied = add_observations(seeded, "deepstatemap", "RU", "assessed", "occupied", [date(2024, 9, 1)],
                                geometry=Point(35.3, 51.25).buffer(0.1, quad_segs=8))
    isw = add_observations(seeded, "isw", "RU", "assessed", "kursk-ru-advances", [date(2024, 9, 1)])
    url = "/stats/area?date=2024-09-02"
    assert {r["series"] for r in rows(client, url)} == {daily, occupied, isw}  # no preference yet
    prefer(seeded, daily, over=occupied)
    assert {r["series"] for r in rows(client, url)} == {daily, isw}  # the occupied layer yields
    assert {r["series"] for r in rows(client, f"{url}&source=deepstatemap")} == {daily}
    assert {r["series"] for r in rows(client, f"{url}&series={occupied}")} == {occupied}
    assert {r["series"] for r in rows(client, f"{url}&series={occupied},{isw}")} == {occupied, isw}
    assert {r["series"] for r in rows(client, f"{url}&series={daily},{occupied},{SYRSKYI_EXAMPLE}")} == {
        daily, occupied, SYRSKYI_EXAMPLE}
    [feature] = client.get(f"/control?date=2024-09-02&series={occupied}").json()["features"]
    assert feature["properties"]["series"] == occupied and feature["properties"]["layer"] == "occupied"
    assert feature["properties"]["area_km2"] == pytest.approx(
        rows(client, f"{url}&series={occupied}")[0]["area_km2"], abs=0.01)
    [total] = client.get(f"/stats/changes?from=2024-08-20&to=2024-09-02&series={occupied}").json()["totals"]
    assert total["series"] == occupied
    # Preferred only while the series it yields to exists.
    prefer(seeded, "deepstatemap/RU/assessed/no-such-layer", over=occupied)
    assert {r["series"] for r in rows(client, url)} == {daily, occupied, isw}


@pytest.mark.parametrize("path", [
    "/control?date=2024-08-20", "/stats/area?date=2024-08-20", "/stats/area/series?start=2024-08-01&end=2024-08-31",
    "/stats/changes?from=2024-08-01&to=2024-08-31", "/stats/depth?date=2024-08-20&side=UA",
])
def test_unknown_series_or_source_is_a_400_listing_the_accepted_values(client: TestClient, path: str) -> None:
    body = problem(client.get(f"{path}&series=deepstatemap/UA/assessed/nowhere"), 400, "series")
    assert "deepstatemap/UA/assessed/nowhere" in body["detail"]
    assert all(key in body["detail"] for key in EXAMPLE_SERIES)  # the keys there are
    body = problem(client.get(f"{path}&source=atlantis"), 400, "source")
    assert "atlantis" in body["detail"]
    assert "deepstatemap (DeepStateMap)" in body["detail"] and "example" in body["detail"]
    near = problem(client.get(f"{path}&source=DeepStateMaps"), 400, "source")
    assert "deepstatemap" in near["detail"]  # a near miss names the source meant, never silently another


@pytest.mark.parametrize("given", ["deepstatemap", "DeepStateMap", "DeepState Map", "deep-state-map", "DEEPSTATEMAP"])
def test_a_source_is_found_by_slug_or_name(seeded: Connection, client: TestClient, given: str) -> None:
    add_real_area(seeded)
    found = client.get("/stats/area", params={"date": "2024-08-30", "source": given})
    assert found.status_code == 200, found.text
    assert [r["series"] for r in found.json()["rows"]] == [REAL_SERIES]
    isw = client.get("/stats/area", params={"date": "2024-08-30",
                                            "source": "Institute for the Study of War (ISW) / Critical Threats"})
    assert isw.status_code == 200 and isw.json()["rows"] == []  # ISW exists, and has nothing here


@pytest.mark.parametrize(("day", "daily_stale", "fortnightly_stale"), [
    ("2024-09-13", False, False),  # 3 days after the daily series' last observation
    ("2024-09-17", False, False),  # 7 days: the least threshold, not yet stale
    ("2024-09-18", True, False),   # 8 days: stale for a daily series, not for a fortnightly one
    ("2024-10-10", True, False),   # 30 and 28 days: twice the fortnightly median gap, not beyond it
    ("2024-10-11", True, True),    # 31 and 29 days
])
def test_stale_means_older_than_twice_the_median_gap_and_a_week(seeded: Connection, client: TestClient, day: str,
                                                               daily_stale: bool, fortnightly_stale: bool) -> None:
    daily = add_observations(seeded, "deepstatemap", "RU", "assessed", None, every(date(2024, 9, 1), 10))
    fortnightly = add_observations(seeded, "isw", "RU", "assessed", "kursk-ru-advances",
                                   every(date(2024, 8, 1), 4, step_days=14), coords=SQUARE)
    expected = {daily: daily_stale, fortnightly: fortnightly_stale}
    features = client.get(f"/control?date={day}").json()["features"]
    assert {f["properties"]["series"]: f["properties"]["stale"] for f in features} == expected
    ages = {f["properties"]["series"]: f["properties"]["age_days"] for f in features}
    assert ages[daily] == (date.fromisoformat(day) - date(2024, 9, 10)).days
    assert ages[fortnightly] == (date.fromisoformat(day) - date(2024, 9, 12)).days
    assert {r["series"]: r["stale"] for r in rows(client, f"/stats/area?date={day}")} == expected
    assert {r["series"]: r["stale"] for r in rows(client, f"/stats/area/series?start={day}&end={day}")} == expected


def test_titles_are_made_from_source_side_status_and_layer_when_none_is_given(seeded: Connection,
                                                                              client: TestClient) -> None:
    add_observations(seeded, "isw", "RU", "assessed", "kursk-ru-advances", [date(2024, 9, 1)])
    add_observations(seeded, "deepstatemap", None, "unknown", "grey", [date(2024, 9, 1)])
    add_observations(seeded, "deepstatemap", "RU", "assessed", None, [date(2024, 9, 1)])
    titles = {r["series"]: r["title"] for r in rows(client, "/stats/area?date=2024-09-01")}
    assert titles == {
        "isw/RU/assessed/kursk-ru-advances":
            "Institute for the Study of War (ISW) / Critical Threats — ground held by Russia, assessed "
            "(kursk-ru-advances)",
        "deepstatemap/-/unknown/grey": "DeepStateMap — ground of unknown status (grey)",
        "deepstatemap/RU/assessed/-": "DeepStateMap — ground held by Russia, assessed",
    }
    features = client.get("/control?date=2024-09-01").json()["features"]
    assert {f["properties"]["series"]: f["properties"]["series_title"] for f in features} == titles
    # A title given (by a profile, the seed or an editor) replaces the made one.
    seeded.execute(text("UPDATE series SET title = 'ISW: Russian advances' "
                        "WHERE key = 'isw/RU/assessed/kursk-ru-advances'"))
    assert rows(client, "/stats/area?date=2024-09-01&source=isw")[0]["title"] == "ISW: Russian advances"
