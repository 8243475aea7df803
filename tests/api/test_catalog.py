"""The catalogue: who publishes (`/sources`), the claim series they publish (`/series`), by name, and the cases
(`/cases`): the ground a question is about, checked against the regions and the border with Shapely and pyproj."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from app.settings import Settings
from tests.helpers import (
    CASE,
    EXAMPLE_SERIES,
    GEOD,
    SYRSKYI_EXAMPLE,
    add_observations,
    bearer,
    case_ground,
    every,
    km2,
    km_from_line,
    prefer,
    problem,
)

SERIES_COLUMNS = ["id", "title", "short_title", "source", "source_name", "side", "status", "layer",
                  "first_observed", "last_observed", "observations", "median_gap_days", "preferred", "same_ground_as",
                  "notes"]
SOURCE_COLUMNS = ["slug", "name", "kind", "affiliation", "url", "terms", "attribution", "series", "first_observed",
                  "last_observed"]
DAILY = "deepstatemap/RU/assessed/-"
OCCUPIED = "deepstatemap/RU/assessed/occupied"


def series(client: TestClient, query: str = "") -> dict[str, dict]:  # type: ignore[type-arg]
    """The /series answer, by id."""
    response = client.get(f"/series{query}")
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()["series"]}


def sources(client: TestClient) -> dict[str, dict]:  # type: ignore[type-arg]
    """The /sources answer, by slug."""
    response = client.get("/sources")
    assert response.status_code == 200, response.text
    return {row["slug"]: row for row in response.json()["sources"]}


def add_same_ground_pair(conn: Connection) -> None:
    """DeepStateMap's daily snapshots (every day from 2024-09-01 to -10) and, over the same ground, its full
    publications' occupied layer (2024-09-01 and -05), which yields to them."""
    add_observations(conn, "deepstatemap", "RU", "assessed", None, every(date(2024, 9, 1), 10))
    add_observations(conn, "deepstatemap", "RU", "assessed", "occupied", [date(2024, 9, 1), date(2024, 9, 5)])
    prefer(conn, DAILY, over=OCCUPIED)


# -- /series ------------------------------------------------------------------------------------------------

def test_series_of_the_seed_are_examples_listed_only_with_source_example(client: TestClient) -> None:
    assert series(client) == {}  # the seed alone: only examples
    found = series(client, "?source=example")
    assert {key: row["title"] for key, row in found.items()} == EXAMPLE_SERIES
    assert {key: (row["first_observed"], row["last_observed"], row["observations"], row["median_gap_days"])
            for key, row in found.items()} == {
        "example/UA/claimed/syrskyi": ("2024-08-12", "2024-08-27", 3, 7.5),    # gaps of 8 and 7 days
        "example/RU/assessed/isw": ("2024-09-11", "2024-10-24", 2, 43.0),
        "example/RU/claimed/ru-mod-tass": ("2024-09-12", "2024-11-20", 2, 69.0),
        "example/UA/assessed/deepstatemap": ("2024-11-22", "2024-11-22", 1, None),  # once: no gap
        "example/-/unknown/deepstatemap": ("2024-11-22", "2024-11-22", 1, None),
    }
    syrskyi = found[SYRSKYI_EXAMPLE]
    assert (syrskyi["source"], syrskyi["side"], syrskyi["status"], syrskyi["layer"]) == (
        "example", "UA", "claimed", "syrskyi")  # the layer names the source whose figures it illustrates
    assert all(row["preferred"] is True and row["same_ground_as"] is None for row in found.values())
    assert list(found) == sorted(found)
    assert set(series(client, "?source=example&side=RU")) == {"example/RU/assessed/isw",
                                                               "example/RU/claimed/ru-mod-tass"}
    assert set(series(client, f"?series={SYRSKYI_EXAMPLE}")) == {SYRSKYI_EXAMPLE}


def test_series_csv_has_every_column(client: TestClient) -> None:
    response = client.get("/series?source=example&f=csv")
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.text))
    table = list(reader)
    assert reader.fieldnames == SERIES_COLUMNS
    assert {r["id"]: r["title"] for r in table} == EXAMPLE_SERIES
    assert {r["id"]: r["observations"] for r in table}[SYRSKYI_EXAMPLE] == "3"
    assert client.get("/series?f=csv").text.strip().split(",") == SERIES_COLUMNS  # a header and no examples


