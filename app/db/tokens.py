"""API tokens and the audit log: the queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from app.db.models import ApiToken, AuditEntry, table_of

tokens = table_of(ApiToken)
audit = table_of(AuditEntry)


def add_token(conn: Connection, name: str, scope: str, token_hash: str) -> None:
    """Store a new token's hash."""
    conn.execute(insert(tokens).values(name=name, scope=scope, token_hash=token_hash))


def token_by_hash(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """The token with this hash: name, scope, revoked_at (None when unknown)."""
    row = conn.execute(select(tokens.c.name, tokens.c.scope, tokens.c.revoked_at)
                       .where(tokens.c.token_hash == token_hash)).first()
    return dict(row._mapping) if row else None


def list_tokens(conn: Connection) -> list[dict[str, Any]]:
    """Every token (never its secret): name, scope, created and revoked times."""
    stmt = select(tokens.c.name, tokens.c.scope, tokens.c.created_at, tokens.c.revoked_at).order_by(tokens.c.id)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def token_exists(conn: Connection, name: str) -> bool:
    """Whether a token of this name exists (revoked or not)."""
    return conn.execute(select(tokens.c.id).where(tokens.c.name == name)).first() is not None


def revoke_token(conn: Connection, name: str) -> bool:
    """Revoke a token by name; False when there is no such live token."""
    result = conn.execute(update(tokens).where(tokens.c.name == name, tokens.c.revoked_at.is_(None))
                          .values(revoked_at=func.now()))
    return result.rowcount == 1


def record(conn: Connection, token_name: str, action: str, collection: str, key: str, row_ids: list[int],
           detail: dict[str, Any] | None = None) -> None:
    """Add an audit entry, in the same transaction as the write it describes."""
    conn.execute(insert(audit).values(token_name=token_name, action=action, collection=collection, key=key,
                                      row_ids=row_ids, detail=detail or {}))


def audit_page(conn: Connection, *, token_name: str | None, since: datetime | None, limit: int,
               offset: int) -> tuple[list[dict[str, Any]], int]:
    """Audit entries, newest first, one page of them, and how many match."""
    where = []
    if token_name:
        where.append(audit.c.token_name == token_name)
    if since:
        where.append(audit.c.at >= since)
    rows = conn.execute(select(audit, func.count().over().label("matched")).where(*where)
                        .order_by(audit.c.id.desc()).limit(limit).offset(offset)).all()
    matched = rows[0].matched if rows else conn.execute(select(func.count()).select_from(audit).where(*where)
                                                        ).scalar_one()
    return [{k: v for k, v in r._mapping.items() if k != "matched"} for r in rows], matched
