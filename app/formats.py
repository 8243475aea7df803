"""Media types, the output-format dependency, and tabular answers as JSON (default) or CSV (`f=csv`)."""

# No `from __future__ import annotations`: FastAPI must see the dependency's annotation, which names a local.

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query

from app.cache import Cached
from app.errors import InvalidParameter

GEOJSON = "application/geo+json"
JSON = "application/json"
CSV = "text/csv; charset=utf-8"
HTML = "text/html; charset=utf-8"
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

    async def dependency(f: Annotated[str | None, Query(description=description)] = None) -> str:
        return check_format(f, allowed)

    return Depends(dependency)


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
