"""`frontline fetch` as a user runs it, against a local mirror of the three public archives (synthetic files):
what is cached and imported, what a second run asks and writes, missing days, 5xx, broken bodies, a server
that goes away mid-run, the day range and bad options."""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

from tests.helpers import (
    DAILY_DAYS,
    FRONTLINE,
    ISW_DAYS,
    ISW_DIR,
    RAW_DIR,
    RAW_TIMES,
    ROWS_PER_FILE,
    Archives,
    Mirror,
    Store,
    cache_of,
    daily_path,
    fetched_series,
    frontline,
    imported_files,
    isw_layer,
    isw_path,
    only,
    raw_path,
    synthetic_imports,
    synthetic_series,
    table_rows,
    written,
)

ARCHIVES = ("deepstate-daily", "deepstate-raw", "isw-kursk")
DAILY_FIRST_DAY = date(2024, 7, 8)  # deepstate-daily's first_day in app/archives/archives.toml


def geojson_in_cache(store: Store) -> dict[str, set[str]]:
    """The GeoJSON files cached per archive (the memory of missing days left out)."""
    return {name: {p for p in paths if p.endswith(".geojson")} for name, paths in cache_of(store.data_dir).items()}


def parts_left(store: Store) -> list[Path]:
    """Partial downloads left in the cache."""
    return list((store.data_dir / "archives").rglob("*.part"))


def expected_cache(archives: Archives) -> dict[str, set[str]]:
    return {name: set(files) for name, files in archives.items()}


def cache_state(store: Store) -> dict[str, tuple[int, int]]:
    """Every cached file's size and modification time: what a run that writes nothing leaves alone."""
    root = store.data_dir / "archives"
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*.geojson")}


def test_a_full_fetch_caches_every_file_at_its_path_and_imports_it(mirror: Mirror, store: Store,
                                                                   synthetic: Archives) -> None:
    ran = frontline(store.env, "fetch", *ARCHIVES, "--mirror", mirror.url)
    assert ran.code == 0, ran.text
    assert geojson_in_cache(store) == expected_cache(synthetic)
    for name, files in synthetic.items():  # the cache holds the mirror's bytes, at the repository's paths
        for path, body in files.items():
            assert (store.data_dir / "archives" / name / path).read_bytes() == body
    assert not parts_left(store)
    assert imported_files(store.database_url) == synthetic_imports(synthetic)  # each file once, all its rows
    assert fetched_series(store.database_url) == synthetic_series(synthetic)

    summary = table_rows(ran.stdout, "archive")
    days_asked = (date.today() - DAILY_FIRST_DAY).days + 1  # no --until: every day to today
    assert summary["deepstate-daily"] | {"MB": ""} == {
        "archive": "deepstate-daily", "files": str(days_asked), "had": "0", "new": "4", "MB": "",
        "404": str(days_asked - 4), "retried": "0", "rejected": "0", "failed": "0", "imported": "4",
        "unchanged": "0", "rows": "4"}
    for name in ("deepstate-raw", "isw-kursk"):
        row = summary[name]
        assert (row["files"], row["had"], row["new"], row["404"], row["imported"], row["rows"]) == (
            "4", "0", "4", "0", "4", str(4 * ROWS_PER_FILE[name]))
    assert "deepstate-daily: missing (the archive has no such day): data/deepstatemap_data_20240708.geojson" \
        in ran.text

    listed = frontline(store.env, "archives")
    assert listed.code == 0, listed.text
    shown = table_rows(listed.stdout, "name")
    latest = {"deepstate-daily": max(DAILY_DAYS), "deepstate-raw": date(2024, 9, 1), "isw-kursk": max(ISW_DAYS)}
    for name in ARCHIVES:
        assert (shown[name]["fetched"], shown[name]["latest day"]) == ("4", latest[name].isoformat()), shown[name]
        assert shown[name]["profile"] == name