def test_series_says_which_is_preferred_over_the_same_ground(seeded: Connection, client: TestClient) -> None:
    add_same_ground_pair(seeded)
    found = series(client)
    assert set(found) == {DAILY, OCCUPIED}  # the catalogue lists both, preferred or not
    assert (found[DAILY]["preferred"], found[DAILY]["same_ground_as"]) == (True, None)
    assert (found[OCCUPIED]["preferred"], found[OCCUPIED]["same_ground_as"]) == (False, DAILY)
    assert (found[DAILY]["first_observed"], found[DAILY]["last_observed"], found[DAILY]["observations"],
            found[DAILY]["median_gap_days"]) == ("2024-09-01", "2024-09-10", 10, 1.0)
    assert (found[OCCUPIED]["observations"], found[OCCUPIED]["median_gap_days"]) == (2, 4.0)
    assert found[DAILY]["title"] == "DeepStateMap — ground held by Russia, assessed"
    assert found[OCCUPIED]["title"] == "DeepStateMap — ground held by Russia, assessed (occupied)"
    assert set(series(client, f"?series={OCCUPIED}")) == {OCCUPIED}
    assert set(series(client, "?source=DeepState Map")) == {DAILY, OCCUPIED}
    # The figures take the preferred one only, unless the other is asked for by key.
    day = client.get("/stats/area?date=2024-09-10").json()["rows"]
    assert [r["series"] for r in day] == [DAILY]
    asked = client.get(f"/stats/area?date=2024-09-10&series={OCCUPIED}").json()["rows"]
    assert [(r["series"], r["observed_on"]) for r in asked] == [(OCCUPIED, "2024-09-05")]


@pytest.mark.parametrize(("query", "parameter", "named"), [
    ("?series=example/UA/claimed/nowhere", "series", SYRSKYI_EXAMPLE),
    ("?source=atlantis", "source", "deepstatemap (DeepStateMap)"),
    ("?source=DeepStateMaps", "source", "deepstatemap"),
    ("?source=Examples", "source", "example"),
    ("?status=rumoured", "status", "claimed"),
    ("?date=2024-08-20", "date", None),
    ("?f=xlsx", "f", None),
])
def test_bad_series_requests_are_400_problems_naming_what_is_accepted(client: TestClient, query: str,
                                                                      parameter: str, named: str | None) -> None:
    body = problem(client.get(f"/series{query}"), 400, parameter)
    if named:
        assert named in body["detail"]


# -- /sources -----------------------------------------------------------------------------------------------

def test_sources_list_terms_attribution_and_what_each_published(client: TestClient, settings: Settings) -> None:
    found = sources(client)
    catalog = json.loads((settings.geodata_dir / "sources.json").read_text())["sources"]
    assert set(found) >= {s["slug"] for s in catalog}
    for expected in catalog:
        row = found[expected["slug"]]
        assert (row["name"], row["kind"], row["affiliation"], row["url"], row["terms"], row["attribution"]) == (
            expected["name"], expected["kind"], expected["side"], expected["url"], expected["terms"],
            expected["attribution"])
        assert row["terms"] and row["attribution"]  # every source says how its data may be used and credited
    assert (found["example"]["kind"], found["example"]["series"], found["example"]["first_observed"],
            found["example"]["last_observed"]) == ("example", 5, "2024-08-12", "2024-11-22")
    # The figures the examples illustrate stay their sources' own; the seed holds no map of theirs.
    assert all((found[slug]["series"], found[slug]["first_observed"]) == (0, None)
               for slug in ("syrskyi", "isw", "ru-mod-tass", "deepstatemap"))
    assert "GPL-3.0" in found["deepstatemap"]["terms"]
    assert found["deepstatemap"]["attribution"] == "DeepStateMap (deepstatemap.live)"
    assert list(found) == sorted(found)


