"""On a live server, a committed write from anywhere reaches the cache through NOTIFY."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import create_engine, text

from tests.helpers import LiveServer, add_place

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
