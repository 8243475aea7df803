"""Finding the day a file or feature describes, and refusing days that cannot be right."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

EARLIEST = date(1900, 1, 1)
# 20240901, 2024-09-01, 2024_09_01 — not inside a longer run of digits (a Unix timestamp is not a date).
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})([-_]?)(\d{2})\2(\d{2})(?!\d)")
DATE_COLUMNS = ("date", "observed_on", "valid_from", "Date", "DATE")


class BadDate(ValueError):
    """A date that is missing, malformed, in the future or implausibly old."""


def date_from_name(path: Path) -> date | None:
    """The first valid calendar date written in a file name, if any."""
    for match in _NAME_DATE.finditer(path.name):
        try:
            return date(int(match[1]), int(match[3]), int(match[4]))
        except ValueError:
            continue
    return None


def parse_date(value: Any) -> date | None:
    """A date from an attribute value (ISO string, datetime, pandas Timestamp); None when empty."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BadDate(f"'{text}' is not a date (expected YYYY-MM-DD)") from None


def check_plausible(day: date, today: date | None = None) -> date:
    """Refuse days in the future or before 1900 (typically a mistyped century)."""
    today = today or date.today()
    if day > today:
        raise BadDate(f"{day.isoformat()} is in the future (today is {today.isoformat()})")
    if day < EARLIEST:
        raise BadDate(f"{day.isoformat()} is before {EARLIEST.year}: a mistyped year?")
    return day