def test_a_second_run_downloads_and_writes_nothing(mirror: Mirror, store: Store, synthetic: Archives) -> None:
    first = frontline(store.env, "fetch", *ARCHIVES, "--mirror", mirror.url)
    assert first.code == 0, first.text
    rows, cached = written(store.database_url), cache_state(store)
    mirror.reset()

    again = frontline(store.env, "fetch", *ARCHIVES, "--mirror", mirror.url)
    assert again.code == 0, again.text
    # Only the directory indexes, and the last 7 days of the dated archive (a day may be published late):
    # no file is downloaded again and no day known to be missing is asked again.
    recent = {daily_path(date.today() - timedelta(days=n)) for n in range(8)}
    assert sorted(mirror.listings()) == [f"{ISW_DIR}/", f"{RAW_DIR}/"]
    assert set(mirror.file_requests()) == recent and len(mirror.file_requests()) == len(recent)
    assert written(store.database_url) == rows  # no import, no control area
    assert cache_state(store) == cached
    summary = table_rows(again.stdout, "archive")
    for name in ARCHIVES:
        assert (summary[name]["had"], summary[name]["new"], summary[name]["imported"], summary[name]["unchanged"],
                summary[name]["rows"]) == ("4", "0", "0", "4", "0"), summary[name]


def test_missing_days_are_counted_and_named_and_not_asked_again(mirror: Mirror, store: Store,
                                                                synthetic: Archives) -> None:
    hidden = raw_path(RAW_TIMES[2])  # listed, yet the mirror answers 404
    mirror.hide(hidden)
    args = ("fetch", "deepstate-daily", "deepstate-raw", "--since", "2024-08-01", "--until", "2024-08-31",
            "--mirror", mirror.url)
    ran = frontline(store.env, *args)
    assert ran.code == 0, ran.text
    summary = table_rows(ran.stdout, "archive")
    assert (summary["deepstate-daily"]["files"], summary["deepstate-daily"]["404"]) == ("31", "27")
    assert (summary["deepstate-raw"]["files"], summary["deepstate-raw"]["404"]) == ("2", "1")
    assert "deepstate-daily: missing (the archive has no such day): data/deepstatemap_data_20240803.geojson" \
        in ran.text
    assert f"deepstate-raw: missing (the archive has no such day): {hidden}" in ran.text
    august = only(synthetic, lambda p: p in {daily_path(d) for d in DAILY_DAYS} or p == raw_path(RAW_TIMES[1]))
    assert geojson_in_cache(store) == expected_cache(august)
    assert imported_files(store.database_url) == synthetic_imports(august)

    mirror.reset()
    again = frontline(store.env, *args)
    assert again.code == 0, again.text
    assert mirror.file_requests() == []  # days of 2024 are not recent: known missing, not asked again
    assert mirror.listings() == [f"{RAW_DIR}/"]


