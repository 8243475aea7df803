"""Research endpoints: as-of control, geodesic areas, series with reported figures, changes, depth."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Point, Polygon, box, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from app.services.importer import ImportOptions, import_file
from tests.helpers import (
    CASE,
    EXAMPLE_SERIES,
    GEOD,
    SQUARE,
    SUDZHA,
    SYRSKYI_EXAMPLE,
    add_control_area,
    add_observations,
    around,
    case_ground,
    correct_syrskyi_example,
    every,
    km2,
    km_from_line,
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
    correct_syrskyi_example(seeded)  # a correction of the 2024-08-20 claim, recorded a day later
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


# -- cases: figures cut to the ground a question is about ----------------------------------------------------

# An example series beside the seed's that crosses the case's edge: Kursk oblast, Belgorod oblast, and Sumy oblast
# within and beyond the 30 km band (the seed's examples all lie inside the case). Observed twice, so it changes.
STRADDLE = "example/RU/assessed/test-straddle"
STRADDLE_SHAPES = {date(2024, 9, 1): box(35.0, 50.55, 36.2, 51.1), date(2024, 10, 1): box(35.1, 50.45, 36.4, 51.2)}
OUTSIDE = "example/RU/assessed/test-belgorod"  # wholly in Belgorod oblast, outside the case
CASE_DAYS = ["2024-08-20", "2024-09-15", "2024-10-20", "2024-11-22"]


def add_case_examples(conn: Connection) -> None:
    for day, geometry in STRADDLE_SHAPES.items():
        add_observations(conn, "example", "RU", "assessed", "test-straddle", [day], geometry=geometry)
    add_observations(conn, "example", "RU", "assessed", "test-belgorod", [date(2024, 9, 1)],
                     geometry=around(36.59, 50.6, 0.1))


def whole(client: TestClient, day: str) -> dict[str, BaseGeometry]:
    """Each example series' latest observation on the day, uncut, by series."""
    features = client.get(f"/control?date={day}&source=example").json()["features"]
    return {f["properties"]["series"]: shape(f["geometry"]) for f in features}


def test_control_with_a_case_cuts_each_area_to_its_ground(seeded: Connection, client: TestClient) -> None:
    add_case_examples(seeded)
    ground = case_ground(client)
    tolerance = ground.buffer(1e-4)  # the outlines come with 5 decimals
    for day in CASE_DAYS:
        uncut = whole(client, day)
        body = client.get(f"/control?date={day}&source=example&case={CASE}").json()
        assert body["case"] == CASE and body["numberReturned"] == len(body["features"])
        cut = {f["properties"]["series"]: f for f in body["features"]}
        assert set(cut) == set(uncut) - {OUTSIDE}, day  # an area wholly outside the ground is left out
        for key, found in cut.items():
            geometry = shape(found["geometry"])
            assert tolerance.covers(geometry), (day, key)
            expected = km2(uncut[key].intersection(ground))
            assert found["properties"]["area_km2"] == pytest.approx(expected, rel=0.01), (day, key)
            assert km2(geometry) == pytest.approx(expected, rel=0.01), (day, key)
    # The straddling area loses much of itself, measured on the part inside.
    [straddle] = [f for f in client.get(f"/control?date=2024-10-01&case={CASE}&series={STRADDLE}").json()["features"]]
    full = km2(STRADDLE_SHAPES[date(2024, 10, 1)])
    assert 0.2 * full < straddle["properties"]["area_km2"] < 0.8 * full


def test_area_and_series_with_a_case_equal_the_intersections(seeded: Connection, client: TestClient) -> None:
    add_case_examples(seeded)
    ground = case_ground(client)

    def expected(day: str) -> dict[str, float]:
        return {key: km2(geometry.intersection(ground)) for key, geometry in whole(client, day).items()}

    for day in CASE_DAYS:
        found = {r["series"]: r["area_km2"] for r in rows(client, f"/stats/area?date={day}&source=example&case={CASE}")}
        assert found == {key: pytest.approx(km2_, rel=0.01, abs=0.01) for key, km2_ in expected(day).items()}, day
    assert rows(client, f"/stats/area?date=2024-10-01&series={OUTSIDE}&case={CASE}")[0]["area_km2"] == 0
    body = client.get(f"/stats/area/series?start=2024-08-20&end=2024-11-22&step=month&source=example&case={CASE}"
                      ).json()
    assert body["case"] == CASE and body["region"] is None
    by_day: dict[str, dict[str, float]] = {}
    for row in body["rows"]:
        by_day.setdefault(row["day"], {})[row["series"]] = row["area_km2"]
    assert list(by_day) == ["2024-08-20", "2024-09-20", "2024-10-20", "2024-11-20"]
    for day, found in by_day.items():
        assert found == {key: pytest.approx(km2_, rel=0.01, abs=0.01) for key, km2_ in expected(day).items()}, day


