"""Output formats for tabular research answers: JSON (default) or CSV (`f=csv`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import orjson

from app.cache import Cached
from app.errors import InvalidParameter

TABLE_FORMATS = ("json", "csv")


def check_format(f: str | None, allowed: Sequence[str] = TABLE_FORMATS) -> str:
    """The requested output format, or 400 naming the allowed ones."""
    if f is None:
        return allowed[0]
    if f not in allowed:
        raise InvalidParameter(f"f: '{f}' is not an output format here; use {' or '.join(allowed)}", parameter="f")
    return f


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def table(rows: list[dict[str, Any]], columns: Sequence[str], f: str, extra: dict[str, Any] | None = None) -> Cached:
    """Rows as `{"rows": [...], ...extra}` JSON, or as CSV with a header line (extra is JSON-only)."""
    if f == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _plain(v) for k, v in row.items()} for row in rows)
        return Cached(out.getvalue().encode(), "text/csv; charset=utf-8")
    return Cached(orjson.dumps({"rows": rows, **(extra or {})}, option=orjson.OPT_NON_STR_KEYS,
                               default=_decimal), "application/json")


def _decimal(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)