def test_5xx_truncated_and_non_geojson_files_are_named_and_the_others_go_in(mirror: Mirror, store: Store,
                                                                           synthetic: Archives) -> None:
    retried, failing = daily_path(DAILY_DAYS[1]), daily_path(DAILY_DAYS[2])
    truncated, html, not_geojson = raw_path(RAW_TIMES[1]), isw_path(ISW_DAYS[1]), isw_path(ISW_DAYS[2])
    mirror.fail(retried, times=2)
    mirror.fail(failing)
    mirror.truncate(truncated)
    mirror.replace(html, b"<html><body><h1>Too many requests</h1></body></html>")
    mirror.replace(not_geojson, json.dumps({"message": "API rate limit exceeded"}).encode())
    args = ("fetch", *ARCHIVES, "--since", "2024-07-01", "--until", "2025-08-31", "--mirror", mirror.url)
    ran = frontline(store.env, *args)

    assert ran.code == 1, ran.text
    assert f"deepstate-daily: retried: {retried} (3 attempts)" in ran.text
    assert f"deepstate-daily: failed: {failing}: HTTP 500 after 4 attempts" in ran.text
    assert f"deepstate-raw: rejected: {truncated}: not JSON" in ran.text
    assert f"isw-kursk: rejected: {html}: not JSON" in ran.text
    assert f"{not_geojson}: JSON but not a GeoJSON FeatureCollection" in ran.text
    assert "Traceback" not in ran.text
    summary = table_rows(ran.stdout, "archive")
    assert [(summary[n]["retried"], summary[n]["rejected"], summary[n]["failed"]) for n in ARCHIVES] == [
        ("1", "0", "1"), ("0", "1", "0"), ("0", "2", "0")]
    troubled = {failing, truncated, html, not_geojson}
    went_in = only(synthetic, lambda p: p not in troubled)
    assert geojson_in_cache(store) == expected_cache(went_in)
    assert not parts_left(store)
    assert imported_files(store.database_url) == synthetic_imports(went_in)

    mirror.reset()  # the mirror is well again: the next run fetches exactly what was missing, and completes
    again = frontline(store.env, *args)
    assert again.code == 0, again.text
    assert sorted(mirror.file_requests()) == sorted(troubled)
    assert geojson_in_cache(store) == expected_cache(synthetic)
    assert imported_files(store.database_url) == synthetic_imports(synthetic)


def test_a_server_that_goes_away_mid_run_stops_it_cleanly_and_the_next_run_finishes(
        mirror: Mirror, store: Store, synthetic: Archives) -> None:
    args = ("fetch", *ARCHIVES, "--since", "2024-08-01", "--until", "2024-09-30", "--mirror", mirror.url)
    # 61 days of deepstate-daily (4 files, the rest 404), then deepstate-raw: its first file is served, the
    # second is cut off half-way and the server is gone.
    mirror.go_away_after(61 + 1)
    ran = frontline(store.env, *args)

    assert ran.code == 2, ran.text
    assert not mirror.running
    [line] = [line for line in ran.lines() if "cannot reach" in line]
    assert f"cannot reach 127.0.0.1:{mirror.port}" in line, line
    assert "Traceback" not in ran.text
    cut = mirror.file_requests()[-1]
    assert cut == raw_path(RAW_TIMES[2])
    cached = geojson_in_cache(store)
    assert cut not in cached.get("deepstate-raw", set()) and not parts_left(store)
    for name, paths in cached.items():  # what is cached is whole
        for path in paths:
            assert (store.data_dir / "archives" / name / path).read_bytes() == synthetic[name][path]
    # Every imported file is in whole: as many rows as the file has control areas.
    imported = imported_files(store.database_url)
    in_range = only(synthetic, lambda p: p in {daily_path(d) for d in DAILY_DAYS} or
                    p in {raw_path(t) for t in RAW_TIMES[1:]} or p in {isw_path(d) for d in ISW_DAYS[:2]})
    assert set(imported) <= set(synthetic_imports(in_range)) and len(set(imported)) == len(imported)

    mirror.reset()  # back on the same port
    again = frontline(store.env, *args)
    assert again.code == 0, again.text
    assert geojson_in_cache(store) == expected_cache(in_range)
    assert imported_files(store.database_url) == synthetic_imports(in_range)
    assert raw_path(RAW_TIMES[1]) not in mirror.file_requests()  # cached whole before the outage: not again


def test_since_and_until_limit_the_days_asked_cached_and_imported(mirror: Mirror, store: Store,
                                                                  synthetic: Archives) -> None:
    ran = frontline(store.env, "fetch", *ARCHIVES, "--since", "2024-08-02", "--until", "2024-09-12",
                    "--mirror", mirror.url)
    assert ran.code == 0, ran.text
    first, last = date(2024, 8, 2), date(2024, 9, 12)
    asked = {daily_path(first + timedelta(days=n)) for n in range((last - first).days + 1)}
    in_range = {daily_path(d) for d in DAILY_DAYS[1:]} | {raw_path(t) for t in RAW_TIMES[1:]} | {isw_path(ISW_DAYS[0])}
    assert set(mirror.file_requests()) == (asked - {daily_path(d) for d in DAILY_DAYS}) | in_range
    assert len(mirror.file_requests()) == len(set(mirror.file_requests()))
    kept = only(synthetic, lambda p: p in in_range)
    assert geojson_in_cache(store) == expected_cache(kept)
    assert imported_files(store.database_url) == synthetic_imports(kept)


