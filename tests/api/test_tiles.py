"""Vector tiles: decoded with mapbox-vector-tile and compared with the items inside the tile's bounds."""

from __future__ import annotations

import math
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from app.db.tiles import BUFFER, EXTENT

SUDZHA = (35.271, 51.191)
TILES = "/collections/{}/tiles/WebMercatorQuad"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The column and row of the WebMercatorQuad tile holding a point (the slippy-map formula)."""
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def bounds(z: int, x: int, y: int, margin: float = 0.0) -> tuple[float, float, float, float]:
    """A tile's lon/lat bounds, widened by ``margin`` tiles on each side."""
    n = 2 ** z

    def lon(col: float) -> float:
        return col / n * 360 - 180

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return lon(x - margin), lat(y + 1 + margin), lon(x + 1 + margin), lat(y - margin)


def decoded(client: TestClient, collection: str, z: int, x: int, y: int, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{TILES.format(collection)}/{z}/{y}/{x}", params=params)
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return list(mapbox_vector_tile.decode(response.content)[collection]["features"])


def item_ids(client: TestClient, collection: str, box: tuple[float, ...], **params: Any) -> set[int]:
    body = client.get(f"/collections/{collection}/items",
                      params={"bbox": ",".join(map(str, box)), "limit": 10000, **params}).json()
    return {f["id"] for f in body["features"]}


@pytest.mark.parametrize(("collection", "z", "params"), [
    ("control-areas", 9, {"source": "example", "datetime": "2024-08-20"}),
    ("control-areas", 11, {"source": "example"}),
    ("places", 10, {}),
    ("regions", 6, {}),
])
def test_a_tile_holds_the_items_inside_its_bounds(client: TestClient, collection: str, z: int,
                                                  params: dict[str, str]) -> None:
    x, y = tile_of(*SUDZHA, z)
    in_tile = {f["id"] for f in decoded(client, collection, z, x, y, **params)}
    inside = item_ids(client, collection, bounds(z, x, y), **params)
    with_buffer = item_ids(client, collection, bounds(z, x, y, BUFFER / EXTENT), **params)
    assert inside and inside <= in_tile <= with_buffer


def test_a_point_lands_where_it_is(client: TestClient) -> None:
    z = 12
    x, y = tile_of(*SUDZHA, z)
    [sudzha] = [f for f in decoded(client, "places", z, x, y) if f["properties"]["key"] == "sudzha"]
    px, py = sudzha["geometry"]["coordinates"]  # tile coordinates, y up from the bottom (the decoder's default)
    west, south, east, north = bounds(z, x, y)
    lon = west + px / EXTENT * (east - west)
    assert lon == pytest.approx(SUDZHA[0], abs=(east - west) / EXTENT * 2)
    y_merc = math.log(math.tan(math.pi / 4 + math.radians(SUDZHA[1]) / 2))
    south_m, north_m = (math.log(math.tan(math.pi / 4 + math.radians(v) / 2)) for v in (south, north))
    assert py / EXTENT == pytest.approx((y_merc - south_m) / (north_m - south_m), abs=2 / EXTENT)
    assert sudzha["properties"]["name"] == "Sudzha"


def test_filters_choose_the_features(client: TestClient) -> None:
    z = 9
    x, y = tile_of(*SUDZHA, z)
    every = decoded(client, "control-areas", z, x, y, source="example")
    claimed = decoded(client, "control-areas", z, x, y, source="example", status="claimed")
    assert claimed and len(claimed) < len(every)
    assert all(f["properties"]["status"] == "claimed" for f in claimed)
    series = claimed[0]["properties"]["series"]
    one = decoded(client, "control-areas", z, x, y, source="example", series=series)
    assert one and {f["properties"]["series"] for f in one} == {series}
    cql = decoded(client, "control-areas", z, x, y, source="example", filter="area_km2 > 400")
    assert all(f["properties"]["area_km2"] > 400 for f in cql) and len(cql) < len(every)


def test_an_empty_tile_is_204_and_a_tile_off_the_grid_is_404(client: TestClient) -> None:
    empty = client.get(f"{TILES.format('places')}/5/0/0")  # the Arctic Ocean north of Scandinavia
    assert empty.status_code == 204 and empty.content == b""
    assert client.get(f"{TILES.format('places')}/5/0/0").status_code == 204  # again, from the cache
    off = client.get(f"{TILES.format('places')}/3/8/0")
    assert off.status_code == 404 and "0 to 7" in off.json()["detail"]
    assert client.get(f"{TILES.format('places')}/23/0/0").status_code in (400, 422)


def test_tiles_are_cached_with_etags(client: TestClient) -> None:
    x, y = tile_of(*SUDZHA, 10)
    url = f"{TILES.format('places')}/10/{y}/{x}"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304


def test_tilejson_and_tileset_metadata(client: TestClient) -> None:
    body = client.get(f"{TILES.format('control-areas')}/tilejson.json", params={"datetime": "2024-09-12"}).json()
    assert body["tilejson"] == "3.0.0" and body["maxzoom"] == 22
    assert body["tiles"][0].endswith("/collections/control-areas/tiles/WebMercatorQuad/{z}/{y}/{x}"
                                     "?datetime=2024-09-12")
    assert body["vector_layers"][0]["id"] == "control-areas"
    assert body["vector_layers"][0]["fields"]["area_km2"] == "number"
    tileset = client.get(TILES.format("control-areas")).json()
    assert tileset["dataType"] == "vector" and tileset["tileMatrixSetURI"].endswith("WebMercatorQuad")
    [item] = [link for link in tileset["links"] if link["rel"] == "item"]
    assert item["templated"] and item["href"].endswith("{tileMatrix}/{tileRow}/{tileCol}")
    listed = client.get("/collections/control-areas/tiles").json()["tilesets"]
    assert [t["dataType"] for t in listed] == ["vector"]
