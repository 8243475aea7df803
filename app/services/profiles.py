"""Import profiles: one small TOML file per source export that says how to read it.

A profile names the source, how to find each feature's day (a date attribute, a date in the file name, or a
Unix-time file name that is the publication time) and an ordered list of rules. The first rule whose ``where``
patterns all match a feature's properties (and whose ``within`` box holds the feature) decides: the feature
becomes a control area of that side, status and layer, or is skipped on purpose (``skip = true``). A feature no
rule matches is counted as unmatched, never dropped silently.

Profiles ship in ``app/profiles``; user profiles are read from ``FRONTLINE_PROFILES_DIR`` or given as a path.
A profile with an error (unknown key, bad regular expression, unknown side) is refused before any file is
read, with the line at fault.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Connection

from app.db import reference
from app.db.models import SOURCE_KINDS, STATUSES, series_key
from app.errors import InvalidParameter
from app.services.dates import date_from_name, parse_date

SHIPPED = Path(__file__).resolve().parent.parent / "profiles"


class ProfileError(InvalidParameter):
    """A profile that cannot be used: says which file and line."""

    title = "Invalid import profile"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateRule(_Strict):
    """Where a feature's day comes from."""

    from_: Literal["attribute", "filename-date", "filename-unix-time"] = Field(alias="from")
    attribute: str | None = None

    @model_validator(mode="after")
    def _attribute_named(self) -> DateRule:
        if self.from_ == "attribute" and not self.attribute:
            raise ValueError("from = 'attribute' needs attribute = '<column name>'")
        return self


class Figure(_Strict):
    """A publisher's own number on each feature, kept as a reported figure beside our measurement."""

    attribute: str = Field(description="The feature property that holds the number.")
    metric: str = Field(description="What the number measures, e.g. area_km2.")
    unit: str = Field(description="Its unit, e.g. km2.")
    region: str | None = Field(default=None, description="Key of the region the number is about, if any.")


class Rule(_Strict):
    """Features whose properties match ``where`` (regular expressions, searched) become ``side/status/layer``."""

    label: str
    where: dict[str, re.Pattern[str]] = Field(default_factory=dict)
    within: tuple[float, float, float, float] | None = None
    side: str | None = None
    status: str | None = None
    layer: str | None = None
    skip: bool = False
    figure: Figure | None = None
    title: str | None = Field(default=None, description="The series' title, e.g. 'DeepStateMap — …'.")
    short_title: str | None = Field(default=None, min_length=1, max_length=40, description=(
        "At most 40 characters, for a map's layer list under the source's name."))
    same_ground_as: str | None = Field(default=None, description=(
        "Key of a series of the same source over the same ground that is preferred to this one."))

    @field_validator("where", mode="before")
    @classmethod
    def _compile(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        compiled = {}
        for key, pattern in value.items():
            try:
                compiled[key] = re.compile(str(pattern))
            except re.error as exc:
                raise ValueError(f"where.{key}: bad regular expression {pattern!r}: {exc}") from None
        return compiled

    @model_validator(mode="after")
    def _target(self) -> Rule:
        if self.skip:
            if (self.side or self.status or self.layer or self.figure or self.title or self.short_title
                    or self.same_ground_as):
                raise ValueError("a skip rule takes no side, status, layer, figure, title, short_title or "
                                 "same_ground_as")
            return self
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)} (or skip = true)")
        if self.side is None and self.status not in ("contested", "unknown"):
            raise ValueError("side is required unless the status is contested or unknown")
        return self

    def matches(self, properties: dict[str, Any], geom: shapely.Geometry) -> bool:
        """Whether every pattern finds a match in its property (as text) and the feature lies within the box."""
        for key, pattern in self.where.items():
            value = properties.get(key)
            if value is None or not pattern.search(str(value)):
                return False
        if self.within is not None:
            point = geom.representative_point()
            minx, miny, maxx, maxy = self.within
            return minx <= point.x <= maxx and miny <= point.y <= maxy
        return True


