"""The public host's path of a listed archive: GitHub's git trees API lists the branch, each file's size and git
blob hash are checked. A local server stands in for api.github.com and raw.githubusercontent.com (no internet
here); it answers in the shapes those hosts document."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.services.fetch import Fetcher, catalogue

REPO, REF = "DanielRose2310/deepstatemaps-history", "main"
GOOD = b'{"type":"FeatureCollection","features":[]}'
TAMPERED = GOOD.replace(b'features', b'Features')  # same size as GOOD, other bytes


def git_sha(body: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(body) + body, usedforsecurity=False).hexdigest()


# path in the repository -> (bytes served, size listed, hash listed)
FILES = {
    "geojsons/1724184993.geojson": (GOOD, len(GOOD), git_sha(GOOD)),  # 2024-08-20
    "geojsons/1725222208.geojson": (TAMPERED, len(GOOD), git_sha(GOOD)),  # 2024-09-01: not what was listed
    "geojsons/1725828293.geojson": (GOOD[:-5], len(GOOD), git_sha(GOOD)),  # 2024-09-08: cut short
    "geojsons/old/1600000000.geojson": (GOOD, len(GOOD), git_sha(GOOD)),  # a subfolder: not the archive's
    "README.md": (b"# history", 9, git_sha(b"# history")),
}


class GitHub(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == f"/api/repos/{REPO}/git/trees/{REF}?recursive=1":
            tree = [{"path": p, "type": "blob", "size": size, "sha": sha} for p, (_, size, sha) in FILES.items()]
            tree.append({"path": "geojsons", "type": "tree", "sha": "0" * 40})
            self._send(json.dumps({"sha": "1" * 40, "tree": tree, "truncated": False}).encode())
        elif self.path.startswith(f"/raw/{REPO}/{REF}/") and self.path[len(f"/raw/{REPO}/{REF}/"):] in FILES:
            self._send(FILES[self.path[len(f"/raw/{REPO}/{REF}/"):]][0])
        else:
            self.send_error(404)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def github() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), GitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_trees_listing_is_filtered_to_the_archive_and_checked_by_size_and_git_hash(github: str,
                                                                                       tmp_path: Path) -> None:
    archive = catalogue()["deepstate-raw"]
    fetcher = Fetcher(tmp_path, github=(f"{github}/raw", f"{github}/api"), attempts=2, backoff=0.01)
    listed = fetcher.remote_files(archive, date(2024, 1, 1), date(2025, 12, 31))
    assert sorted(r.path for r in listed) == sorted(p for p in FILES if p.count("/") == 1 and p.endswith(".geojson"))
    assert {r.day for r in listed} == {date(2024, 8, 20), date(2024, 9, 1), date(2024, 9, 8)}

    report = fetcher.fetch(archive, date(2024, 1, 1), date(2025, 12, 31))
    assert report.downloaded == ["geojsons/1724184993.geojson"]
    assert sorted(report.rejected) == [
        "geojsons/1725222208.geojson: content differs from the listing's git hash",
        f"geojsons/1725828293.geojson: {len(GOOD) - 5:,} bytes where the listing says {len(GOOD):,} (truncated?)",
    ]
    cache = tmp_path / "archives" / "deepstate-raw"
    assert sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*.geojson")) == ["geojsons/1724184993.geojson"]
    assert (cache / "geojsons/1724184993.geojson").read_bytes() == GOOD
    assert not list(cache.rglob("*.part"))

    again = fetcher.fetch(archive, date(2024, 1, 1), date(2025, 12, 31))
    assert again.downloaded == [] and again.cached == 1  # the good file is not asked for again


def test_a_range_leaves_out_the_files_of_other_days(github: str, tmp_path: Path) -> None:
    fetcher = Fetcher(tmp_path, github=(f"{github}/raw", f"{github}/api"), attempts=2, backoff=0.01)
    report = fetcher.fetch(catalogue()["deepstate-raw"], date(2024, 8, 20), date(2024, 8, 31))
    assert report.files == 1 and report.downloaded == ["geojsons/1724184993.geojson"] and report.rejected == []
