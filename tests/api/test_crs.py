"""OGC API – Features Part 2 (CRS by reference): features in five CRSs, a bbox in any of them, checked against
pyproj; and GDAL's OAPIF driver (pyogrio's GDAL) reading in a projected CRS from a live server."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape

from app.crs import CRS84, EPSG_URI
from app.params import MAX_OFFSET
from tests.helpers import LiveServer

PART_2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
SUDZHA = (35.271, 51.191)  # lon, lat, as the seed's places.geojson has it
PLEKHOVO = (35.33, 51.10)


def place(client: TestClient, key: str, **params: Any) -> tuple[list[float], dict[str, str]]:
    response = client.get(f"/collections/places/items/{key}", params=params)
    assert response.status_code == 200, response.text
    return response.json()["geometry"]["coordinates"], dict(response.headers)


def test_conformance_and_collections_name_the_crs_served(client: TestClient) -> None:
    assert PART_2 in client.get("/conformance").json()["conformsTo"]
    described = client.get("/collections/control-areas").json()
    assert described["storageCrs"] == CRS84
    assert set(described["crs"]) == {CRS84, *(f"{EPSG_URI}{c}" for c in (4326, 3857, 32636, 3035))}


@pytest.mark.parametrize("code", [3857, 32636])
def test_projected_coordinates_agree_with_pyproj(client: TestClient, code: int) -> None:
    coordinates, headers = place(client, "sudzha", crs=f"{EPSG_URI}{code}")
    expected = Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True).transform(*SUDZHA)
    assert coordinates == pytest.approx(list(expected), abs=0.01)
    assert headers["content-crs"] == f"<{EPSG_URI}{code}>"


@pytest.mark.parametrize("code", [4326, 3035])
def test_coordinates_come_in_the_crs_axis_order(client: TestClient, code: int) -> None:
    """EPSG:4326 is latitude first and EPSG:3035 northing first: pyproj without always_xy uses that order."""
    coordinates, _ = place(client, "sudzha", crs=f"{EPSG_URI}{code}")
    lon, lat = SUDZHA
    expected = Transformer.from_crs("EPSG:4326", f"EPSG:{code}").transform(lat, lon)
    assert coordinates == pytest.approx(list(expected), abs=1e-6 if code == 4326 else 0.01)
    easting_first = Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True).transform(lon, lat)
    assert coordinates == pytest.approx(list(easting_first)[::-1], abs=1e-6 if code == 4326 else 0.01)


def test_crs84_is_the_default_and_as_stored(client: TestClient) -> None:
    coordinates, headers = place(client, "sudzha")
    assert coordinates == list(SUDZHA) and headers["content-crs"] == f"<{CRS84}>"


def test_polygons_keep_their_area_through_a_transformation(client: TestClient) -> None:
    """Control areas in ETRS89-LAEA (equal-area): planar area there matches the geodesic area_km2."""
    page = client.get("/collections/control-areas/items", params={"source": "example", "limit": 3,
                                                                  "crs": f"{EPSG_URI}3035"})
    assert page.status_code == 200 and page.headers["content-crs"] == f"<{EPSG_URI}3035>"
    for feature in page.json()["features"]:
        swapped = shape(feature["geometry"])  # northing, easting: a mirror image, the same area
        assert swapped.area / 1e6 == pytest.approx(feature["properties"]["area_km2"], rel=0.002)


@pytest.mark.parametrize("code", [32636, 3857, 4326])
def test_a_bbox_in_another_crs(client: TestClient, code: int) -> None:
    """A 4 km box around Sudzha in the given CRS: Sudzha is in it, Plekhovo (10 km south) is not."""
    to = Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True)
    x, y = to.transform(*SUDZHA)
    half = 0.02 if code == 4326 else 2000
    box = [y - half, x - half, y + half, x + half] if code == 4326 else [x - half, y - half, x + half, y + half]
    found = client.get("/collections/places/items", params={
        "bbox": ",".join(map(str, box)), "bbox-crs": f"{EPSG_URI}{code}", "limit": 1000})
    assert found.status_code == 200, found.text
    keys = {f["properties"]["key"] for f in found.json()["features"]}
    assert "sudzha" in keys and "plekhovo" not in keys


@pytest.mark.parametrize(("params", "parameter"), [
    ({"crs": "EPSG:9999"}, "crs"),
    ({"crs": "http://www.opengis.net/def/crs/EPSG/0/2056"}, "crs"),
    ({"bbox": "0,0,1,1", "bbox-crs": "urn:nothing"}, "bbox-crs"),
    ({"bbox": "1e12,1e12,2e12,2e12", "bbox-crs": f"{EPSG_URI}3035"}, "bbox"),
    ({"bbox": "10,10,5,5", "bbox-crs": f"{EPSG_URI}3857"}, "bbox"),
    ({"offset": str(MAX_OFFSET + 1)}, "offset"),
    ({"offset": "9223372036854775808"}, "offset"),
])
def test_bad_crs_and_paging_values_are_named(client: TestClient, params: dict[str, str], parameter: str) -> None:
    response = client.get("/collections/places/items", params=params)
    assert response.status_code == 400, response.text
    assert parameter in response.text


def test_an_offset_at_its_bound_is_an_empty_page(client: TestClient) -> None:
    page = client.get("/collections/places/items", params={"offset": MAX_OFFSET})
    assert page.status_code == 200 and page.json()["features"] == [] and page.json()["numberMatched"] > 0


def test_safe_curie_names_a_crs_too(client: TestClient) -> None:
    coordinates, headers = place(client, "sudzha", crs="[EPSG:4326]")
    assert coordinates == [SUDZHA[1], SUDZHA[0]] and headers["content-crs"] == f"<{EPSG_URI}4326>"


def test_gdal_oapif_reads_in_a_projected_crs(live_server: LiveServer) -> None:
    """GDAL's OAPIF driver (3.7+, here pyogrio's) asks for UTM 36N with its CRS open option. In a subprocess:
    the live server is a thread of this process, and pyogrio holds the GIL while GDAL reads."""
    script = (f"import pyogrio; f = pyogrio.read_dataframe('OAPIF:{live_server.url}', layer='places', "
              "CRS='EPSG:32636'); p = f[f['key'] == 'sudzha'].geometry.iloc[0]; "
              "print(f.crs.to_epsg(), p.x, p.y)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    epsg, x, y = result.stdout.split()
    expected = Transformer.from_crs("EPSG:4326", "EPSG:32636", always_xy=True).transform(*SUDZHA)
    assert int(epsg) == 32636 and (float(x), float(y)) == pytest.approx(expected, abs=0.01)
