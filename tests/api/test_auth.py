"""Tokens on reads: public by default; with FRONTLINE_REQUIRE_READ_TOKEN, a live token of scope `read` or more.

(Tokens on writes are tested with the writes, in test_writes.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from app.auth import ReaderDep
from app.db import tokens
from app.settings import Settings
from tests.helpers import bearer, client_on, problem

READS = ["/collections/places/items", "/collections/places/items/sudzha", "/control?date=2024-08-20",
         "/stats/area?date=2024-08-20", "/places/sudzha/history", "/maps/snapshot?date=2024-08-20"]


def caller(caller: ReaderDep) -> dict[str, Any]:
    """What app.auth made of the request's token (the endpoint of a probe route added by these tests)."""
    return {"name": caller.name, "scope": caller.scope}


@pytest.fixture
def headers(seeded: Connection, settings: Settings) -> dict[str, dict[str, str]]:
    """Authorization headers: a live read token, a live write token, a revoked read token, an unknown token."""
    found = {"reader": bearer(seeded, settings, "reader", "read"),
             "writer": bearer(seeded, settings, "writer", "write"),
             "revoked": bearer(seeded, settings, "revoked", "read"),
             "unknown": {"Authorization": "Bearer fl_nonsense"}}
    tokens.revoke_token(seeded, "revoked")
    return found


@pytest.fixture
def locked(seeded: Connection, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app with require_read_token on, with a probe route /test-caller that reads through ReaderDep."""
    with client_on(seeded, settings, engine, require_read_token=True) as client:
        client.app.add_api_route("/test-caller", caller, methods=["GET"])  # type: ignore[attr-defined]
        yield client


def test_reads_stay_public_unless_configured(client: TestClient, seeded: Connection, settings: Settings) -> None:
    assert client.app.state.settings.require_read_token is False  # type: ignore[attr-defined]
    assert client.get("/collections/places/items").status_code == 200
    for url in READS:
        assert client.get(url).status_code == 200, url


def test_the_read_dependency_is_open_when_reads_are_public(client: TestClient) -> None:
    client.app.add_api_route("/test-caller", caller, methods=["GET"])  # type: ignore[attr-defined]
    assert client.get("/test-caller").json() == {"name": "anonymous", "scope": "read"}


def test_with_read_tokens_required_the_read_dependency_admits_live_tokens_only(
        locked: TestClient, headers: dict[str, dict[str, str]]) -> None:
    anonymous = problem(locked.get("/test-caller"), 401)
    assert "Bearer" in locked.get("/test-caller").headers["www-authenticate"]
    assert "token" in anonymous["detail"] and "read" in anonymous["detail"]
    assert locked.get("/test-caller", headers=headers["reader"]).json() == {"name": "reader", "scope": "read"}
    assert locked.get("/test-caller", headers=headers["writer"]).json() == {"name": "writer", "scope": "write"}
    for name in ("revoked", "unknown"):
        refused = locked.get("/test-caller", headers=headers[name])
        assert "unknown or revoked" in problem(refused, 401)["detail"], name
        assert "Bearer" in refused.headers["www-authenticate"]


@pytest.mark.parametrize("url", READS)
def test_with_read_tokens_required_every_read_needs_a_live_read_token(
        locked: TestClient, headers: dict[str, dict[str, str]], url: str) -> None:
    anonymous = problem(locked.get(url), 401)
    assert "Bearer" in locked.get(url).headers["www-authenticate"]
    assert "token" in anonymous["detail"]
    assert locked.get(url, headers=headers["reader"]).status_code == 200
    assert locked.get(url, headers=headers["reader"]).status_code == 200  # now a cached answer ...
    problem(locked.get(url), 401)  # ... which a caller without a token still does not get
    problem(locked.get(url, headers=headers["revoked"]), 401)
    problem(locked.get(url, headers=headers["unknown"]), 401)


def test_with_read_tokens_required_liveness_stays_open(locked: TestClient) -> None:
    assert locked.get("/healthz").status_code == 200
