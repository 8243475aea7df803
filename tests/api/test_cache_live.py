"""On a live server, a committed write from anywhere reaches the cache through NOTIFY."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.helpers import FRONTLINE, LiveServer, add_place, free_port

URL = "/collections/places/items"


def test_cache_hits_304s_and_invalidation_by_a_committed_write(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        engine = create_engine(live_server.database_url)
        with engine.connect() as conn:
            places = conn.execute(text("SELECT count(*) FROM places WHERE superseded_at IS NULL")).scalar_one()
        first = http.get(URL)
        etag = first.headers["etag"]
        assert first.json()["numberMatched"] == places
        again = http.get(URL)  # served by the cache middleware: same bytes, same tag
        assert again.content == first.content and again.headers["etag"] == etag
        assert http.get(URL, headers={"If-None-Match": etag}).status_code == 304

        with engine.begin() as conn:  # another process would do the same: `frontline import`, an editor
            add_place(conn, "test-village", "Test village", lon=35.3, lat=51.2)
        engine.dispose()

        deadline = time.monotonic() + 5
        while (response := http.get(URL, headers={"If-None-Match": etag})).status_code == 304:
            assert time.monotonic() < deadline, "the write did not reach the cache within 5 s"
            time.sleep(0.05)
        assert response.status_code == 200 and response.headers["etag"] != etag
        assert response.json()["numberMatched"] == places + 1


def test_cache_hits_carry_the_security_headers_and_cors_still_answers(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        first = http.get("/maps/snapshot?date=2024-09-15")
        hit = http.get("/maps/snapshot?date=2024-09-15")
        assert hit.headers["etag"] == first.headers["etag"]
        for response in (first, hit):
            assert "default-src 'self'" in response.headers["content-security-policy"]
            assert response.headers["x-content-type-options"] == "nosniff"
        json_hit = http.get("/collections")
        json_hit = http.get("/collections")
        assert json_hit.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in json_hit.headers
        cross = http.get("/collections", headers={"Origin": "https://analyst.example"})
        assert cross.headers["access-control-allow-origin"] == "*"
        preflight = http.options("/collections/places/items", headers={
            "Origin": "https://analyst.example", "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 400  # writes from other origins are not allowed by default


def worker_pids(parent: int) -> list[int]:
    """uvicorn's worker processes under ``parent`` (children started by multiprocessing's spawn_main, not its
    resource tracker), from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in command:
            children.append(int(stat.parent.name))
    return children


def test_two_worker_processes_serve_the_same_version_after_a_write(live_server: LiveServer) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": live_server.database_url, "FRONTLINE_FETCH_ON_START": "false"}
    server = subprocess.Popen([FRONTLINE, "serve", "--workers", "2", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    # No keep-alive: each request is a new connection, which the kernel hands to either worker.
    fresh = httpx.Limits(max_keepalive_connections=0)
    try:
        with httpx.Client(base_url=base, limits=fresh, timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/healthz").status_code == 200 and len(worker_pids(server.pid)) >= 2:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None, "the workers did not start"
                time.sleep(0.3)
            assert len(worker_pids(server.pid)) == 2
            pages = [http.get(URL) for _ in range(30)]  # both workers' caches hold the page
            warm = {r.headers["etag"] for r in pages}
            matched = {r.json()["numberMatched"] for r in pages}
            assert len(warm) == 1 and len(matched) == 1
            engine = create_engine(live_server.database_url)
            with engine.begin() as conn:
                add_place(conn, "test-hamlet-workers", "Test hamlet", lon=35.31, lat=51.21)
            engine.dispose()
            deadline = time.monotonic() + 5
            while http.get(URL).headers["etag"] in warm:
                assert time.monotonic() < deadline, "the write did not reach a worker within 5 s"
                time.sleep(0.05)
            time.sleep(0.5)  # NOTIFY reaches every listener well within this
            after = [http.get(URL) for _ in range(30)]
            assert {r.headers["etag"] for r in after}.isdisjoint(warm)
            assert {r.json()["numberMatched"] for r in after} == {matched.pop() + 1}
    finally:
        server.terminate()
        server.wait(20)