def test_changes_with_a_case_are_those_of_the_parts_inside(seeded: Connection, client: TestClient) -> None:
    add_case_examples(seeded)
    ground = case_ground(client)
    before_day, after_day = "2024-09-15", "2024-11-22"
    before, after = whole(client, before_day), whole(client, after_day)
    body = client.get(f"/stats/changes?from={before_day}&to={after_day}&source=example&case={CASE}").json()
    assert body["case"] == CASE
    totals = {t["series"]: t for t in body["totals"]}
    assert set(totals) == set(before) | set(after)
    empty = Polygon()
    for key, total in totals.items():
        inside_before = before.get(key, empty).intersection(ground)
        inside_after = after.get(key, empty).intersection(ground)
        for field, geometry in (("before_km2", inside_before), ("after_km2", inside_after),
                                ("gained_km2", inside_after.difference(inside_before)),
                                ("lost_km2", inside_before.difference(inside_after))):
            assert total[field] == pytest.approx(km2(geometry), rel=0.01, abs=0.05), (key, field)
    assert totals[STRADDLE]["gained_km2"] > 100 and totals[OUTSIDE]["before_km2"] == pytest.approx(0, abs=1e-6)
    tolerance = ground.buffer(1e-4)
    assert body["features"] and all(tolerance.covers(shape(f["geometry"])) for f in body["features"])
    uncut = client.get(f"/stats/changes?from={before_day}&to={after_day}&series={STRADDLE}").json()["totals"]
    assert uncut[0]["gained_km2"] > totals[STRADDLE]["gained_km2"] * 1.2


def test_depth_with_a_case_is_measured_on_the_ground_inside(seeded: Connection, client: TestClient) -> None:
    add_case_examples(seeded)
    border = shape(client.get("/collections/lines/items/kursk-sumy-border").json()["geometry"])
    day = "2024-10-20"
    found = {r["series"]: r for r in rows(client, f"/stats/depth?date={day}&side=RU&source=example&case={CASE}")}
    uncut = {r["series"]: r for r in rows(client, f"/stats/depth?date={day}&side=RU&source=example")}
    assert set(found) == set(uncut) - {OUTSIDE} and STRADDLE in found
    cut = {f["properties"]["series"]: shape(f["geometry"]) for f in client.get(
        f"/control?date={day}&side=RU&source=example&case={CASE}").json()["features"]}
    for key, row in found.items():
        [at_point] = km_from_line(border, [(row["lon"], row["lat"])])
        assert row["depth_km"] == pytest.approx(at_point, rel=0.01), key
        assert cut[key].buffer(1e-4).covers(Point(row["lon"], row["lat"])), key
        # The farthest vertex of the part inside (outline densified every ~1 km), measured with pyproj.
        outline = [xy for part in getattr(cut[key], "geoms", [cut[key]]) for xy in
                   part.exterior.segmentize(0.01).coords]
        assert row["depth_km"] == pytest.approx(max(km_from_line(border, outline)), rel=0.01), key
    assert found[STRADDLE]["depth_km"] < uncut[STRADDLE]["depth_km"] - 5  # the uncut area reaches farther


CASE_URLS = ["/control?date=2024-08-20", "/stats/area?date=2024-08-20",
             "/stats/area/series?start=2024-08-01&end=2024-08-31", "/stats/changes?from=2024-08-01&to=2024-08-31",
             "/stats/depth?date=2024-08-20&side=UA", "/stats/settlements?from=2024-08-01&to=2024-08-31"]


