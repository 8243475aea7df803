"""Reference data (sides, sources, claim series) and import batches."""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.models import imports, series, sides, sources
from app.errors import InvalidParameter


def upsert_sides(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert sides, or refresh their display name and colour."""
    stmt = pg_insert(sides).values(rows)
    conn.execute(stmt.on_conflict_do_update(index_elements=["code"],
                                            set_={"name": stmt.excluded.name, "color": stmt.excluded.color}))


def upsert_sources(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert sources, or refresh their description; return slug → id."""
    stmt = pg_insert(sources).values(rows)
    refreshed = {c: stmt.excluded[c] for c in ("name", "kind", "side_code", "url", "notes", "terms", "attribution")}
    conn.execute(stmt.on_conflict_do_update(index_elements=["slug"], set_=refreshed))
    return source_ids(conn)


def source_ids(conn: Connection) -> dict[str, int]:
    """Every source's slug → id."""
    return {slug: id_ for slug, id_ in conn.execute(select(sources.c.slug, sources.c.id))}


def source_slugs(conn: Connection) -> dict[int, str]:
    """Every source's id → slug."""
    return {id_: slug for slug, id_ in source_ids(conn).items()}


def side_codes(conn: Connection) -> set[str]:
    """The codes of the known sides."""
    return set(conn.execute(select(sides.c.code)).scalars())


def require_side(conn: Connection, code: str | None) -> None:
    """Refuse a side that is not in the sides table (sides are never created implicitly)."""
    if code is not None and code not in (known := side_codes(conn)):
        raise InvalidParameter(f"unknown side '{code}': known sides are {', '.join(sorted(known)) or 'none'}",
                               parameter="side")


def get_or_create_source(conn: Connection, slug: str, name: str | None = None, kind: str = "osint",
                         url: str | None = None) -> int:
    """The id of the source ``slug``, created (with ``kind`` and ``url``) when unknown."""
    stmt = pg_insert(sources).values(slug=slug, name=name or slug, kind=kind, url=url).on_conflict_do_nothing()
    conn.execute(stmt)
    return conn.execute(select(sources.c.id).where(sources.c.slug == slug)).scalar_one()


def find_batch(conn: Connection, digest: str) -> int | None:
    """The id of an earlier import with this content hash, if any."""
    return conn.execute(select(imports.c.id).where(imports.c.content_hash == digest)).scalar_one_or_none()


def add_batch(conn: Connection, **values: Any) -> int:
    """Record an import batch; return its id."""
    return conn.execute(insert(imports).values(**values).returning(imports.c.id)).scalar_one()


# -- sources by name ----------------------------------------------------------------------------------------

def normalized(name: str) -> str:
    """A source name or slug compared as people mean it: case, spaces and punctuation ignored."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _similar(a: str, b: str) -> bool:
    """Alike enough to be a typo or a shortening of the other: most of one is the other (so "deepstate" is
    close to "deepstatemap", but "isw" is not close to "atlantiswatch")."""
    if not (a and b):
        return False
    shorter, longer = sorted((a, b), key=len)
    contained = shorter in longer and len(shorter) >= 0.6 * len(longer)
    return contained or difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


def resolve_source(conn: Connection, given: str, parameter: str = "source") -> str | None:
    """The slug of the existing source whose slug or name is ``given`` (case and punctuation ignored).

    None when nothing is alike; InvalidParameter naming the existing source when one is alike but not the
    same (``DeepStateMaps``, ``deepstate``), so one publisher never becomes two sources by a typo.
    """
    wanted = normalized(given)
    rows = conn.execute(select(sources.c.slug, sources.c.name)).all()
    for slug, name in rows:
        if wanted in (normalized(slug), normalized(name)):
            return str(slug)
    near = [f"{slug} ({name})" for slug, name in rows
            if _similar(wanted, normalized(slug)) or _similar(wanted, normalized(name))]
    if near:
        raise InvalidParameter(f"{parameter}: '{given}' is not a source, but it is close to {', '.join(near)}: "
                               "use that one", parameter=parameter)
    return None


def source_choices(conn: Connection) -> str:
    """The known sources, for an error message."""
    return ", ".join(f"{slug} ({name})" for slug, name in conn.execute(
        select(sources.c.slug, sources.c.name).order_by(sources.c.slug)))


# -- claim series -------------------------------------------------------------------------------------------

#: What describes a series for people (and which series it yields to), as opposed to what it is.
DESCRIBED = ("title", "short_title", "same_ground_as", "notes")


def upsert_series(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Record claim series (key, source_id, side_code, status, layer; optionally title, short_title,
    same_ground_as, notes).

    A title or preference given here replaces the stored one; one not given leaves it as it is.
    """
    if not rows:
        return
    full = [{**dict.fromkeys(DESCRIBED), **row} for row in rows]
    stmt = pg_insert(series).values(full)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={
        c: func.coalesce(stmt.excluded[c], series.c[c]) for c in DESCRIBED}))


def series_keys(conn: Connection) -> set[str]:
    """The keys of every claim series."""
    return set(conn.execute(select(series.c.key)).scalars())


def describe_series(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Set the title and preference of series that exist (a profile's, before any of its files is read)."""
    for row in rows:
        values = {c: row[c] for c in DESCRIBED if row.get(c) is not None}
        if values:
            conn.execute(update(series).where(series.c.key == row["key"]).values(**values))


def edit_series(conn: Connection, key: str, values: dict[str, Any]) -> None:
    """Set a series' title, notes or preference (a reference row, like a source's name: not versioned)."""
    conn.execute(update(series).where(series.c.key == key).values(**values))