def test_sources_count_series_and_observed_days(seeded: Connection, client: TestClient) -> None:
    add_same_ground_pair(seeded)
    add_observations(seeded, "isw", "RU", "assessed", "kursk-ru-advances", [date(2024, 8, 30)])
    found = sources(client)
    assert (found["deepstatemap"]["series"], found["deepstatemap"]["first_observed"],
            found["deepstatemap"]["last_observed"]) == (2, "2024-09-01", "2024-09-10")
    assert (found["isw"]["series"], found["isw"]["first_observed"], found["isw"]["last_observed"]) == (
        1, "2024-08-30", "2024-08-30")
    assert found["syrskyi"]["series"] == 0 and found["example"]["series"] == 5


def test_sources_csv_and_unknown_parameters(client: TestClient) -> None:
    response = client.get("/sources?f=csv")
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.text))
    table = {r["slug"]: r for r in reader}
    assert reader.fieldnames == SOURCE_COLUMNS
    assert table["example"]["series"] == "5" and table["example"]["kind"] == "example"
    problem(client.get("/sources?source=isw"), 400, "source")


# -- /cases -------------------------------------------------------------------------------------------------

def geometries(client: TestClient, collection: str) -> dict[str, BaseGeometry]:
    """A collection's current features by key, with Shapely."""
    features = client.get(f"/collections/{collection}/items?limit=1000").json()["features"]
    return {f["properties"]["key"]: shape(f["geometry"]) for f in features}


def test_cases_list_the_kursk_incursion_first_with_what_it_is(client: TestClient) -> None:
    body = client.get("/cases").json()
    assert body["default"] == CASE
    first = body["cases"][0]
    assert first["key"] == CASE
    assert "Kursk" in first["title"] and "Kursk oblast" in first["description"]
    assert "30 km" in first["description"] and "Sumy" in first["description"]
    assert (first["starts_on"], first["ends_on"]) == ("2024-08-06", None)
    assert first["territory"] == {"kursk-oblast": "RU", "ukraine": "UA"}
    assert 29_997 < first["area_km2"] < 29_997 + 262 * 30  # the oblast and a band along a 262 km border
    assert set(first["view"]) == {"lat", "lon", "zoom"} and first["view"]["zoom"] >= 8
    ground = case_ground(client)
    assert ground.covers(Point(first["view"]["lon"], first["view"]["lat"]))  # the maps open on the case
    places = geometries(client, "places")
    assert "sudzha" in first["key_places"] and set(first["key_places"]) <= set(places)
    assert all(ground.covers(places[key]) for key in first["key_places"])
    assert client.get("/cases").headers["content-type"] == "application/json"
    # What its maps show at first: DeepStateMap's salient and grey zone, ISW's advances, DeepStateMap's daily ground.
    assert first["featured"] == ["deepstatemap/UA/assessed/kursk-salient", "deepstatemap/-/unknown/unknown",
                                 "isw/RU/assessed/kursk-ru-advances", "deepstatemap/RU/assessed/-"]


def test_every_series_has_a_short_title_for_the_layer_list(seeded: Connection, client: TestClient) -> None:
    """A series' short title is its own (profile, seed, editor) or its title without the source's name, cut to 40
    characters; the full title stays in `title`."""
    made = add_observations(seeded, "isw", "RU", "assessed", "a-layer-with-a-rather-long-name", [date(2024, 9, 1)])
    found = series(client, "?source=example,isw")
    assert all(1 <= len(row["short_title"]) <= 40 for row in found.values())
    assert found[SYRSKYI_EXAMPLE]["short_title"] == "Syrskyi's claimed area (example)"  # the seed's own
    assert found[SYRSKYI_EXAMPLE]["source_name"] == "Example (illustrative shapes)"
    title = found[made]["title"]  # made from source, side, status and layer: too long for the list
    assert title.startswith("Institute for the Study of War (ISW) / Critical Threats — ") and len(title) > 40
    short = found[made]["short_title"]
    assert len(short) == 40 and short.endswith("…") and title.split(" — ", 1)[1].startswith(short[:-1])
    token = bearer(seeded, client.app.state.settings, "editor", "write")
    assert client.patch(f"/series/{made}", json={"short_title": "x" * 41}, headers=token).status_code == 422
    assert client.patch(f"/series/{made}", json={"short_title": "ISW advances"}, headers=token).status_code == 204
    assert series(client, "?source=isw")[made]["short_title"] == "ISW advances"
    assert series(client, "?source=isw")[made]["title"] == title