@pytest.mark.parametrize("url", CASE_URLS)
def test_an_unknown_case_is_a_400_naming_the_cases(client: TestClient, url: str) -> None:
    body = problem(client.get(f"{url}&case=atlantis"), 400, "case")
    assert "atlantis" in body["detail"] and CASE in body["detail"]
    assert client.get(f"{url}&case={CASE}").status_code == 200


@pytest.mark.parametrize("url", [u for u in CASE_URLS if u.startswith(("/stats/area", "/stats/changes",
                                                                         "/stats/depth"))])
def test_a_region_and_a_case_together_are_a_400(client: TestClient, url: str) -> None:
    body = problem(client.get(f"{url}&case={CASE}&region=kursk-oblast"), 400, "case")
    assert "region" in body["detail"]


# -- /stats/settlements: the towns whose holder changed ------------------------------------------------------

SALIENT = "deepstatemap/UA/assessed/kursk-salient"
SETTLEMENT_COLUMNS = ["place", "name", "series", "title", "from_holder", "from_observed_on", "to_holder",
                      "to_observed_on", "changed_on", "by_default"]


def add_salient(conn: Connection, elsewhere: list[date], over_sudzha: list[date]) -> None:
    """DeepStateMap's UA-held ground: a square north of Sudzha (covering no town) on some days, a disc around
    Sudzha alone on others."""
    add_observations(conn, "deepstatemap", "UA", "assessed", "kursk-salient", elsewhere)
    add_observations(conn, "deepstatemap", "UA", "assessed", "kursk-salient", over_sudzha, geometry=around(*SUDZHA))


def changed(client: TestClient, query: str) -> list[dict]:  # type: ignore[type-arg]
    body = client.get(f"/stats/settlements?{query}")
    assert body.status_code == 200, body.text
    return [{k: r[k] for k in SETTLEMENT_COLUMNS} for r in body.json()["rows"]]


def test_settlements_name_a_town_taken_with_the_day_its_first_covering_observation(seeded: Connection,
                                                                                 client: TestClient) -> None:
    add_salient(seeded, [date(2024, 8, 10), date(2024, 8, 13)], [date(2024, 8, 16), date(2024, 8, 20),
                                                                  date(2024, 8, 27)])
    title = "DeepStateMap — ground held by Ukraine, assessed (kursk-salient)"
    taken = {"place": "sudzha", "name": "Sudzha", "series": SALIENT, "title": title, "from_holder": "RU",
             "to_holder": "UA", "to_observed_on": "2024-08-27", "changed_on": "2024-08-16", "by_default": True}
    # Before the series' first observation, Sudzha is Russia's by default (Kursk oblast is RU territory).
    assert changed(client, f"from=2024-08-01&to=2024-09-01&case={CASE}") == [{**taken, "from_observed_on": None}]
    # After an observation that does not cover it: still Russia's by default, as that observation says.
    assert changed(client, f"from=2024-08-14&to=2024-09-01&case={CASE}") == [
        {**taken, "from_observed_on": "2024-08-13"}]
    assert changed(client, "from=2024-08-14&to=2024-08-16") == [
        {**taken, "from_observed_on": "2024-08-13", "to_observed_on": "2024-08-16"}]  # case optional
    # No change between two days on which the series covers it, nor between two on which it does not.
    assert changed(client, f"from=2024-08-17&to=2024-09-01&case={CASE}") == []
    assert changed(client, f"from=2024-08-10&to=2024-08-15&case={CASE}") == []
    table = list(csv.DictReader(io.StringIO(client.get(f"/stats/settlements?from=2024-08-01&to=2024-09-01"
                                                       f"&case={CASE}&f=csv").text)))
    assert [(r["place"], r["series"], r["from_holder"], r["to_holder"], r["changed_on"]) for r in table] == [
        ("sudzha", SALIENT, "RU", "UA", "2024-08-16")]
    assert list(table[0]) == SETTLEMENT_COLUMNS


