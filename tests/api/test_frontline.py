"""The front line of a series (issue 15): the held ground's outline less the international border, checked with
Shapely and pyproj on a synthetic border and held ground, far from the seed's real border."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import LineString, Polygon, box, shape
from sqlalchemy import Connection, Engine, text

from app.settings import Settings
from tests.helpers import add_control_area, client_on

GEOD = Geod(ellps="WGS84")
DAY = "2024-09-01"
SERIES = "isw/UA/assessed/test-front"
# A straight border along latitude 50 from 40.0° to 40.6° E; the held ground a box north of it, its south edge
# on the border: the front is its west, north and east edges.
BORDER = LineString([(40.0, 50.0), (40.6, 50.0)])
HELD = Polygon([(40.1, 50.0), (40.4, 50.0), (40.4, 50.1), (40.1, 50.1)])


def km(line: LineString) -> float:
    return float(GEOD.geometry_length(line)) / 1000


@pytest.fixture
def drawn(seeded: Connection) -> Connection:
    seeded.execute(text(
        "INSERT INTO lines (key, name, kind, geom, source_id, content_hash) VALUES ('test-border', 'Test border', "
        "'international_border', ST_Multi(ST_GeomFromText(:wkt, 4326)), "
        "(SELECT id FROM sources WHERE slug = 'frontline-editors'), 'test')"), {"wkt": BORDER.wkt})
    add_control_area(seeded, f"{SERIES}/{DAY}", layer="test-front", geometry=HELD)
    return seeded


def test_the_front_is_the_outline_less_the_border(client: TestClient, drawn: Connection) -> None:
    response = client.get("/frontline", params={"date": DAY, "series": SERIES})
    assert response.status_code == 200, response.text
    [feature] = response.json()["features"]
    line = shape(feature["geometry"])
    assert line.geom_type == "MultiLineString"
    expected = LineString([(40.1, 50.0), (40.1, 50.1), (40.4, 50.1), (40.4, 50.0)])
    # The south edge runs along the border and is left out; the short ends that join the front to the border
    # (inside the 500 m tolerance) are the front's own and kept.
    assert feature["properties"]["length_km"] == pytest.approx(km(expected), rel=0.005)
    assert feature["properties"]["outline_km"] == pytest.approx(km(LineString(HELD.exterior.coords)), rel=1e-3)
    # The line lies on the held ground's outline, and shares under 5 % of its length with the border:
    assert line.difference(HELD.exterior.buffer(1e-7)).length == pytest.approx(0.0, abs=1e-9)
    assert line.intersection(BORDER.buffer(1e-4)).length < 0.05 * line.length
    assert feature["properties"]["observed_on"] == DAY and feature["properties"]["series"] == SERIES


def test_it_is_taken_as_of_the_latest_observation_and_says_so(client: TestClient, drawn: Connection) -> None:
    body = client.get("/frontline", params={"date": "2024-09-10", "series": SERIES, "f": "json"}).json()
    assert body["observed_on"] == DAY and body["date"] == "2024-09-10" and body["length_km"] > 30
    before = client.get("/frontline", params={"date": "2024-08-01", "series": SERIES})
    assert before.status_code == 404


# A source's own drawing of the border: the held ground's south edge wanders 0.2–1.2 km north of our border
# (a sine over the box's width), as DeepStateMap's outline of the Kursk–Sumy border wanders off ours.
WANDER = "isw/UA/assessed/test-wander"
KM_PER_DEGREE_LAT = 111.2


def wandering_ground() -> Polygon:
    """The box of HELD, its south edge 0.2–1.2 km north of the border, 0.2 km at both corners."""
    xs = [40.1 + 0.3 * i / 60 for i in range(61)]
    south = [(x, 50.0 + (0.2 + 1.0 * abs(math.sin(6 * math.pi * (x - 40.1) / 0.3))) / KM_PER_DEGREE_LAT) for x in xs]
    return Polygon([*south, (40.4, 50.1), (40.1, 50.1)])


def test_a_sources_drawing_of_the_border_is_not_front(client: TestClient, drawn: Connection, settings: Settings,
                                                      engine: Engine) -> None:
    """Pieces of outline that never get farther than FRONTLINE_BORDER_DRAWING_M (1.5 km) from the border are the
    source's border, not front: only the west, north and east edges remain, joined to the border. Without the
    rule (0 m), the stretches of the wavy edge more than 500 m from the border would be counted as front."""
    ground = wandering_ground()
    add_control_area(drawn, f"{WANDER}/{DAY}", layer="test-wander", geometry=ground)
    response = client.get("/frontline", params={"date": DAY, "series": WANDER})
    assert response.status_code == 200, response.text
    [feature] = response.json()["features"]
    line = shape(feature["geometry"])
    expected = LineString([(40.1, 50.0), (40.1, 50.1), (40.4, 50.1), (40.4, 50.0)])
    assert feature["properties"]["length_km"] == pytest.approx(km(expected), rel=0.005)
    assert feature["properties"]["border_drawing_m"] == 1500
    wavy_band = box(40.105, 50.0, 40.395, 50.0 + 1.3 / KM_PER_DEGREE_LAT)  # the south edge, less its corners
    assert line.intersection(wavy_band).length == 0
    with client_on(drawn, settings, engine, border_drawing_m=0) as off:
        [without] = off.get("/frontline", params={"date": DAY, "series": WANDER}).json()["features"]
    kept = shape(without["geometry"]).intersection(wavy_band)
    assert 20 < km(kept) < 25.2  # the wavy edge is 25.2 km long; most of it lies more than 500 m from the border
    assert without["properties"]["length_km"] == pytest.approx(feature["properties"]["length_km"] + km(kept),
                                                               rel=0.02)


def test_an_unknown_series_is_a_400(client: TestClient) -> None:
    response = client.get("/frontline", params={"date": DAY, "series": "isw/UA/assessed/nothing"})
    assert response.status_code == 400 and response.json()["parameter"] == "series"


def test_a_front_moved_10_km_in_10_days_advances_1_km_a_day(client: TestClient, seeded: Connection) -> None:
    """A border on three sides (west, south, east) leaves the north edge as the only front; moving it 10 km
    north in 10 days is an advance of 1 km a day, within 2 % (the issue's check)."""
    u_border = LineString([(40.1, 50.5), (40.1, 50.0), (40.4, 50.0), (40.4, 50.5)])
    seeded.execute(text(
        "INSERT INTO lines (key, name, kind, geom, source_id, content_hash) VALUES ('test-u-border', 'U', "
        "'international_border', ST_Multi(ST_GeomFromText(:wkt, 4326)), "
        "(SELECT id FROM sources WHERE slug = 'frontline-editors'), 'test-u')"), {"wkt": u_border.wkt})
    north = 50.1 + 10 / 111.25  # 10 km north at latitude 50 (a degree of latitude is 111.25 km there)
    for day, top in (("2024-09-01", 50.1), ("2024-09-11", north)):
        box = Polygon([(40.1, 50.0), (40.4, 50.0), (40.4, top), (40.1, top)])
        add_control_area(seeded, f"{SERIES}/{day}", layer="test-front", day=day, geometry=box)
    body = client.get("/stats/advance", params={"from": "2024-09-01", "to": "2024-09-11", "series": SERIES}).json()
    moved = GEOD.inv(40.25, 50.1, 40.25, north)[2] / 1000
    assert moved == pytest.approx(10, rel=0.01)
    assert body["days"] == 10 and body["lost_km2"] == 0.0
    assert body["km_per_day"] == pytest.approx(1.0, rel=0.02)
    assert body["m_per_day"] == pytest.approx(1000 * body["km_per_day"], abs=0.1)
    back = client.get("/stats/advance", params={"from": "2024-09-11", "to": "2024-09-21", "series": SERIES}).json()
    assert back["days"] == 0 and back["km_per_day"] is None  # no newer observation: no speed to give


def test_the_reach_along_an_axis_moved_10_km(client: TestClient, seeded: Connection) -> None:
    """An axis from inside the held box due north: its reach grows by the 10 km the north edge moved."""
    north = 50.1 + 10 / 111.25
    for day, top in (("2024-09-01", 50.1), ("2024-09-11", north)):
        box = Polygon([(40.1, 50.0), (40.4, 50.0), (40.4, top), (40.1, top)])
        add_control_area(seeded, f"{SERIES}/{day}", layer="test-front", day=day, geometry=box)
    params = {"from": "2024-09-01", "to": "2024-09-11", "series": SERIES, "axis": "40.25,50.05;40.25,50.5"}
    axis = client.get("/stats/advance", params=params).json()["axis"]
    assert axis["reach_km"][0] == pytest.approx(GEOD.inv(40.25, 50.05, 40.25, 50.1)[2] / 1000, rel=1e-3)
    assert axis["moved_km"] == pytest.approx(10, rel=0.02)
    assert axis["km_per_day"] == pytest.approx(1.0, rel=0.02)
    assert axis["length_km"] == pytest.approx(GEOD.inv(40.25, 50.05, 40.25, 50.5)[2] / 1000, abs=1e-3)
    away = client.get("/stats/advance", params={**params, "axis": "41,51;41.5,51"}).json()["axis"]
    assert away["reach_km"] == [None, None] and away["moved_km"] is None  # the axis misses the ground


@pytest.mark.parametrize("axis", ["40,50", "40,50;40,50", "a,b;c,d", "40,50;200,50", "40,50;41,51;42,52"])
def test_a_bad_axis_is_a_400(client: TestClient, axis: str) -> None:
    response = client.get("/stats/advance", params={"from": "2024-09-01", "to": "2024-09-11", "series": SERIES,
                                                    "axis": axis})
    assert response.status_code == 400 and response.json()["parameter"] == "axis", response.text
