"""Real GIS clients against a live server: GDAL's OAPIF driver (ogrinfo) and GeoPandas."""

from __future__ import annotations

import re
import shutil
import subprocess

import geopandas as gpd
import pytest

from tests.helpers import LiveServer

EXPECTED_LAYERS = {"control-areas": "Multi Polygon", "places": "Point", "lines": "Multi Line String",
                   "regions": "Multi Polygon", "events": "Point"}


def ogrinfo(*args: str) -> str:
    executable = shutil.which("ogrinfo")
    assert executable, "ogrinfo (Debian gdal-bin) is missing: `make test` installs it"
    result = subprocess.run([executable, "-ro", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_gdal_lists_every_collection(live_server: LiveServer) -> None:
    listing = ogrinfo(f"OAPIF:{live_server.url}")
    found = dict(re.findall(r"^\d+: ([\w-]+) \(title: [^)]*\) \(([^)]+)\)$", listing, re.MULTILINE))
    assert found == EXPECTED_LAYERS


@pytest.mark.parametrize(("layer", "count"), [("places", 9), ("control-areas", 9), ("regions", 4), ("events", 4)])
def test_gdal_reads_every_feature_through_paging(live_server: LiveServer, layer: str, count: int) -> None:
    # A page size of 2 makes GDAL follow `next` links several times.
    out = ogrinfo("-al", "-oo", "PAGE_SIZE=2", f"OAPIF:{live_server.url}", layer)
    keys = re.findall(r"^\s+key \(String\) = (.+)$", out, re.MULTILINE)
    assert len(keys) == count and len(set(keys)) == count
    assert f"Feature Count: {count}" in ogrinfo("-so", "-al", f"OAPIF:{live_server.url}", layer)


def test_gdal_sees_the_attribute_types(live_server: LiveServer) -> None:
    summary = ogrinfo("-so", "-al", f"OAPIF:{live_server.url}", "control-areas")
    assert "area_km2: Real" in summary and "observed_on: Date" in summary and "side: String" in summary


def test_geopandas_reads_an_items_url_with_properties(live_server: LiveServer) -> None:
    frame = gpd.read_file(f"{live_server.url}/collections/control-areas/items?source=syrskyi&limit=100")
    assert len(frame) == 3 and frame.crs.to_epsg() == 4326
    assert sorted(frame["area_km2"].round(0)) == [1000, 1263, 1294]
    assert set(frame["status"]) == {"claimed"} and set(frame["side"]) == {"UA"}
    places = gpd.read_file(f"{live_server.url}/collections/places/items")
    sudzha = places.set_index("key").loc["sudzha"]
    assert (round(sudzha.geometry.x, 3), round(sudzha.geometry.y, 3)) == (35.271, 51.191)
