"""Faults on a real server over a real cluster: the database stops and comes back, a write is cut off half-way,
imports and editors write the same claim at once."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from app.embedded import EmbeddedCluster
from app.services.importer import ImportOptions, import_file
from app.settings import Settings
from tests.helpers import SQUARE, count, feature, new_temp_dir, seeded_app, serving, write_geojson


@dataclass
class Stack:
    """A cluster of its own, a migrated and seeded database, a live server and a write token."""

    cluster: EmbeddedCluster
    engine: Engine
    url: str
    token: str
    settings: Settings


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    data_dir = new_temp_dir("frontline-faults-")
    cluster = EmbeddedCluster(data_dir, fsync=False)
    cluster.start()
    settings = Settings(database_url=cluster.url, data_dir=data_dir)
    seeded = seeded_app(settings, writer="fault-editor")
    assert seeded.token
    with serving(seeded.app, log_level="critical") as url:
        yield Stack(cluster, seeded.engine, url, seeded.token, settings)
    seeded.engine.dispose()
    cluster.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def rows(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return count(conn, table)


def test_database_outage_gives_clean_503s_and_the_app_recovers_by_itself(stack: Stack) -> None:
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(base_url=stack.url, timeout=10) as http:
            n = 0
            while not stop.is_set():
                n += 1  # a new query each time: never a cache hit
                response = http.get(f"/stats/area?date=2024-09-{n % 28 + 1:02d}&max_age={n % 36000}")
                statuses[response.status_code] += 1
                if response.status_code == 503:
                    assert response.headers["content-type"] == "application/problem+json"
                    assert "database" in response.json()["detail"].lower()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    stack.cluster.stop()
    time.sleep(2.0)
    during = Counter(statuses)
    stack.cluster.start()
    deadline = time.monotonic() + 20
    with httpx.Client(base_url=stack.url, timeout=10) as http:
        while http.get("/stats/area?date=2024-10-01&max_age=36000").status_code != 200:
            assert time.monotonic() < deadline, "the app did not recover within 20 s of the database's return"
            time.sleep(0.2)
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {200, 503}, statuses  # nothing but answers and clean outages: no 500, no hang
    assert during[503] > 0 and statuses[200] > during[200]


def test_a_write_cut_off_half_way_leaves_no_partial_rows(stack: Stack) -> None:
    # The audit row is written last, inside the same transaction as the area: hold the transaction there and
    # kill its connection, as a crash or a network cut would.
    with stack.engine.begin() as conn:
        conn.execute(text("CREATE FUNCTION slow_audit() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$ BEGIN PERFORM pg_sleep(3); RETURN NEW; END $$"))
        conn.execute(text("CREATE TRIGGER slow_audit BEFORE INSERT ON audit_log FOR EACH ROW "
                          "EXECUTE FUNCTION slow_audit()"))
    before = (rows(stack.engine, "control_areas"), rows(stack.engine, "audit_log"))
    body = feature([SQUARE], source="isw", side="RU", status="assessed", valid_from="2024-10-02")
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(httpx.post, f"{stack.url}/collections/control-areas/items", json=body,
                                  headers={"Authorization": f"Bearer {stack.token}"}, timeout=20)
            time.sleep(1.0)
            with stack.engine.connect() as conn:
                killed = conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE '%audit_log%' AND pid <> pg_backend_pid()")).scalar_one()
            response = pending.result()
        assert killed == 1
        assert response.status_code == 503 and response.headers["content-type"] == "application/problem+json"
        assert (rows(stack.engine, "control_areas"), rows(stack.engine, "audit_log")) == before
    finally:
        with stack.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER slow_audit ON audit_log; DROP FUNCTION slow_audit()"))


def test_concurrent_imports_and_editors_keep_one_history(stack: Stack, tmp_path: Path) -> None:
    day, key = "2024-10-03", "isw/RU/assessed/-/2024-10-03"
    files = []
    for n in range(6):  # six publications of the same claim, each a slightly different square
        ring = [[x + n * 0.01, y] for x, y in SQUARE]
        folder = tmp_path / f"p{n}"
        folder.mkdir()
        files.append(write_geojson(folder / f"{day}.geojson", feature([ring])))
    options = ImportOptions("isw", "RU", "assessed")

    def importer(path: Path) -> str:
        with stack.engine.connect() as conn:
            outcome = import_file(conn, path, options).outcome
            conn.commit()
        return outcome

    def editor(n: int) -> list[int]:
        """Write the claim as an editor would: read, write with the tag read, and on 409/412 read again."""
        body = feature([[[x, y + n * 0.01] for x, y in SQUARE]], source="isw", side="RU", status="assessed",
                       valid_from=day, key=key)
        answers: list[int] = []
        with httpx.Client(base_url=stack.url, timeout=30) as http:
            while not answers or answers[-1] in (409, 412):
                assert len(answers) < 30, answers
                headers = {"Authorization": f"Bearer {stack.token}"}
                current = http.get(f"/collections/control-areas/items/{key}")
                if current.status_code == 404:
                    answers.append(http.post("/collections/control-areas/items", json=body, headers=headers)
                                   .status_code)
                else:
                    headers["If-Match"] = current.headers["etag"]
                    answers.append(http.put(f"/collections/control-areas/items/{key}", json=body,
                                            headers=headers).status_code)
        return answers

    with ThreadPoolExecutor(8) as pool:
        imports = [pool.submit(importer, path) for path in files]
        edits = [pool.submit(editor, n) for n in range(6)]
        outcomes = [f.result() for f in imports]
        answers = [f.result() for f in edits]
    assert outcomes == ["imported"] * 6
    # Every editor got through in the end; a stale write was refused (409/412) and retried, never applied.
    assert all(a[-1] in (200, 201) and set(a[:-1]) <= {409, 412} for a in answers), answers
    with stack.engine.connect() as conn:
        versions = conn.execute(text(
            "SELECT recorded_at, superseded_at FROM control_areas WHERE key = :key ORDER BY id"), {"key": key}).all()
    current = [v for v in versions if v.superseded_at is None]
    assert len(current) == 1, "two writers both made their version current"
    closed = sorted(v.superseded_at for v in versions if v.superseded_at is not None)
    assert len(closed) == len(versions) - 1 and all(v.recorded_at <= (v.superseded_at or v.recorded_at)
                                                    for v in versions)
