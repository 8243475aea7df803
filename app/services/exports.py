"""Feature pages in the bulk formats GIS tools read: FlatGeobuf, GeoPackage, CSV (WKT geometry), GeoParquet.

PostGIS selects the properties and the geometry (WKB, transformed to the asked CRS); GeoPandas makes a frame of
them and pyogrio (GDAL) or pyarrow writes the file in memory. Coordinates are written easting (longitude)
first whatever the CRS's official axis order, as GDAL reads and writes these formats; the file names its CRS.
GeoJSON stays the default and is not made here: PostGIS writes it directly (app.db.features).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from app.crs import Crs


@dataclass(frozen=True)
class Format:
    """An output format of feature pages: its ``f`` value, media type and file extension."""

    name: str
    media_type: str
    extension: str
    title: str


FORMATS = {f.name: f for f in (
    Format("fgb", "application/flatgeobuf", "fgb", "FlatGeobuf"),
    Format("gpkg", "application/geopackage+sqlite3", "gpkg", "GeoPackage"),
    Format("csv", "text/csv; charset=utf-8", "csv", "CSV, geometry as WKT"),
    Format("parquet", "application/vnd.apache.parquet", "parquet", "GeoParquet"),
)}


def frame(rows: list[dict[str, Any]], columns: list[str], crs: Crs, geometry_type: str) -> gpd.GeoDataFrame:
    """Rows with ``columns`` and a ``geometry`` (WKB) as a GeoDataFrame in ``crs`` (the columns kept when there
    are no rows)."""
    records = pd.DataFrame.from_records([{k: v for k, v in r.items() if k != "geometry"} for r in rows],
                                        columns=columns)
    geometries = shapely.from_wkb([r["geometry"] for r in rows]) if rows else []
    result = gpd.GeoDataFrame(records, geometry=gpd.GeoSeries(geometries, crs=_crs(crs)), crs=_crs(crs))
    result.attrs["geometry_type"] = geometry_type
    return result


def encode(data: gpd.GeoDataFrame, fmt: Format, layer: str) -> bytes:
    """The frame as a file in ``fmt`` (the layer named ``layer`` where the format names layers)."""
    out = io.BytesIO()
    if fmt.name == "parquet":
        data.to_parquet(out, index=False)
    elif fmt.name == "csv":
        out.write(csv_rows(data, header=True))
    else:
        # FlatGeobuf without its spatial index: the page keeps its order (by id, or sortby) and streams.
        driver, options = ("FlatGeobuf", {"SPATIAL_INDEX": "NO"}) if fmt.name == "fgb" else ("GPKG", {})
        pyogrio.write_dataframe(data, out, driver=driver, layer=layer, layer_options=options,
                                geometry_type=data.attrs.get("geometry_type"), promote_to_multi=False)
    return out.getvalue()


def csv_rows(data: gpd.GeoDataFrame, header: bool) -> bytes:
    """Rows as CSV with the geometry as WKT (and the header line first if ``header``): the whole CSV file, or
    one batch of a streamed one."""
    table = pd.DataFrame(data.drop(columns="geometry"))
    table["geometry"] = shapely.to_wkt(data.geometry.values, rounding_precision=-1)
    return table.to_csv(index=False, header=header, date_format="%Y-%m-%dT%H:%M:%S%z").encode()


def _crs(crs: Crs) -> str:
    return "OGC:CRS84" if crs.is_storage else f"EPSG:{crs.srid}"