def test_settlements_name_a_town_lost_and_leave_out_the_examples(seeded: Connection, client: TestClient) -> None:
    add_salient(seeded, [date(2024, 8, 27), date(2024, 9, 3)], [date(2024, 8, 16), date(2024, 8, 20)])
    assert changed(client, f"from=2024-08-18&to=2024-09-10&case={CASE}") == [
        {"place": "sudzha", "name": "Sudzha", "series": SALIENT,
         "title": "DeepStateMap — ground held by Ukraine, assessed (kursk-salient)", "from_holder": "UA",
         "from_observed_on": "2024-08-16", "to_holder": "RU", "to_observed_on": "2024-09-03",
         "changed_on": "2024-08-27", "by_default": True}]
    body = client.get(f"/stats/settlements?from=2024-08-18&to=2024-09-10&case={CASE}").json()
    assert (body["from"], body["to"], body["case"]) == ("2024-08-18", "2024-09-10", CASE)
    # The examples (Syrskyi's claim covers Sudzha from 2024-08-12) only when asked for.
    examples = changed(client, f"from=2024-08-01&to=2024-09-01&case={CASE}&source=example")
    assert {(r["place"], r["series"], r["to_holder"], r["changed_on"]) for r in examples if r["place"] == "sudzha"
            } == {("sudzha", SYRSKYI_EXAMPLE, "UA", "2024-08-12")}


@pytest.mark.parametrize(("query", "parameter"), [
    ("from=2024-08-01&to=2024-09-01&case=atlantis", "case"),
    ("from=2024-09-01&to=2024-08-01", "from"),
    ("from=2024-08-01", "to"),
    ("from=2024-08-01&to=2024-09-01&region=kursk-oblast", "region"),
    ("from=2024-08-01&to=2024-09-01&f=xlsx", "f"),
])
def test_bad_settlement_requests_are_400_problems(client: TestClient, query: str, parameter: str) -> None:
    problem(client.get(f"/stats/settlements?{query}"), 400, parameter)


def test_depth_over_time_is_the_depth_of_each_day(seeded: Connection, client: TestClient) -> None:
    """/stats/depth/series: per step day, the same rows as /stats/depth on that day; measured on observation
    days and carried between them (and with max_age, on every day: the answer then depends on the day)."""
    for day, top in (("2024-09-01", 51.25), ("2024-09-05", 51.35)):
        box = Polygon([(35.2, 51.17), (35.35, 51.17), (35.35, top), (35.2, top)])
        add_control_area(seeded, f"isw/UA/assessed/test-depth/{day}", layer="test-depth", day=day, geometry=box)
    key = "isw/UA/assessed/test-depth"
    for extra in ("", "&max_age=2"):
        series = rows(client, f"/stats/depth/series?start=2024-08-31&end=2024-09-08&series={key}&side=UA{extra}")
        days = [r["day"] for r in series]
        expected = [f"2024-09-{d:02d}" for d in range(1, 9) if not extra or d in (1, 2, 3, 5, 6, 7)]
        assert days == expected
        for row in series:
            [single] = rows(client, f"/stats/depth?date={row['day']}&series={key}&side=UA{extra}")
            assert {k: v for k, v in row.items() if k != "day"} == single
    weekly = rows(client, f"/stats/depth/series?start=2024-09-01&end=2024-09-15&step=week&series={key}&side=UA")
    assert [(r["day"], r["observed_on"]) for r in weekly] == [("2024-09-01", "2024-09-01"),
                                                               ("2024-09-08", "2024-09-05"),
                                                               ("2024-09-15", "2024-09-05")]
    assert weekly[1]["depth_km"] > weekly[0]["depth_km"] + 5  # the box grew 11 km north; the border runs NE
    missing = client.get(f"/stats/depth/series?start=2024-09-01&end=2024-09-15&series={key}")
    assert missing.status_code == 400 and missing.json()["parameter"] == "side"


@pytest.mark.parametrize("url", ["/stats/area?date=2024-08-20", "/stats/area/series?start=2024-08-01&end=2024-08-31",
                                 "/stats/depth?date=2024-08-27&side=UA", "/stats/changes?from=2024-08-01&to=2024-08-31",
                                 "/stats/depth/series?start=2024-08-01&end=2024-08-31&side=UA",
                                 "/stats/settlements?from=2024-08-01&to=2024-08-31"])
def test_every_figure_says_the_transaction_time_it_was_asked_at(client: TestClient, url: str) -> None:
    assert client.get(url).json()["known_at"] is None  # as recorded now
    pinned = client.get(f"{url}&known_at=2025-01-01T00:00:00Z").json()
    assert pinned["known_at"] == "2025-01-01T00:00:00+00:00"
