"""Read replicas for real: a second embedded cluster streams the first's WAL (pg_basebackup -R); the API reads
from it, sees its own writes, and goes on reading from the primary while the standby is down."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from app.embedded import DB_NAME, DB_ROLE, EmbeddedCluster
from app.main import create_app
from app.settings import Settings
from tests.helpers import feature, new_temp_dir, seeded_app

PLACES = "/collections/places/items?limit=1"


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[EmbeddedCluster, EmbeddedCluster]]:
    """A primary, migrated and seeded, and its streaming standby, both running."""
    roots = [new_temp_dir("frontline-primary-"), new_temp_dir("frontline-standby-")]
    primary = EmbeddedCluster(roots[0], fsync=False)
    primary.start()
    standby: EmbeddedCluster | None = None
    try:
        seeded_app(Settings(database_url=primary.url, watch_writes=False)).engine.dispose()
        standby = primary.make_standby(roots[1])
        standby.start()
        yield primary, standby
    finally:
        for cluster in (standby, primary):
            if cluster:
                cluster.stop()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


def place(key: str) -> dict[str, Any]:
    return feature([35.3, 51.25], "Point", key=key, source="frontline-editors", name=key, kind="village")


def reads(client: TestClient) -> tuple[int, int, bool]:
    """Reads served by the replica and by the primary so far, and whether the replica is in use."""
    health = client.get("/healthz").json()
    [replica] = health["replicas"]
    return replica["reads"], health["primary_reads"], replica["up"]


def test_reads_use_the_standby_see_their_writes_and_survive_its_outage(
        clusters: tuple[EmbeddedCluster, EmbeddedCluster]) -> None:
    primary, standby = clusters
    settings = Settings(database_url=primary.url, database_read_url=standby.url, replica_retry_s=1.0,
                        replica_lag_wait_s=0.5)
    writer = seeded_app(settings, writer="editor")  # the schema is there: this only adds the token
    writer.engine.dispose()
    headers = {"Authorization": f"Bearer {writer.token}"}
    app = create_app(settings)
    with TestClient(app) as client:
        before = client.get(PLACES).json()["numberMatched"]
        on_replica, on_primary, up = reads(client)
        assert up and on_replica >= 1 and on_primary == 0  # reads go to the standby

        # A write goes to the primary; the next read, on the standby, already sees it.
        assert client.post("/collections/places/items", json=place("replica-hamlet"), headers=headers
                           ).status_code == 201
        assert client.get(PLACES).json()["numberMatched"] == before + 1
        after_write, on_primary, _ = reads(client)
        assert after_write > on_replica and on_primary == 0  # that read was the standby's

        # The standby stops replaying, as a lagging one would: the next read waits replica_lag_wait_s for it,
        # then reads from the primary rather than answer (and cache) without the write.
        with psycopg.connect(host=str(standby.socket_dir), user=DB_ROLE, dbname=DB_NAME, autocommit=True) as sql:
            sql.execute("SELECT pg_wal_replay_pause()")
            assert client.post("/collections/places/items", json=place("lagging-hamlet"), headers=headers
                               ).status_code == 201
            assert client.get(PLACES).json()["numberMatched"] == before + 2
            assert reads(client)[1] > 0  # it came from the primary (none had before)
            sql.execute("SELECT pg_wal_replay_resume()")

        # The standby goes down: no read fails; they go to the primary, which has every write.
        standby.stop()
        assert client.get(PLACES + "&offset=0").status_code == 200
        assert client.post("/collections/places/items", json=place("outage-hamlet"), headers=headers
                           ).status_code == 201
        assert client.get(PLACES).json()["numberMatched"] == before + 3
        _, on_primary, up = reads(client)
        assert not up and on_primary >= 2

        # Back up: after replica_retry_s it is used again, and it has streamed what it missed.
        standby.start()
        deadline = time.monotonic() + 30
        while not reads(client)[2]:
            assert time.monotonic() < deadline, "the standby was not taken back"
            time.sleep(0.3)
        on_replica, on_primary, _ = reads(client)
        assert client.get(PLACES + "&offset=0&limit=2").json()["numberMatched"] == before + 3
        assert reads(client)[0] > on_replica
    app.state.engine.dispose()
