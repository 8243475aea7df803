"""Reference data (sides, sources) and import batches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.models import imports, sides, sources
from app.errors import InvalidParameter


def upsert_sides(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert sides, or refresh their display name and colour."""
    stmt = pg_insert(sides).values(rows)
    conn.execute(stmt.on_conflict_do_update(index_elements=["code"],
                                            set_={"name": stmt.excluded.name, "color": stmt.excluded.color}))


def upsert_sources(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert sources, or refresh their description; return slug → id."""
    stmt = pg_insert(sources).values(rows)
    refreshed = {c: stmt.excluded[c] for c in ("name", "kind", "side_code", "url", "notes")}
    conn.execute(stmt.on_conflict_do_update(index_elements=["slug"], set_=refreshed))
    return source_ids(conn)


def source_ids(conn: Connection) -> dict[str, int]:
    """Every source's slug → id."""
    return {slug: id_ for slug, id_ in conn.execute(select(sources.c.slug, sources.c.id))}


def side_codes(conn: Connection) -> set[str]:
    """The codes of the known sides."""
    return set(conn.execute(select(sides.c.code)).scalars())


def require_side(conn: Connection, code: str | None) -> None:
    """Refuse a side that is not in the sides table (sides are never created implicitly)."""
    if code is not None and code not in (known := side_codes(conn)):
        raise InvalidParameter(f"unknown side '{code}': known sides are {', '.join(sorted(known)) or 'none'}",
                               parameter="side")


def get_or_create_source(conn: Connection, slug: str, name: str | None = None, kind: str = "osint") -> int:
    """The id of the source ``slug``, created (with ``kind``) when unknown."""
    stmt = pg_insert(sources).values(slug=slug, name=name or slug, kind=kind).on_conflict_do_nothing()
    conn.execute(stmt)
    return conn.execute(select(sources.c.id).where(sources.c.slug == slug)).scalar_one()


def find_batch(conn: Connection, digest: str) -> int | None:
    """The id of an earlier import with this content hash, if any."""
    return conn.execute(select(imports.c.id).where(imports.c.content_hash == digest)).scalar_one_or_none()


def add_batch(conn: Connection, **values: Any) -> int:
    """Record an import batch; return its id."""
    return conn.execute(insert(imports).values(**values).returning(imports.c.id)).scalar_one()