def test_cases_as_geojson_give_each_case_its_ground(client: TestClient) -> None:
    response = client.get("/cases?f=geojson")
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == len(body["features"]) >= 1
    listed = client.get("/cases").json()["cases"]
    assert [f["id"] for f in body["features"]] == [c["key"] for c in listed]
    [first] = [f for f in body["features"] if f["id"] == CASE]
    assert first["properties"]["area_km2"] == listed[0]["area_km2"]  # a number in both, as every km² we serve
    assert first["properties"] == listed[0]  # the same description as the JSON list
    assert first["geometry"]["type"] == "MultiPolygon" and shape(first["geometry"]).is_valid
    problem(client.get("/cases?f=csv"), 400, "f")
    problem(client.get("/cases?case=kursk-incursion"), 400, "case")


def test_the_case_ground_is_kursk_oblast_and_its_area_is_geodesic(client: TestClient) -> None:
    ground = case_ground(client)
    regions = geometries(client, "regions")
    kursk, ukraine = regions["kursk-oblast"], regions["ukraine"]
    assert ground.buffer(1e-4).covers(kursk)  # the whole oblast (the ground's outline has 5 decimals)
    assert km2(ground.intersection(kursk)) == pytest.approx(km2(kursk), rel=0.001)
    # Beyond the oblast, only Ukraine (of Belgorod and Bryansk oblasts, at most where Ukraine's coarse outline
    # overlaps theirs).
    beyond = ground.difference(kursk.buffer(1e-4))
    assert beyond.area > 0 and ukraine.buffer(1e-3).covers(beyond)
    places = geometries(client, "places")
    assert not ground.covers(places["belgorod"]) and ground.covers(places["sumy"])
    [listed] = [c for c in client.get("/cases").json()["cases"] if c["key"] == CASE]
    assert listed["area_km2"] == pytest.approx(km2(ground), rel=0.005)


def test_the_case_ground_holds_a_30_km_band_of_ukraine_along_the_kursk_sumy_border(client: TestClient) -> None:
    ground = case_ground(client)
    regions = geometries(client, "regions")
    kursk, inside_ukraine = regions["kursk-oblast"], regions["ukraine"].buffer(-0.02)  # away from its coarse edge
    border = geometries(client, "lines")["kursk-sumy-border"]
    vertices = list(getattr(border, "geoms", [border])[0].coords)
    chosen = vertices[:: max(1, len(vertices) // 24)]

    def away(km: float) -> list[tuple[float, float]]:
        """Points ``km`` south, south-west and west of the chosen border vertices that lie in Ukraine."""
        found = []
        for lon, lat in chosen:
            for azimuth in (180, 225, 270):
                x, y, _ = GEOD.fwd(lon, lat, azimuth, km * 1000)
                if inside_ukraine.covers(Point(x, y)) and not kursk.buffer(0.02).covers(Point(x, y)):
                    found.append((x, y))
        return found

    near = away(25)
    assert len(near) >= 10
    assert all(d <= 25.01 for d in km_from_line(border, near))
    assert [p for p in near if not ground.covers(Point(p))] == []
    # 40 km from a vertex may still be within 30 km of another stretch of the winding border: keep the points
    # that pyproj puts more than 32 km from all of it.
    candidates = away(40)
    far = [p for p, d in zip(candidates, km_from_line(border, candidates), strict=True) if d > 32]
    assert len(far) >= 5
    assert [p for p in far if ground.covers(Point(p))] == []
    # The band's outline in Ukraine is 30 km from the border (PostGIS buffers on the ellipsoid; pyproj measures).
    band = ground.difference(kursk.buffer(0.02))
    outline = [xy for part in getattr(band, "geoms", [band]) for xy in part.exterior.coords
               if inside_ukraine.covers(Point(xy))]
    assert max(km_from_line(border, outline)) == pytest.approx(30, abs=0.3)
