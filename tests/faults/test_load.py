"""Bounded under load: heavy answers share a bounded number of slots (past them, a 503 with Retry-After after a
bounded wait) while cheap requests go on; a runaway statement is stopped by the statement timeout and named."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from app.main import create_app
from app.settings import Settings
from tests.helpers import LiveServer, client_on, problem

HEAVY = "/stats/area/series?start=2024-08-01&end=2024-12-31&source=example"


def test_past_its_slots_a_heavy_request_waits_then_gets_a_503_while_cheap_ones_go_on(
        seeded: Connection, settings: Settings, engine: Engine) -> None:
    with client_on(seeded, settings, engine, heavy_queries=1, heavy_wait_s=0.3) as client:
        slots: threading.BoundedSemaphore = client.app.state.heavy  # type: ignore[attr-defined]
        assert slots.acquire(timeout=1)  # another heavy answer is being built
        try:
            started = time.monotonic()
            busy = client.get(HEAVY)
            waited = time.monotonic() - started
            found = problem(busy, 503)
            assert found["title"] == "Busy" and busy.headers["retry-after"] == "2"
            assert 0.3 <= waited < 2.0  # it waited for a slot, a bounded time
            assert client.get("/healthz").status_code == 200  # cheap requests take no slot
            assert client.get("/collections/places/items?limit=5").status_code == 200
        finally:
            slots.release()
        assert client.get(HEAVY).status_code == 200  # a free slot: answered
        assert client.get(HEAVY).status_code == 200  # the slot was given back


def test_waiting_requests_hold_no_worker_thread_so_cheap_ones_are_answered_before_they_give_up(
        seeded: Connection, settings: Settings, engine: Engine) -> None:
    # More waiters (50) than the server has worker threads (40): if waiting held a thread, /healthz would queue
    # behind them until they gave up with their 503s.
    with client_on(seeded, settings, engine, heavy_queries=1, heavy_wait_s=5) as client:
        slots: threading.BoundedSemaphore = client.app.state.heavy  # type: ignore[attr-defined]
        assert slots.acquire(timeout=1)
        finished: list[int] = []
        waiters = [threading.Thread(target=lambda n=n: finished.append(
            client.get(f"{HEAVY}&max_age={n}").status_code)) for n in range(50)]
        try:
            for waiter in waiters:
                waiter.start()
            time.sleep(0.5)  # let them all reach the wait
            assert client.get("/healthz").status_code == 200
            assert finished == []  # answered while all 50 still waited
        finally:
            slots.release()
        for waiter in waiters:
            waiter.join()
        assert len(finished) == 50 and set(finished) <= {200, 503}


def test_a_runaway_statement_is_stopped_and_named(live_server: LiveServer) -> None:
    # An app of its own over the live server's committed, seeded database, with a 1 ms statement timeout: the
    # series over 4,749 days (30-50 ms here) is stopped.
    settings = Settings(database_url=live_server.database_url, statement_timeout_s=0.001, watch_writes=False)
    app = create_app(settings)
    with TestClient(app) as client:
        long = client.get("/stats/area/series?start=2012-01-01&end=2024-12-31&step=day&source=example")
        found = problem(long, 503)
        assert found["title"] == "Query too long" and found["path"] == "/stats/area/series"
        assert "statement timeout" in found["detail"] and long.headers["retry-after"] == "30"
    app.state.engine.dispose()
