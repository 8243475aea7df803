"""Editors' writes: validated like the importer, appended as versions, audited, guarded by If-Match.

Nothing is updated in place. Adding a thing inserts its first version; a correction inserts a new version and
closes the current one (transaction time); a retraction only closes it. Each write names the version it
changes (If-Match with the version tag a GET returned), so two editors never overwrite each other silently:
the second gets 412 and must look again. Every write is audited in the same transaction, under the token name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import Connection

from app.auth import Caller
from app.db import history, reference, tokens
from app.errors import (
    Conflict,
    InvalidParameter,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from app.schemas import SeriesPatch, Writable, WriteBody
from app.services.geometry import prepare_geometry


@dataclass(frozen=True)
class Written:
    """The outcome of a write: the key, its current rows and their version tag, and any geometry repair."""

    key: str
    row_ids: list[int]
    tag: str
    repaired: str | None = None


def _locked_rows(conn: Connection, writable: Writable, key: str) -> list[int]:
    """A key's current rows, the key locked until the transaction ends (writers of one key queue)."""
    history.lock_keys(conn, writable.table, [key])
    return history.current_rows(conn, writable.table, key)


def _check_version(if_match: str | None, ids: list[int], key: str, again: str) -> None:
    """428 without If-Match; 412 when it names another version than the current one."""
    if if_match is None:
        raise PreconditionRequired("If-Match is required: send the ETag of the version you are changing "
                                   "(GET the item first)", field="If-Match")
    tag = history.version_tag(ids)
    if if_match.strip() != "*" and tag not in (t.strip() for t in if_match.split(",")):
        raise PreconditionFailed(f"'{key}' has changed since you read it: {again}", field="If-Match")


def _row(conn: Connection, body: WriteBody, geom: shapely.Geometry | None) -> dict[str, Any]:
    try:
        slug = reference.resolve_source(conn, body.source)
    except InvalidParameter as exc:
        raise Unprocessable(exc.detail, field="source") from None
    if slug is None:
        raise Unprocessable(f"source: unknown source '{body.source}'; sources are {reference.source_choices(conn)}",
                            field="source")
    body = body.model_copy(update={"source": slug})  # by name or slug, stored by slug
    source_id = reference.source_ids(conn)[slug]
    side = getattr(body, "side", None)
    if side is not None and side not in reference.side_codes(conn):
        raise Unprocessable(f"side: unknown side '{side}'", field="side")
    return {**body.to_row(geom), "source_id": source_id, "notes": body.notes, "properties": body.attributes}


def create(conn: Connection, caller: Caller, writable: Writable, body: WriteBody, geojson: dict[str, Any] | None,
           max_vertices: int) -> Written:
    """Add a new thing; 409 when its key already has a current version (correct it instead)."""
    geom, repaired = prepare_geometry(writable.model.geometry, geojson, max_vertices)
    row = _row(conn, body, geom)
    if _locked_rows(conn, writable, row["key"]):
        raise Conflict(f"'{row['key']}' exists already: correct it with PUT and If-Match", field="key")
    history.record_versions(conn, writable.table, [row], None)
    ids = history.current_rows(conn, writable.table, row["key"])
    tokens.record(conn, caller.name, "create", writable.name, row["key"], ids, {"repaired": repaired})
    return Written(row["key"], ids, history.version_tag(ids), repaired)


def correct(conn: Connection, caller: Caller, writable: Writable, key: str, if_match: str | None, body: WriteBody,
            geojson: dict[str, Any] | None, max_vertices: int) -> Written:
    """Replace a thing's current version with a new one (the old one is closed, never lost)."""
    geom, repaired = prepare_geometry(writable.model.geometry, geojson, max_vertices)
    row = _row(conn, body, geom)
    if row["key"] != key:
        raise Unprocessable(f"key: the body says '{row['key']}', the URL '{key}'", field="key")
    ids = _locked_rows(conn, writable, key)
    if not ids:
        raise Conflict(f"'{key}' has no current version (retracted?): add it with POST", field="key")
    _check_version(if_match, ids, key, "GET it again and reapply your change")
    counts = history.record_versions(conn, writable.table, [row], None)
    new_ids = history.current_rows(conn, writable.table, key)
    if counts.inserted:
        tokens.record(conn, caller.name, "correct", writable.name, key, new_ids,
                      {"superseded": ids, "repaired": repaired})
    return Written(key, new_ids, history.version_tag(new_ids), repaired)


def retract(conn: Connection, caller: Caller, writable: Writable, key: str, if_match: str | None,
            reason: str | None) -> None:
    """Withdraw a thing: its current version is closed (kept in history), no new version is added."""
    ids = _locked_rows(conn, writable, key)
    if not ids:
        raise Conflict(f"'{key}' has no current version (retracted already?)", field="key")
    _check_version(if_match, ids, key, "GET it again")
    history.close_rows(conn, writable.table, ids)
    tokens.record(conn, caller.name, "retract", writable.name, key, ids, {"reason": reason})


def describe_series(conn: Connection, caller: Caller, key: str, patch: SeriesPatch) -> None:
    """Give a claim series a title, notes, or the series it yields to (audited); 404/422 naming the problem."""
    known = reference.series_keys(conn)
    if key not in known:
        raise NotFound(f"no series '{key}' (see /series)")
    values = patch.model_dump(exclude_unset=True)
    target = values.get("same_ground_as")
    if target == "":
        values["same_ground_as"] = None
    elif target is not None and (target not in known or target == key or target.split("/")[0] != key.split("/")[0]):
        raise Unprocessable(f"same_ground_as: '{target}' is not another series of the same source",
                            field="same_ground_as")
    if not values:
        raise Unprocessable("nothing to change: give title, short_title, same_ground_as or notes", field="body")
    reference.edit_series(conn, key, values)
    tokens.record(conn, caller.name, "correct", "series", key, [], values)
