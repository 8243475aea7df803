"""Feature pages as FlatGeobuf, GeoPackage, CSV (WKT) and GeoParquet from a live server, read back by GDAL
(Debian's ogr2ogr and ogrinfo, and pyogrio's GDAL) and GeoPandas, and compared with the GeoJSON page."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from app.crs import EPSG_URI
from tests.helpers import LiveServer

FORMATS = {"fgb": "application/flatgeobuf", "gpkg": "application/geopackage+sqlite3",
           "csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
LAYERS = ["control-areas", "places", "events"]



def download(live: LiveServer, layer: str, tmp_path: Path, fmt: str, **params: str) -> Path:
    response = httpx.get(f"{live.url}/collections/{layer}/items", params={"f": fmt, "limit": "1000", **params},
                         timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FORMATS[fmt]
    assert response.headers["content-disposition"] == f'attachment; filename="{layer}.{fmt}"'
    path = tmp_path / f"{layer}.{fmt}"
    path.write_bytes(response.content)
    return path


def read(path: Path) -> gpd.GeoDataFrame:
    """A downloaded file with GeoPandas (pyogrio's GDAL; pyarrow for GeoParquet; WKT for CSV)."""
    if path.suffix == ".parquet":
        return gpd.read_parquet(path)
    if path.suffix == ".csv":
        table = pd.read_csv(path)
        return gpd.GeoDataFrame(table, geometry=shapely.from_wkt(table.pop("geometry")), crs="OGC:CRS84")
    return gpd.read_file(path)


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_holds_the_geojson_page(live: LiveServer, tmp_path: Path, layer: str, fmt: str) -> None:
    geojson = gpd.read_file(f"{live.url}/collections/{layer}/items?limit=1000")
    assert len(geojson) > 0
    got = read(download(live, layer, tmp_path, fmt))
    assert list(got["key"]) == list(geojson["key"])
    assert got.crs is not None and got.crs.equals("OGC:CRS84")
    for ours, theirs in zip(got.geometry, geojson.geometry, strict=True):
        assert ours.equals_exact(theirs, tolerance=1e-6), (ours.wkt[:80], theirs.wkt[:80])


@pytest.mark.parametrize("fmt", ["fgb", "gpkg", "csv"])
def test_debian_gdal_converts_every_format(live: LiveServer, tmp_path: Path, fmt: str) -> None:
    """ogr2ogr 3.6 (Debian's gdal-bin) turns each file into GeoJSON with every feature."""
    executable = shutil.which("ogr2ogr")
    assert executable, "ogr2ogr (Debian gdal-bin) is missing: `make test` installs it"
    source = download(live, "places", tmp_path, fmt)
    options = ["-oo", "GEOM_POSSIBLE_NAMES=geometry", "-a_srs", "OGC:CRS84"] if fmt == "csv" else []
    target = tmp_path / "out.geojson"
    result = subprocess.run([executable, "-f", "GeoJSON", str(target), str(source), *options],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(gpd.read_file(target)) == len(read(source)) > 100


def test_gdal_streams_flatgeobuf_from_the_url(live: LiveServer) -> None:
    """FlatGeobuf is read as it arrives (GDAL's /vsicurl_streaming/, no seeking)."""
    executable = shutil.which("ogrinfo")
    assert executable
    url = f"/vsicurl_streaming/{live.url}/collections/control-areas/items?f=fgb"
    result = subprocess.run([executable, "-ro", "-al", "-so", url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Feature Count: 3" in result.stdout and "Multi Polygon" in result.stdout


def test_a_projected_crs_is_written_into_the_file(live: LiveServer, tmp_path: Path) -> None:
    got = read(download(live, "places", tmp_path, "parquet", crs=f"{EPSG_URI}32636"))
    assert got.crs.to_epsg() == 32636
    sudzha = got[got["key"] == "sudzha"].geometry.iloc[0]
    expected = Transformer.from_crs("EPSG:4326", "EPSG:32636", always_xy=True).transform(35.271, 51.191)
    assert (sudzha.x, sudzha.y) == pytest.approx(expected, abs=0.01)


def test_accept_header_chooses_the_format_and_links_name_the_others(live: LiveServer) -> None:
    url = f"{live.url}/collections/places/items?limit=2"
    chosen = httpx.get(url, headers={"Accept": "application/geopackage+sqlite3, application/geo+json;q=0.5"})
    assert chosen.headers["content-type"] == FORMATS["gpkg"]
    assert gpd.read_file(io.BytesIO(chosen.content)).shape[0] == 2
    body = httpx.get(url, headers={"Accept": "*/*"}).json()
    alternates = {link["type"] for link in body["links"] if link["rel"] == "alternate"}
    assert alternates == set(FORMATS.values())
    assert 'rel="next"' in chosen.headers["link"]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_an_empty_page_is_a_valid_file_with_its_columns(live: LiveServer, tmp_path: Path, fmt: str) -> None:
    got = read(download(live, "places", tmp_path, fmt, filter="name = 'nowhere'"))
    assert len(got) == 0 and {"id", "key", "name", "kind"} <= set(got.columns)


def test_a_large_csv_page_is_streamed_with_the_same_rows(live: LiveServer) -> None:
    """CSV pages above 1,000 features are streamed batch by batch, like GeoJSON: the same rows as a kept page."""
    kept = httpx.get(f"{live.url}/collections/places/items", params={"f": "csv", "limit": "1000"})
    streamed = httpx.get(f"{live.url}/collections/places/items", params={"f": "csv", "limit": "5000"})
    assert "content-length" in kept.headers and "content-length" not in streamed.headers
    assert streamed.headers["content-disposition"] == 'attachment; filename="places.csv"'
    assert streamed.content == kept.content and streamed.content.count(b"\n") > 100
