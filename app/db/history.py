"""Append-only writes: new versions are inserted, current ones closed, nothing overwritten or deleted.

A ``key`` names one thing across its versions (a place's slug, a source's claim for a day and layer). A key may
hold several rows at once (a claim drawn as several polygons); its versions are replaced as a set.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import Connection, Table, func, insert, select, update

from app.db import reference
from app.db.models import series_key

Row = Mapping[str, Any]
MAX_ROW_ID = 2**63 - 1  # bigint
INSERT_BATCH = 500  # rows per INSERT statement


def row_id(value: str) -> int | None:
    """The row id a path segment names, or None when it is a key: ASCII digits within bigint range.

    ('²'.isdigit() is True but int('²') fails; a longer number cannot be a row id, so it is looked up as a key.)
    """
    if value.isascii() and value.isdigit() and int(value) <= MAX_ROW_ID:
        return int(value)
    return None


@dataclass
class VersionCounts:
    """What a write did: rows inserted, keys left unchanged, rows closed."""

    inserted: int = 0
    unchanged: int = 0
    superseded: int = 0

    def __iadd__(self, other: VersionCounts) -> VersionCounts:
        self.inserted += other.inserted
        self.unchanged += other.unchanged
        self.superseded += other.superseded
        return self


def content_hash(row: Row) -> str:
    """A stable hash of a row's content (geometry as WKB), ignoring provenance columns."""
    def default(value: Any) -> Any:
        if isinstance(value, shapely.Geometry):
            return shapely.to_wkb(value, hex=True, output_dimension=2)
        return str(value)

    content = {k: v for k, v in row.items() if k not in ("import_id", "content_hash")}
    return hashlib.sha256(orjson.dumps(content, default=default, option=orjson.OPT_SORT_KEYS)).hexdigest()


def lock_keys(conn: Connection, table: Table, keys: Iterable[str]) -> datetime:
    """Take each key's write lock until the transaction ends, in a fixed order (no deadlocks); return the time.

    Concurrent writers of one key (an import, an editor) then queue instead of both closing the same version
    and both inserting a "current" one. The time returned is read once the locks are held, so a version is
    never closed before it was recorded (``now()`` would be the transaction's start, before the wait).
    """
    for key in sorted(set(keys)):
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"{table.name}:{key}", 0))))
    return conn.execute(select(func.clock_timestamp())).scalar_one()


def record_versions(conn: Connection, table: Table, rows: Iterable[Row], import_id: int | None) -> VersionCounts:
    """Write ``rows`` as the current versions of their keys; identical content writes nothing."""
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        full = dict(row)
        full["content_hash"] = content_hash(full)
        by_key[full["key"]].append(full)
    counts = VersionCounts()
    if not by_key:
        return counts
    stamp = lock_keys(conn, table, by_key)
    current: dict[str, set[str]] = defaultdict(set)
    for key, digest in conn.execute(
        select(table.c.key, table.c.content_hash).where(table.c.key.in_(list(by_key)), table.c.superseded_at.is_(None))
    ):
        current[key].add(digest)
    to_insert: list[dict[str, Any]] = []
    changed: list[str] = []
    for key, new_rows in by_key.items():
        if {r["content_hash"] for r in new_rows} == current.get(key):
            counts.unchanged += 1
            continue
        if key in current:
            changed.append(key)
        to_insert.extend(new_rows)
    if changed:
        result = conn.execute(
            update(table)
            .where(table.c.key.in_(changed), table.c.superseded_at.is_(None))
            .values(superseded_at=stamp)
        )
        counts.superseded = result.rowcount
    if to_insert:
        for row in to_insert:
            row["import_id"] = import_id
            row["recorded_at"] = stamp
            if row.get("geom") is not None:
                row["geom"] = from_shape(row["geom"], srid=4326)
        # One statement per batch, not per row: the observations trigger (migration 0008) then unites each
        # series' day once per batch instead of once per polygon.
        # A multi-row VALUES needs one set of columns: rows are grouped by the columns they give.
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in to_insert:
            by_columns[tuple(sorted(row))].append(row)
        for same in by_columns.values():
            for start in range(0, len(same), INSERT_BATCH):
                conn.execute(insert(table).values(same[start:start + INSERT_BATCH]))
        counts.inserted = len(to_insert)
        if table.name == "control_areas":  # every claim has its series
            _ensure_series(conn, to_insert)
    return counts


def _ensure_series(conn: Connection, rows: list[dict[str, Any]]) -> None:
    slugs = reference.source_slugs(conn)
    found = {(r["source_id"], r.get("side_code"), r["status"], r.get("layer")) for r in rows}
    reference.upsert_series(conn, [
        {"key": series_key(slugs[source_id], side, status, layer), "source_id": source_id, "side_code": side,
         "status": status, "layer": layer} for source_id, side, status, layer in sorted(found, key=str)])


# -- current versions and their tags (ETags) ---------------------------------------------------------------

def version_tag(row_ids: list[int]) -> str:
    """The ETag of a thing's current version: its current rows (a claim may be several polygons)."""
    return '"' + hashlib.sha256(",".join(map(str, sorted(row_ids))).encode()).hexdigest()[:24] + '"'


def current_rows(conn: Connection, table: Table, key: str) -> list[int]:
    """The ids of a key's current rows."""
    stmt = select(table.c.id).where(table.c.key == key, table.c.superseded_at.is_(None))
    return sorted(conn.execute(stmt).scalars())


def key_of(conn: Connection, table: Table, feature_id: str) -> str | None:
    """The key a feature id (a row id of any version, or a key) names, if it exists."""
    number = row_id(feature_id)
    match = table.c.id == number if number is not None else table.c.key == feature_id
    return conn.execute(select(table.c.key).where(match).limit(1)).scalar_one_or_none()


def close_rows(conn: Connection, table: Table, ids: list[int]) -> None:
    """Close current versions (a retraction); after the key's lock, so the clock, not the transaction's start."""
    conn.execute(update(table).where(table.c.id.in_(ids)).values(superseded_at=func.clock_timestamp()))