class Profile(_Strict):
    """One source's export format."""

    name: str
    description: str
    source: str
    source_name: str | None = None
    source_kind: str = "osint"
    geometry: Literal["polygons"] = "polygons"
    dates: DateRule = Field(alias="date")
    rule: tuple[Rule, ...] = Field(min_length=1)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("source_kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in SOURCE_KINDS:
            raise ValueError(f"must be one of {', '.join(SOURCE_KINDS)}")
        return value

    def classify(self, properties: dict[str, Any], geom: shapely.Geometry) -> Rule | None:
        """The first rule that matches, or None."""
        return next((r for r in self.rule if r.matches(properties, geom)), None)

    def series(self) -> list[dict[str, Any]]:
        """The titles and preferences the rules give their series (keys as stored)."""
        return [{"key": series_key(self.source, rule.side, rule.status, rule.layer), "title": rule.title,
                 "short_title": rule.short_title, "same_ground_as": rule.same_ground_as}
                for rule in self.rule
                if not rule.skip and rule.status and (rule.title or rule.short_title or rule.same_ground_as)]

    def day(self, path: Path, properties: dict[str, Any]) -> tuple[date | None, datetime | None]:
        """The day a feature describes and, for a publication-time file name, when it was published."""
        if self.dates.from_ == "filename-unix-time":
            published = publication_time(path)
            return published.date(), published
        if self.dates.from_ == "filename-date":
            return date_from_name(path), None
        return parse_date(properties.get(self.dates.attribute or "")), None


def publication_time(path: Path) -> datetime:
    """The UTC time a Unix-time file name (``1724184993.geojson``) stands for."""
    stem = path.name.split(".")[0]
    if not (stem.isascii() and stem.isdigit()) or not 9 <= len(stem) <= 10:
        raise ProfileError(f"{path.name}: the file name is not a Unix time (e.g. 1724184993.geojson)",
                           parameter="path")
    return datetime.fromtimestamp(int(stem), UTC)


# -- loading -----------------------------------------------------------------------------------------------

def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line (1-based) of the TOML text that a validation error's location points at, as near as we can."""
    lines = text.splitlines()
    start, end, found = 0, len(lines), False
    keys = list(loc)
    if keys and keys[0] in ("rule", "date"):
        header = "[[rule]]" if keys[0] == "rule" else "[date]"
        nth = keys[1] if keys[0] == "rule" and len(keys) > 1 and isinstance(keys[1], int) else 0
        headers = [n for n, line in enumerate(lines) if line.strip() == header]
        if nth < len(headers):
            start, found = headers[nth], True
            end = next((n for n in range(start + 1, len(lines)) if lines[n].lstrip().startswith("[")), len(lines))
        keys = keys[2:] if keys[0] == "rule" else keys[1:]
    for key in reversed([str(k) for k in keys if not isinstance(k, int)]):
        assignment = re.compile(rf"(^|[{{,])\s*{re.escape(key)}\s*=")
        for number in range(start, end):
            if assignment.search(lines[number]):
                return number + 1
    return start + 1 if found else None


def parse_profile(text: str, origin: Path | str) -> Profile:
    """A profile from TOML text; ProfileError names the file, the line and what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{origin}: not valid TOML: {exc}", parameter="profile") from None
    try:
        profile = Profile.model_validate({**data, "path": origin if isinstance(origin, Path) else None})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = _line_of(text, loc)
            where = ".".join(str(p) for p in loc)
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(f"line {line}: {where}: {message}" if line else f"{where}: {message}")
        raise ProfileError(f"{origin}: " + "; ".join(problems), parameter="profile") from None
    return profile


def load_profile(name_or_path: str, user_dir: Path | None = None) -> Profile:
    """A profile by name (user directory first, then the shipped ones) or by path to a .toml file."""
    candidates = [Path(name_or_path)] if name_or_path.endswith(".toml") else [
        *([user_dir / f"{name_or_path}.toml"] if user_dir else []), SHIPPED / f"{name_or_path}.toml"]
    for path in candidates:
        if path.is_file():
            return parse_profile(path.read_text(encoding="utf-8"), path)
    known = ", ".join(p.name for p in available(user_dir))
    raise ProfileError(f"no import profile '{name_or_path}' (known: {known})", parameter="profile")


def available(user_dir: Path | None = None) -> list[Profile]:
    """Every profile that loads, user profiles shadowing shipped ones of the same name."""
    found: dict[str, Profile] = {}
    for directory in (SHIPPED, user_dir):
        if directory and directory.is_dir():
            for path in sorted(directory.glob("*.toml")):
                profile = parse_profile(path.read_text(encoding="utf-8"), path)
                found[profile.name] = profile
    return sorted(found.values(), key=lambda p: p.name)


def check_against_database(conn: Connection, profile: Profile) -> None:
    """Refuse rules naming a side the database does not know, with the line of the rule."""
    known = reference.side_codes(conn)
    text = profile.path.read_text(encoding="utf-8") if profile.path else ""
    for index, rule in enumerate(profile.rule):
        if rule.side is not None and rule.side not in known:
            line = _line_of(text, ("rule", index, "side"))
            at = f"line {line}: " if line else ""
            raise ProfileError(f"{profile.path or profile.name}: {at}rule.{index}.side: unknown side '{rule.side}' "
                               f"(known: {', '.join(sorted(known))})", parameter="profile")
