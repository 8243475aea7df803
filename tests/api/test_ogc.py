"""OGC API – Features: documents, paging, datetime semantics, RFC 7946 output, errors, ETags."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Connection, text

from tests.helpers import EXAMPLE_SERIES, add_control_area, problem

COLLECTION_IDS = ["control-areas", "places", "lines", "regions", "events"]


def test_landing_page_links_what_ogc_clients_need(client: TestClient) -> None:
    links = {link["rel"]: link for link in client.get("/").json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["href"].endswith("/api")


def test_conformance_declares_core_and_geojson(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes


def test_api_is_openapi_30_without_31_constructs(client: TestClient) -> None:
    response = client.get("/api")
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json;version=3.0")
    document = response.json()
    assert document["openapi"] == "3.0.3"
    assert "/collections/{collection_id}/items" in document["paths"]
    assert '{"type": "null"}' not in json.dumps(document)
    limit = next(p for p in document["paths"]["/collections/{collection_id}/items"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10000


def test_collections_declare_spatial_and_temporal_extent(seeded: Connection, client: TestClient) -> None:
    collections = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    assert list(collections) == COLLECTION_IDS
    # The seed's control areas are all examples: they are no source's data, so they make no extent.
    areas = collections["control-areas"]["extent"]
    assert areas["spatial"]["bbox"] == [[-180, -90, 180, 90]]
    assert areas["temporal"]["interval"] == [[None, None]]
    assert collections["events"]["extent"]["temporal"]["interval"] == [["2024-08-06", "2024-11-22"]]
    assert "temporal" not in collections["regions"]["extent"]
    add_control_area(seeded, "extent-test", source="isw", valid="[2024-09-01,2024-09-05)")
    areas = client.get("/collections/control-areas").json()["extent"]
    assert areas["spatial"]["bbox"][0] == pytest.approx([35.2, 51.2, 35.35, 51.29])  # SQUARE, not the examples
    assert areas["temporal"]["interval"] == [["2024-09-01", "2024-09-04"]]


def test_items_are_rfc7946_geojson_with_ccw_exterior_rings(client: TestClient) -> None:
    response = client.get("/collections/control-areas/items?source=example")
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == len(body["features"]) == 9
    for feature in body["features"]:
        geometry = shape(feature["geometry"])
        assert geometry.is_valid
        for polygon in geometry.geoms:
            assert polygon.exterior.is_ccw
            assert all(not ring.is_ccw for ring in polygon.interiors)
        x, y = feature["geometry"]["coordinates"][0][0][0]
        assert 34 < x < 36 and 50 < y < 52  # lon, lat order
        assert isinstance(feature["id"], int) and feature["properties"]["source"]


def current_places(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM places WHERE superseded_at IS NULL")).scalar_one())


def test_paging_walks_every_feature_exactly_once(client: TestClient, seeded: Connection) -> None:
    total = current_places(seeded)  # the editors' places and the GeoNames towns
    url: str | None = "/collections/places/items?limit=40"
    seen: list[int] = []
    pages = 0
    while url:
        body = client.get(url).json()
        assert body["numberMatched"] == total
        seen.extend(f["id"] for f in body["features"])
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert ("prev" in links) == (pages > 0)
        url = links.get("next")
        pages += 1
    assert pages == -(-total // 40) and len(seen) == total and len(set(seen)) == total


def test_offset_past_the_end_returns_no_features_but_the_count(client: TestClient, seeded: Connection) -> None:
    body = client.get("/collections/places/items?offset=5000").json()
    assert body["features"] == [] and body["numberMatched"] == current_places(seeded) and body["numberReturned"] == 0


@pytest.mark.parametrize(("datetime", "matches"), [
    ("2024-09-01", True),                      # first valid day
    ("2024-09-04", True),                      # last valid day (upper bound 09-05 is exclusive)
    ("2024-09-05", False),
    ("2024-08-31", False),
    ("2024-09-04T23:59:59Z", True),            # an instant: its day
    ("2024-09-05T00:00:00Z", False),
    ("2024-08-20/2024-09-01", True),           # closed interval touching the first day
    ("2024-09-05/2024-09-30", False),
    ("../2024-09-01", True),                   # open start
    ("../2024-08-31", False),
    ("2024-09-04/..", True),                   # open end
    ("2024-09-05/", False),                    # empty end is open too
])
def test_datetime_matches_the_validity_range(seeded: Connection, client: TestClient, datetime: str,
                                            matches: bool) -> None:
    row_id = add_control_area(seeded, "datetime-test", valid="[2024-09-01,2024-09-05)")
    ids = [f["id"] for f in client.get("/collections/control-areas/items",
                                       params={"datetime": datetime, "limit": 1000}).json()["features"]]
    assert (row_id in ids) is matches


def test_property_filters_and_bbox(client: TestClient) -> None:
    claimed = client.get("/collections/control-areas/items?source=example&status=claimed").json()["features"]
    assert {f["properties"]["status"] for f in claimed} == {"claimed"} and len(claimed) == 5
    two = client.get("/collections/control-areas/items?source=example&layer=syrskyi,deepstatemap").json()
    assert {f["properties"]["layer"] for f in two["features"]} == {"syrskyi", "deepstatemap"}
    assert two["numberMatched"] == 5  # Syrskyi's three, DeepStateMap's held and unknown
    near_sumy = client.get("/collections/places/items?bbox=34.7,50.8,34.9,51.0").json()["features"]
    assert [f["properties"]["key"] for f in near_sumy] == ["sumy"]


def test_item_by_id_and_by_key_and_superseded_versions_stay_reachable(seeded: Connection,
                                                                      client: TestClient) -> None:
    sudzha = client.get("/collections/places/items/sudzha").json()
    assert sudzha["geometry"]["coordinates"] == [35.271, 51.191]
    assert client.get(f"/collections/places/items/{sudzha['id']}").json()["properties"]["key"] == "sudzha"
    seeded.execute(text("UPDATE places SET superseded_at = now() WHERE id = :id"), {"id": sudzha["id"]})
    old = client.get(f"/collections/places/items/{sudzha['id']}").json()
    assert old["properties"]["superseded_at"] is not None
    problem(client.get("/collections/places/items/sudzha"), 404)


@pytest.mark.parametrize(("query", "parameter"), [
    ("bbox=1,2,3", "bbox"),
    ("bbox=a,b,c,d", "bbox"),
    ("bbox=0,0,200,10", "bbox"),
    ("datetime=yesterday", "datetime"),
    ("datetime=2024-09-10/2024-09-01", "datetime"),
    ("datetime=../..", "datetime"),
    ("limit=0", "limit"),
    ("limit=10001", "limit"),
    ("limit=ten", "limit"),
    ("offset=-1", "offset"),
    ("colour=red", "colour"),
    ("kind=town", "kind"),  # a filter of other collections, not of control areas
    ("f=xml", "f"),
])
def test_bad_parameters_are_400_problems_naming_the_parameter(client: TestClient, query: str,
                                                              parameter: str) -> None:
    problem(client.get(f"/collections/control-areas/items?{query}"), 400, parameter)


def test_unknown_collection_and_feature_are_404_problems(client: TestClient) -> None:
    problem(client.get("/collections/tanks/items"), 404)
    problem(client.get("/collections/places/items/atlantis"), 404)
    problem(client.get("/collections/places/items/99999999999999999999999"), 404)


def test_etag_gives_304_until_a_write_changes_the_data(seeded: Connection, client: TestClient) -> None:
    url = "/collections/control-areas/items?datetime=2024-08-20"
    first = client.get(url)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url).content == first.content  # served from the cache: byte for byte
    add_control_area(seeded, "etag-test", day="2024-08-20")
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json()["numberMatched"] == first.json()["numberMatched"] + 1


def test_cache_is_bounded_and_emptied_by_a_write(seeded: Connection, client: TestClient) -> None:
    cache = client.app.state.cache  # type: ignore[attr-defined]
    for day in range(1, 29):
        client.get(f"/collections/control-areas/items?datetime=2024-08-{day:02d}")
    assert 0 < cache.size <= cache.max_bytes
    add_control_area(seeded, "cache-test", day="2024-08-20")
    client.get("/collections/places/items?limit=5")
    assert cache.size < 20_000  # only the one response built since the write


def test_dates_in_properties_are_iso(client: TestClient) -> None:
    feature = client.get("/collections/control-areas/items?source=example&layer=syrskyi&limit=1").json()["features"][0]
    assert date.fromisoformat(feature["properties"]["observed_on"]) == date(2024, 8, 12)
    assert feature["properties"]["illustrative"] is True


def test_examples_are_items_only_when_their_source_is_asked_for(seeded: Connection, client: TestClient) -> None:
    url = "/collections/control-areas/items"
    body = client.get(url).json()
    assert body["features"] == [] and body["numberMatched"] == 0  # the seed alone: only examples
    add_control_area(seeded, "isw/RU/assessed/kursk-ru-advances/2024-09-01", source="isw", side="RU",
                     layer="kursk-ru-advances", day="2024-09-01")
    [real] = client.get(url).json()["features"]
    assert (real["properties"]["source"], real["properties"]["series"]) == ("isw", "isw/RU/assessed/kursk-ru-advances")
    assert client.get(f"{url}?source=isw").json()["numberMatched"] == 1
    examples = client.get(f"{url}?source=example&limit=100").json()
    assert examples["numberMatched"] == 9
    assert {f["properties"]["series"] for f in examples["features"]} == set(EXAMPLE_SERIES)
    assert all(f["properties"]["source"] == "example" and f["properties"]["illustrative"] is True
               and f["properties"]["attributes"]["illustrates"] == f["properties"]["layer"]
               for f in examples["features"])
    assert client.get(f"{url}?source=example,isw").json()["numberMatched"] == 10
    # datetime and bbox filters leave them out too.
    assert client.get(f"{url}?datetime=2024-08-20").json()["numberMatched"] == 0
    assert client.get(f"{url}?datetime=2024-08-20&source=example").json()["numberMatched"] == 1


def test_events_without_a_location_are_reachable_by_id_but_not_listed(client: TestClient, seeded: Connection) -> None:
    """The OGC feature schema has no null geometry, and GIS clients make a layer of the collection: a statement
    without a place is left out of the listing, still served (RFC 7946 allows a null geometry) by its id."""
    located = seeded.execute(text("SELECT count(*) FROM events WHERE superseded_at IS NULL AND geom IS NOT NULL"
                                  " AND source_id NOT IN (SELECT id FROM sources WHERE kind = 'example')")).scalar_one()
    listed = client.get("/collections/events/items").json()
    assert listed["numberMatched"] == located == len(listed["features"]) > 0
    assert all(f["geometry"] is not None for f in listed["features"])
    unlocated = client.get("/collections/events/items/deepstate-assessment-2024-11-22")
    assert unlocated.status_code == 200 and unlocated.json()["geometry"] is None


def test_item_pages_carry_no_stale_timestamp(client: TestClient) -> None:
    """A cached page is served again later: it says no timeStamp rather than when it was first built."""
    first, again = (client.get("/collections/places/items?limit=2") for _ in range(2))
    assert "timeStamp" not in first.json() and first.content == again.content
    assert again.headers["etag"] == first.headers["etag"]


def test_a_large_page_is_streamed_and_says_the_same(client: TestClient) -> None:
    """Above 1,000 features a GeoJSON page is sent batch by batch from a server-side cursor, not built whole:
    the same features, the same envelope, the same ETag rules; an error still comes before the body."""
    kept = client.get("/collections/places/items?limit=1000")
    streamed = client.get("/collections/places/items?limit=5000")
    assert "content-length" in kept.headers and "content-length" not in streamed.headers
    assert [f["id"] for f in streamed.json()["features"]] == [f["id"] for f in kept.json()["features"]]
    assert streamed.json()["numberMatched"] == kept.json()["numberMatched"] > 100
    assert client.get("/collections/places/items?limit=5000",
                      headers={"If-None-Match": streamed.headers["etag"]}).status_code == 304
    past = client.get("/collections/places/items?limit=5000&offset=100000").json()
    assert past["features"] == [] and past["numberMatched"] == kept.json()["numberMatched"]
    bad = client.get("/collections/places/items", params={"limit": 5000, "filter": "population > 'many'"})
    assert bad.status_code == 400 and "cannot evaluate" in bad.json()["detail"]


@pytest.mark.parametrize(("url", "parameter"), [("/collections/lines/items?kind=%00", "kind"),
                                                ("/maps/snapshot?date=2024-09-01&series=a%00b", "series"),
                                                ("/places/sud%00zha/control?date=2024-09-01", "path")])
def test_a_nul_character_is_a_400_naming_where(client: TestClient, url: str, parameter: str) -> None:
    """Found by the property tests: PostgreSQL refuses NUL in text, which was a 500."""
    response = client.get(url)
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter and "NUL" in response.json()["detail"]
    assert response.headers["x-content-type-options"] == "nosniff"
