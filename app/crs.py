"""The coordinate reference systems the feature API serves (OGC API – Features, Part 2: CRS by reference).

Data is stored in WGS 84 longitude/latitude (CRS84, ``storageCrs``). A client may ask for features in another
CRS with ``crs`` and give its ``bbox`` in another with ``bbox-crs``; PostGIS transforms (``ST_Transform``,
PROJ). Coordinates come in the axis order the CRS defines, as Part 2 requires: EPSG:4326 is latitude first,
EPSG:3035 (ETRS89-LAEA) is northing first; CRS84, Web Mercator and UTM are easting first. The order is read
from the EPSG database through pyproj, not written down here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyproj

from app.errors import InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
# WGS 84 lat/lon, Web Mercator, UTM 36N (the Kursk–Sumy front's zone), ETRS89-LAEA Europe.
EPSG_CODES = (4326, 3857, 32636, 3035)


@dataclass(frozen=True)
class Crs:
    """One CRS as the API names it, and what PostGIS needs to write coordinates in it."""

    uri: str
    srid: int
    northing_first: bool  # the first coordinate is latitude or northing: PostGIS's x/y are swapped
    digits: int  # decimals written: 7 in degrees (about 1 cm), 2 in metres
    geographic: bool

    @property
    def is_storage(self) -> bool:
        """Whether features are served as stored (no transformation, no swapped axes)."""
        return self.uri == CRS84


def _epsg(code: int) -> Crs:
    definition = pyproj.CRS.from_epsg(code)
    first_axis = definition.axis_info[0].direction
    geographic = definition.is_geographic
    return Crs(f"{EPSG_URI}{code}", code, first_axis in ("north", "south"), 7 if geographic else 2, geographic)


STORAGE = Crs(CRS84, 4326, False, 7, True)
SUPPORTED: dict[str, Crs] = {STORAGE.uri: STORAGE} | {c.uri: c for c in map(_epsg, EPSG_CODES)}


def to_lonlat(box: tuple[float, float, float, float], crs: Crs) -> tuple[float, float, float, float] | None:
    """The CRS84 bounds of a box given in ``crs`` (x/y order), its edges densified; None where PROJ cannot
    transform it (outside the CRS's domain)."""
    transformer = pyproj.Transformer.from_crs(crs.srid, 4326, always_xy=True)
    try:
        bounds = transformer.transform_bounds(*box, densify_pts=21)
    except pyproj.exceptions.ProjError:
        return None
    return bounds if all(math.isfinite(v) for v in bounds) else None


def parse_crs(value: str | None, parameter: str) -> Crs:
    """The CRS a ``crs`` or ``bbox-crs`` value names: its URI (``http://www.opengis.net/def/crs/EPSG/0/3857``),
    or the safe CURIE ``[EPSG:3857]``; CRS84 when not given."""
    if value is None:
        return STORAGE
    text = value.strip()
    if text.startswith("[") and text.endswith("]") and ":" in text:  # safe CURIE, e.g. [EPSG:4326]
        authority, _, code = text[1:-1].partition(":")
        text = CRS84 if (authority, code) == ("OGC", "CRS84") else f"{EPSG_URI}{code}" if authority == "EPSG" else text
    if text not in SUPPORTED:
        raise InvalidParameter(f"{parameter}: '{value}' is not a CRS this API serves; it serves "
                               f"{', '.join(SUPPORTED)}", parameter=parameter)
    return SUPPORTED[text]