def test_no_import_only_caches_and_needs_no_database(mirror: Mirror, blank: Store, synthetic: Archives) -> None:
    # `blank`'s database is not even migrated: --no-import must not touch it.
    ran = frontline(blank.env, "fetch", "isw-kursk", "deepstate-raw", "--no-import", "--mirror", mirror.url)
    assert ran.code == 0, ran.text
    assert geojson_in_cache(blank) == expected_cache(only(synthetic, lambda p: not p.startswith("data/")))


def test_unknown_archives_and_bad_options_are_refused_before_any_request(mirror: Mirror, blank: Store) -> None:
    unknown = frontline(blank.env, "fetch", "deepstate-raw", "isw-kharkiv", "--mirror", mirror.url)
    assert unknown.code == 2
    assert "no archive isw-kharkiv; archives are deepstate-daily, deepstate-raw, isw-kursk" in unknown.text
    for option, value in (("--watch", "often"), ("--watch", "6 weeks"), ("--since", "2024-02-30"),
                          ("--until", "yesterday")):
        refused = frontline(blank.env, "fetch", "deepstate-raw", option, value, "--mirror", mirror.url)
        assert refused.code == 2, (option, value, refused.text)
        assert option in refused.text and value in refused.text, refused.text
        assert "Traceback" not in refused.text
    assert mirror.requests == []
    assert not (blank.data_dir / "archives").exists()


def test_watch_fetches_again_every_interval(mirror: Mirror, blank: Store) -> None:
    """--watch keeps a cache current: a layer the mirror gains between two rounds is fetched by the next."""
    late = date(2024, 10, 5)
    process = subprocess.Popen([FRONTLINE, "fetch", "isw-kursk", "--no-import", "--watch", "1s", "--mirror",
                                mirror.url], env=blank.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    new_file = mirror.root / isw_path(late)
    try:
        deadline = time.monotonic() + 20
        while len(mirror.listings()) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        new_file.write_text(json.dumps(isw_layer(late, 9)))
        cached = blank.data_dir / "archives" / "isw-kursk" / isw_path(late)
        while not (cached.exists() and len(mirror.listings()) >= 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cached.exists() and len(mirror.listings()) >= 2, mirror.requests
        assert process.poll() is None  # still watching
    finally:
        process.kill()
        output, errors = process.communicate(timeout=10)
        new_file.unlink()
    assert re.search(r"next fetch at \d{4}-\d\d-\d\d \d\d:\d\d", output.decode()), (output, errors)


def test_a_fetched_file_the_profile_cannot_import_is_named_and_fails_the_run(mirror: Mirror, store: Store) -> None:
    """Valid GeoJSON, so it is cached; but the day's snapshot holds no polygon, so the import refuses it."""
    day = date(2024, 8, 6)
    odd = mirror.root / daily_path(day)
    odd.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString",
                                                           "coordinates": [[35.2, 51.2], [35.3, 51.3]]}}]}))
    try:
        ran = frontline(store.env, "fetch", "deepstate-daily", "--since", "2024-08-05", "--until", "2024-08-06",
                        "--mirror", mirror.url)
    finally:
        odd.unlink()
    assert ran.code == 1, ran.text
    assert "deepstate-daily: import rejected deepstatemap_data_20240806.geojson:" in ran.text
    assert "no polygon to import" in ran.text
    assert geojson_in_cache(store) == {"deepstate-daily": {daily_path(date(2024, 8, 5)), daily_path(day)}}
    assert imported_files(store.database_url) == [("deepstate-daily", "deepstatemap_data_20240805.geojson", 1)]
