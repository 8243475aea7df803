"""OGC API – Features Part 3: CQL2 filters (text and JSON), queryables and sortby, checked against Shapely and
against the same question asked through the plain parameters."""

from __future__ import annotations

import json
from typing import Any

import cql2
import jsonschema
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Polygon, shape
from sqlalchemy import Connection, text

from app.crs import EPSG_URI
from tests.helpers import add_control_area

# A box around Sudzha and Plekhovo (lon/lat).
AROUND = Polygon([(35.2, 51.05), (35.4, 51.05), (35.4, 51.25), (35.2, 51.25)])


def items(client: TestClient, collection: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/collections/{collection}/items", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()


def keys(body: dict[str, Any]) -> list[str]:
    return [f["properties"]["key"] for f in body["features"]]


def test_a_spatial_filter_agrees_with_shapely(client: TestClient) -> None:
    every = items(client, "places")["features"]
    expected = sorted(f["properties"]["key"] for f in every if AROUND.intersects(shape(f["geometry"])))
    assert "sudzha" in expected and "plekhovo" in expected and len(expected) < len(every)
    wkt = f"S_INTERSECTS(geometry, {AROUND.wkt})"
    assert sorted(keys(items(client, "places", filter=wkt))) == expected
    # The same filter as CQL2 JSON (cql2 translates), and inside out with S_WITHIN on the points:
    as_json = json.dumps(cql2.parse_text(wkt).to_json())
    assert sorted(keys(items(client, "places", filter=as_json, **{"filter-lang": "cql2-json"}))) == expected
    assert sorted(keys(items(client, "places", filter=f"S_WITHIN(geometry, {AROUND.wkt})"))) == expected


def test_a_filter_geometry_in_another_crs(client: TestClient) -> None:
    """The same box in UTM 36N (filter-crs) finds the same places as in CRS84, to within its curved edges."""
    from pyproj import Transformer
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32636", always_xy=True)
    corners = [to_utm.transform(x, y) for x, y in AROUND.exterior.coords]
    utm = Polygon(corners)
    found = items(client, "places", filter=f"S_INTERSECTS(geometry, {utm.wkt})",
                  **{"filter-crs": f"{EPSG_URI}32636"})
    assert {"sudzha", "plekhovo"} <= set(keys(found))


def test_plain_parameters_and_cql2_ask_the_same(client: TestClient) -> None:
    plain = items(client, "control-areas", source="example", status="claimed", datetime="2024-08-20/2024-09-30")
    asked = items(client, "control-areas", source="example",
                  filter="status = 'claimed' AND T_INTERSECTS(valid, INTERVAL('2024-08-20', '2024-09-30'))")
    assert keys(asked) == keys(plain) and plain["numberMatched"] > 0


@pytest.mark.parametrize(("cql", "check"), [
    ("observed_on = '2024-09-12'", lambda p: p["observed_on"] == "2024-09-12"),
    ("observed_on >= DATE('2024-09-12') AND side = 'RU'", lambda p: p["observed_on"] >= "2024-09-12"
     and p["side"] == "RU"),
    ("area_km2 BETWEEN 100 AND 500", lambda p: 100 <= p["area_km2"] <= 500),
    ("CASEI(layer) LIKE CASEI('SYR%')", lambda p: p["layer"].startswith("syr")),
    ("layer IN ('isw', 'syrskyi') AND NOT status = 'claimed'", lambda p: p["layer"] == "isw"),
    ("area_km2 * 2 > 1000", lambda p: p["area_km2"] > 500),
])
def test_comparisons_select_what_they_say(client: TestClient, cql: str, check: Any) -> None:
    every = items(client, "control-areas", source="example")["features"]
    found = items(client, "control-areas", source="example", filter=cql)["features"]
    assert found and [f["id"] for f in found] == [f["id"] for f in every if check(f["properties"])]


def test_sortby_orders_the_page_then_by_id(client: TestClient) -> None:
    areas = [f["properties"]["area_km2"] for f in items(client, "control-areas", source="example",
                                                         sortby="-area_km2")["features"]]
    assert len(areas) > 2 and areas == sorted(areas, reverse=True)
    names = [f["properties"]["name"] for f in items(client, "places", sortby="name", limit=50)["features"]]
    assert names == sorted(names, key=lambda n: n.encode()) or names == sorted(names)


def test_a_quoted_value_is_a_value(client: TestClient, seeded: Connection) -> None:
    """Values are bound parameters: SQL in a string literal is only a name nobody has."""
    found = items(client, "places", filter="name = 'x''; DROP TABLE places; --'")
    assert found["numberMatched"] == 0
    assert seeded.execute(text("SELECT count(*) FROM places")).scalar_one() > 0


@pytest.mark.parametrize(("params", "says"), [
    ({"filter": "name = "}, "line 1, column 8"),
    ({"filter": "nosuch = 1"}, "'nosuch' is not a queryable of places"),
    ({"filter": "S_INTERSECTS(name, POINT(1 2))"}, "'name' is not a geometry"),
    ({"filter": "T_MEETS(recorded_at, TIMESTAMP('2024-01-01T00:00:00Z'))"}, "'t_meets' is not supported"),
    ({"filter": "population > 'many'"}, "cannot evaluate"),
    ({"filter": "{not json", "filter-lang": "cql2-json"}, "not valid cql2-json"),
    ({"filter": json.dumps({"op": "between", "args": [{"property": "population"}, 1]}),
      "filter-lang": "cql2-json"}, "not valid cql2-json"),
    ({"filter": "name = 'x'", "filter-lang": "ecql"}, "filter-lang"),
    ({"filter": "name = 'x'", "filter-crs": "EPSG:1"}, "filter-crs"),
    ({"sortby": "-geometry"}, "sortby"),
])
def test_a_bad_filter_is_a_400_that_says_what_and_where(client: TestClient, params: dict[str, str],
                                                       says: str) -> None:
    response = client.get("/collections/places/items", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]


def test_a_syntax_error_carries_its_position(client: TestClient) -> None:
    body = client.get("/collections/places/items", params={"filter": "name == 'a'"}).json()
    assert (body["parameter"], body["line"], body["column"]) == ("filter", 1, 7)
    assert "expected" in body["detail"]


def test_queryables_are_a_json_schema_of_what_filters_may_name(client: TestClient) -> None:
    response = client.get("/collections/control-areas/queryables")
    assert response.status_code == 200 and response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    properties = schema["properties"]
    assert properties["observed_on"] == {"title": "observed_on", "type": "string", "format": "date"}
    assert properties["area_km2"]["type"] == "number" and properties["illustrative"]["type"] == "boolean"
    assert properties["status"]["enum"] == ["claimed", "assessed", "confirmed", "contested", "unknown"]
    assert {"geometry", "valid", "source", "series"} <= set(properties) and "attributes" not in properties
    links = client.get("/collections/control-areas").json()["links"]
    assert any(link["rel"].endswith("/queryables") for link in links)


def test_a_filter_sees_a_new_write(client: TestClient, seeded: Connection) -> None:
    """Filtered pages are cached like the rest and emptied by a write."""
    params = {"filter": "layer = 'cql-test'"}
    assert items(client, "control-areas", **params)["numberMatched"] == 0
    add_control_area(seeded, "isw/UA/assessed/cql-test/2024-09-01", layer="cql-test")
    assert items(client, "control-areas", **params)["numberMatched"] == 1


def test_queryables_are_parameters_too(client: TestClient) -> None:
    """Part 3's queryables-query-parameters: `?name=Sudzha` is `filter=name = 'Sudzha'`."""
    assert keys(items(client, "places", name="Sudzha")) == ["sudzha"]
    in_kursk = items(client, "places", region="kursk-oblast")
    assert in_kursk["numberMatched"] == items(client, "places", filter="region = 'kursk-oblast'")["numberMatched"] > 10
    both = items(client, "places", region="kursk-oblast", filter="CASEI(name) LIKE CASEI('s%')")
    assert keys(both) and all(f["properties"]["name"].lower().startswith("s") for f in both["features"])
    wrong = client.get("/collections/places/items", params={"population": "many"})
    assert wrong.status_code == 400 and "population = 'many'" in wrong.json()["detail"]
    unknown = client.get("/collections/places/items", params={"nosuch": "1"})
    assert unknown.status_code == 400 and unknown.json()["parameter"] == "nosuch"
