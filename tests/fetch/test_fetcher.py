"""The fetch service on its own (app.services.fetch): retries with a short backoff, what is rejected and why,
the cache's .part files, the memory of missing days, and fetch_and_import against a fresh database."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from app.services.fetch import (
    Fetcher,
    Remote,
    Unreachable,
    archives_named,
    cached_days,
    catalogue,
    check_geojson,
    fetch_and_import,
)
from app.settings import Settings
from tests.helpers import (
    DAILY_DAYS,
    ISW_DAYS,
    RAW_DIR,
    RAW_TIMES,
    Archives,
    Mirror,
    daily_path,
    fetched_series,
    free_port,
    imported_files,
    isw_path,
    only,
    raw_path,
    synthetic_imports,
    synthetic_series,
    write_mirror,
)

AUGUST = (date(2024, 8, 1), date(2024, 8, 5))


def fetcher(mirror: Mirror, data_dir: Path, client: httpx.Client | None = None) -> Fetcher:
    """A fetcher of the mirror: 3 attempts with a backoff of milliseconds, so retries cost nothing."""
    return Fetcher(data_dir, mirror.url, client, attempts=3, backoff=0.001)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def test_a_5xx_that_succeeds_on_retry_is_fetched_and_reported_as_retried(mirror: Mirror, data_dir: Path,
                                                                         synthetic: Archives) -> None:
    path = daily_path(DAILY_DAYS[1])
    mirror.fail(path, times=2)
    report = fetcher(mirror, data_dir).fetch(catalogue()["deepstate-daily"], *AUGUST)
    assert report.retried == [f"{path} (3 attempts)"]
    assert Counter(mirror.file_requests())[path] == 3
    assert path in report.downloaded and not report.failed and not report.rejected
    assert (data_dir / "archives" / "deepstate-daily" / path).read_bytes() == synthetic["deepstate-daily"][path]
    assert report.missing == [daily_path(date(2024, 8, 3))]


def test_a_timeout_is_retried_like_a_5xx(mirror: Mirror, data_dir: Path) -> None:
    path = isw_path(ISW_DAYS[0])
    mirror.stall(path, seconds=1.0, times=1)
    client = httpx.Client(timeout=httpx.Timeout(0.3, connect=2.0))
    report = fetcher(mirror, data_dir, client=client).fetch(catalogue()["isw-kursk"], ISW_DAYS[0], ISW_DAYS[0])
    assert report.retried == [f"{path} (2 attempts)"] and report.downloaded == [path]


def test_a_5xx_that_never_ends_fails_that_file_only_and_is_asked_again_next_time(mirror: Mirror,
                                                                                  data_dir: Path) -> None:
    path = daily_path(DAILY_DAYS[2])
    mirror.fail(path)
    daily = catalogue()["deepstate-daily"]
    report = fetcher(mirror, data_dir).fetch(daily, *AUGUST)
    assert report.failed == [f"{path}: HTTP 500 after 3 attempts"]
    assert Counter(mirror.file_requests())[path] == 3
    assert sorted(report.downloaded) == sorted(daily_path(d) for d in DAILY_DAYS if d != DAILY_DAYS[2])
    assert not (data_dir / "archives" / "deepstate-daily" / path).exists()
    assert [p.name for p in report.paths] == [daily_path(d).split("/")[1] for d in DAILY_DAYS if d != DAILY_DAYS[2]]

    mirror.reset()
    again = fetcher(mirror, data_dir).fetch(daily, *AUGUST)
    assert mirror.file_requests() == [path]  # a failure is not a missing day: it is asked for again
    assert again.downloaded == [path] and again.cached == 3


@pytest.mark.parametrize(("fault", "reason"), [
    ("truncated", "not JSON (unexpected end of data"),
    ("html", "not JSON (unexpected character"),
    ("json", "JSON but not a GeoJSON FeatureCollection"),
    ("geometry", "JSON but not a GeoJSON FeatureCollection"),
])
def test_a_broken_body_is_rejected_named_and_never_cached(mirror: Mirror, data_dir: Path, fault: str,
                                                          reason: str) -> None:
    path = raw_path(RAW_TIMES[2])
    if fault == "truncated":
        mirror.truncate(path)
    else:
        mirror.replace(path, {"html": b"<!DOCTYPE html><html><body>Not here</body></html>",
                              "json": b'{"message": "Not Found", "documentation_url": "https://docs.github.com"}',
                              "geometry": b'{"type": "Polygon", "coordinates": []}'}[fault])
    raw = catalogue()["deepstate-raw"]
    report = fetcher(mirror, data_dir).fetch(raw, date(2024, 8, 1), date(2024, 9, 30))
    [rejected] = report.rejected
    assert rejected.startswith(f"{path}: {reason}"), rejected
    assert sorted(report.downloaded) == [raw_path(RAW_TIMES[1]), raw_path(RAW_TIMES[3])]
    cache = data_dir / "archives" / "deepstate-raw"
    assert not (cache / path).exists() and not list(cache.rglob("*.part"))
    assert not list(cache.glob("missing-*.json"))  # rejected is not missing: the next run asks again

    mirror.reset()
    again = fetcher(mirror, data_dir).fetch(raw, date(2024, 8, 1), date(2024, 9, 30))
    assert again.downloaded == [path] and mirror.file_requests() == [path]


def test_a_part_file_left_by_an_interrupted_run_is_removed_and_the_file_fetched_whole(
        mirror: Mirror, data_dir: Path, synthetic: Archives) -> None:
    path = isw_path(ISW_DAYS[0])
    target = data_dir / "archives" / "isw-kursk" / path
    target.parent.mkdir(parents=True)
    target.with_name(target.name + ".part").write_bytes(synthetic["isw-kursk"][path][:100])
    report = fetcher(mirror, data_dir).fetch(catalogue()["isw-kursk"], ISW_DAYS[0], ISW_DAYS[0])
    assert report.downloaded == [path]
    assert target.read_bytes() == synthetic["isw-kursk"][path]
    assert not list(target.parent.glob("*.part"))


def test_the_listing_of_a_mirror_gives_each_file_its_day(mirror: Mirror, data_dir: Path) -> None:
    remotes = fetcher(mirror, data_dir).remote_files(catalogue()["deepstate-raw"], date(2014, 1, 1),
                                                     date(2030, 1, 1))
    assert [(r.path, r.day, r.url) for r in remotes] == [
        (raw_path(t), d, f"{mirror.url}{raw_path(t)}")
        for t, d in zip(RAW_TIMES, [date(2024, 7, 15), date(2024, 8, 8), date(2024, 8, 20), date(2024, 9, 1)],
                        strict=True)]
    assert cached_days(data_dir, catalogue()["deepstate-raw"]) == (0, None)


def test_a_mirror_that_is_down_raises_unreachable_naming_the_host(data_dir: Path) -> None:
    port = free_port()
    down = Fetcher(data_dir, f"http://127.0.0.1:{port}/", attempts=3, backoff=0.001)
    for name in ("deepstate-daily", "deepstate-raw"):
        with pytest.raises(Unreachable) as raised:
            down.fetch(catalogue()[name], *AUGUST)
        assert raised.value.detail.startswith(f"127.0.0.1:{port}: ") and "refused" in raised.value.detail
    assert not (data_dir / "archives").exists() or not any((data_dir / "archives").rglob("*.*"))


def test_check_geojson_checks_the_listings_size_and_git_hash() -> None:
    body = b'{"type": "FeatureCollection", "features": []}'
    blob = hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()  # `git hash-object` of the file
    remote = Remote("geojsons/1724184993.geojson", date(2024, 8, 20), "https://example.org/x", len(body), blob)
    assert check_geojson(body, remote) is None
    assert check_geojson(body[:-1], remote) == f"{len(body) - 1:,} bytes where the listing says {len(body):,} " \
                                               "(truncated?)"
    changed = body.replace(b"[]", b"{}")
    assert check_geojson(changed, remote) == "content differs from the listing's git hash"


def test_fetch_and_import_imports_what_came_and_leaves_out_what_did_not(
        mirror: Mirror, engine_of: tuple[Settings, Engine], synthetic: Archives) -> None:
    settings, engine = engine_of
    failing, truncated = daily_path(DAILY_DAYS[0]), isw_path(ISW_DAYS[1])
    mirror.fail(failing)
    mirror.truncate(truncated)
    runs = fetch_and_import(engine, fetcher(mirror, settings.data_dir), archives_named(
        ["deepstate-daily", "deepstate-raw", "isw-kursk"]), date(2024, 7, 1), date(2025, 8, 31))
    assert [r.fetched.archive for r in runs] == ["deepstate-daily", "deepstate-raw", "isw-kursk"]
    assert runs[0].fetched.failed == [f"{failing}: HTTP 500 after 3 attempts"]
    assert [r.split(":")[0] for r in runs[2].fetched.rejected] == [truncated]
    assert all(report.outcome == "imported" for run in runs for report in run.imported or [])
    came = only(synthetic, lambda p: p not in {failing, truncated})
    assert imported_files(str(settings.database_url)) == synthetic_imports(came)
    assert fetched_series(str(settings.database_url)) == synthetic_series(came)

    mirror.reset()
    again = fetch_and_import(engine, fetcher(mirror, settings.data_dir), archives_named(
        ["deepstate-daily", "deepstate-raw", "isw-kursk"]), date(2024, 7, 1), date(2025, 8, 31))
    assert sorted(mirror.file_requests()) == sorted([failing, truncated])
    outcomes = Counter(report.outcome for run in again for report in run.imported or [])
    assert outcomes == {"imported": 2, "unchanged": sum(len(files) for files in came.values())}
    assert imported_files(str(settings.database_url)) == synthetic_imports(synthetic)


def test_a_mirror_under_a_path_of_its_host_is_used_as_the_base_url(tmp_path: Path, synthetic: Archives) -> None:
    """`--mirror https://mirror.example.org/deepstatemaps-history`: the archive's paths are under that path."""
    root = tmp_path / "www"
    write_mirror(root / "pub" / "deepstatemaps-history", only(synthetic, lambda p: p.startswith(RAW_DIR)))
    mirror = Mirror(root).start()
    try:
        base = f"http://127.0.0.1:{mirror.port}/pub/deepstatemaps-history"  # no trailing slash, as users type it
        report = Fetcher(tmp_path / "state", base, attempts=2, backoff=0.001).fetch(
            catalogue()["deepstate-raw"], date(2024, 8, 1), date(2024, 9, 30))
    finally:
        mirror.stop()
    assert sorted(report.downloaded) == [raw_path(t) for t in RAW_TIMES[1:]]
    assert mirror.listings() == [f"pub/deepstatemaps-history/{RAW_DIR}/"]
