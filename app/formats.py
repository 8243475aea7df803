"""Media types, the output-format dependency, and tabular answers as JSON (default) or CSV (`f=csv`)."""

# No `from __future__ import annotations`: FastAPI must see the dependency's annotation, which names a local.

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Request

from app.cache import NEGOTIATED, Cached
from app.errors import InvalidParameter

GEOJSON = "application/geo+json"
JSON = "application/json"
CSV = "text/csv; charset=utf-8"
HTML = "text/html; charset=utf-8"
PNG = "image/png"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"


def check_format(f: str | None, allowed: Sequence[str]) -> str:
    """The requested output format (the first allowed one by default), or 400 naming the allowed ones."""
    if f is None:
        return allowed[0]
    if f not in allowed:
        raise InvalidParameter(f"f: '{f}' is not an output format here; use {' or '.join(allowed)}", parameter="f")
    return f


def output_format(*allowed: str) -> Any:
    """A dependency on the `f` parameter: one of ``allowed``, the first by default (after tipg's OutputType)."""
    description = f"Output format: {' or '.join(allowed)} (default {allowed[0]})."

    async def dependency(f: Annotated[str | None, Query(description=description,
                                                        json_schema_extra={"enum": list(allowed)})] = None) -> str:
        return check_format(f, allowed)

    return Depends(dependency)


def negotiated_format(media_types: dict[str, str]) -> Any:
    """A dependency on `f`, or when it is absent on the Accept header: one of ``media_types``' names (format
    name -> media type), the first by default."""
    allowed = list(media_types)
    description = f"Output format: {', '.join(allowed)} (default {allowed[0]}); or ask with an Accept header."
    default = media_types[allowed[0]]
    NEGOTIATED.update(media.split(";")[0].encode() for media in media_types.values() if media != default)

    async def dependency(request: Request, f: Annotated[str | None, Query(
            description=description, json_schema_extra={"enum": allowed})] = None) -> str:
        if f is not None:
            return check_format(f, allowed)
        return _accepted(request.headers.get("accept", ""), media_types) or allowed[0]

    return Depends(dependency)


def _accepted(header: str, media_types: dict[str, str]) -> str | None:
    """The format whose media type the Accept header prefers (by q, then order); None for no preference."""
    ranges = []
    for position, item in enumerate(header.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        q = next((float(p[2:]) for p in params if p.startswith("q=") and _number(p[2:])), 1.0)
        ranges.append((-q, position, media.lower()))
    for _, _, media in sorted(ranges):
        if media in ("*/*", ""):
            return None
        for name, media_type in media_types.items():
            if media_type.split(";")[0] == media:
                return name
    return None


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


TableFormat = Annotated[str, output_format("json", "csv")]
JsonOnly = Annotated[str, output_format("json")]


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def json_body(body: Any) -> Cached:
    """A JSON answer (dates as ISO text, decimals as numbers)."""
    return Cached(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS, default=_decimal), JSON)


def table(rows: list[dict[str, Any]], columns: Sequence[str], f: str, extra: dict[str, Any] | None = None) -> Cached:
    """Rows as `{"rows": [...], ...extra}` JSON, or as CSV with a header line (extra is JSON-only)."""
    if f == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _plain(v) for k, v in row.items()} for row in rows)
        return Cached(out.getvalue().encode(), CSV)
    return json_body({"rows": rows, **(extra or {})})


def feature_collection(features: Sequence[str | bytes], envelope: dict[str, Any]) -> bytes:
    """A GeoJSON FeatureCollection from features PostGIS serialised, with the envelope's members after them."""
    parts = [f.encode() if isinstance(f, str) else f for f in features]
    return b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]," + orjson.dumps(envelope)[1:]
