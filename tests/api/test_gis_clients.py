"""Real GIS clients against a live server: GDAL's OAPIF driver (ogrinfo) and GeoPandas."""

from __future__ import annotations

import re
import shutil
import subprocess

import geopandas as gpd
import pytest
from sqlalchemy import create_engine, text

from tests.api.conftest import REAL_DAYS
from tests.helpers import LiveServer

EXPECTED_LAYERS = {"control-areas": "Multi Polygon", "places": "Point", "lines": "Multi Line String",
                   "regions": "Multi Polygon", "events": "Point"}





def ogrinfo(*args: str) -> str:
    executable = shutil.which("ogrinfo")
    assert executable, "ogrinfo (Debian gdal-bin) is missing: `make test` installs it"
    result = subprocess.run([executable, "-ro", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_gdal_lists_every_collection(live: LiveServer) -> None:
    listing = ogrinfo(f"OAPIF:{live.url}")
    found = dict(re.findall(r"^\d+: ([\w-]+) \(title: [^)]*\) \(([^)]+)\)$", listing, re.MULTILINE))
    assert found == EXPECTED_LAYERS


# Control areas: the three real ones; the seed's nine examples are left out unless asked for (source=example).
# Places: the editors' and the GeoNames towns, counted in the database. Events: the seed's three with a location
# (the fourth, a statement without one, is reachable by its id but not listed).
@pytest.mark.parametrize(("layer", "count"), [("places", None), ("control-areas", 3), ("regions", 4), ("events", 3)])
def test_gdal_reads_every_feature_through_paging(live: LiveServer, layer: str, count: int | None) -> None:
    if count is None:
        engine = create_engine(live.database_url)
        with engine.connect() as conn:
            count = conn.execute(text(f"SELECT count(*) FROM {layer} WHERE superseded_at IS NULL")).scalar_one()
        engine.dispose()
    # A page size of a quarter of the layer (at least 2) makes GDAL follow `next` links several times.
    out = ogrinfo("-al", "-oo", f"PAGE_SIZE={max(2, count // 4)}", f"OAPIF:{live.url}", layer)
    keys = re.findall(r"^\s+key \(String\) = (.+)$", out, re.MULTILINE)
    assert len(keys) == count and len(set(keys)) == count
    assert f"Feature Count: {count}" in ogrinfo("-so", "-al", f"OAPIF:{live.url}", layer)


def test_gdal_sees_the_attribute_types(live: LiveServer) -> None:
    summary = ogrinfo("-so", "-al", f"OAPIF:{live.url}", "control-areas")
    assert "area_km2: Real" in summary and "observed_on: Date" in summary and "side: String" in summary


def test_geopandas_reads_an_items_url_with_properties(live: LiveServer) -> None:
    frame = gpd.read_file(f"{live.url}/collections/control-areas/items?source=example&layer=syrskyi&limit=100")
    assert len(frame) == 3 and frame.crs.to_epsg() == 4326
    assert sorted(frame["area_km2"].round(0)) == [1000, 1263, 1294]
    assert set(frame["status"]) == {"claimed"} and set(frame["side"]) == {"UA"}
    assert set(frame["series"]) == {"example/UA/claimed/syrskyi"} and set(frame["illustrative"]) == {True}
    real = gpd.read_file(f"{live.url}/collections/control-areas/items?limit=100")
    assert sorted(real["observed_on"].astype(str)) == [d.isoformat() for d in REAL_DAYS]
    assert set(real["series"]) == {"isw/RU/assessed/kursk-ru-advances"} and set(real["source"]) == {"isw"}
    places = gpd.read_file(f"{live.url}/collections/places/items")
    sudzha = places.set_index("key").loc["sudzha"]
    assert (round(sudzha.geometry.x, 3), round(sudzha.geometry.y, 3)) == (35.271, 51.191)
