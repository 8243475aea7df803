"""The first `make run` (`frontline prestart`) on a store without real claims fetches the Kursk case's archives
(deepstate-raw and isw-kursk, 2024-08-01 to 2025-04-30) from FRONTLINE_FETCH_MIRROR; later ones fetch
nothing; offline it says so in a line and goes on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.helpers import (
    ISW_DAYS,
    ISW_DIR,
    RAW_DIR,
    RAW_TIMES,
    Archives,
    Mirror,
    Store,
    cache_of,
    free_port,
    frontline,
    imported_files,
    isw_path,
    only,
    raw_path,
    synthetic_imports,
    written,
)

WINDOW = (date(2024, 8, 1), date(2025, 4, 30))


def on_start(store: Store, mirror_url: str) -> dict[str, str]:
    return store.env | {"FRONTLINE_FETCH_ON_START": "true", "FRONTLINE_FETCH_MIRROR": mirror_url}


def test_the_first_run_fetches_the_kursk_case_and_the_next_fetches_nothing(mirror: Mirror, blank: Store,
                                                                           synthetic: Archives) -> None:
    first = frontline(on_start(blank, mirror.url), "prestart")
    assert first.code == 0, first.text
    assert "No real claims stored yet: fetching the Kursk case's archives" in first.text
    # Only the two archives, only inside the window: not the publication of 2024-07-15, not ISW's 2025-08-20.
    kursk = {raw_path(t) for t in RAW_TIMES[1:]} | {isw_path(d) for d in ISW_DAYS[:3]}
    assert sorted(mirror.listings()) == [f"{ISW_DIR}/", f"{RAW_DIR}/"]
    assert sorted(mirror.file_requests()) == sorted(kursk)
    case = only(synthetic, lambda p: p in kursk)
    assert cache_of(blank.data_dir) == {name: set(files) for name, files in case.items()}
    assert imported_files(blank.database_url) == synthetic_imports(case)
    rows = written(blank.database_url)

    mirror.reset()
    again = frontline(on_start(blank, mirror.url), "prestart")
    assert again.code == 0, again.text
    assert mirror.requests == []  # real claims are stored: nothing is fetched, not even a listing
    assert "No real claims" not in again.text
    assert written(blank.database_url) == rows


def test_the_first_run_offline_says_so_in_a_line_and_goes_on(database_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plain = Store.at(database_factory(), tmp_path / "plain")
    before = frontline(plain.env, "prestart")  # the same first run without the fetch: the time it takes
    assert before.code == 0, before.text

    port = free_port()  # nothing listens there
    offline = Store.at(database_factory(), tmp_path / "offline")
    ran = frontline(on_start(offline, f"http://127.0.0.1:{port}/"), "prestart")
    assert ran.code == 0, ran.text
    assert ran.seconds < before.seconds + 10, (ran.seconds, before.seconds)
    print(f"first run offline: {ran.seconds:.1f} s; without the fetch: {before.seconds:.1f} s")
    assert "Traceback" not in ran.text
    [line] = [line for line in ran.lines() if f"127.0.0.1:{port}" in line]
    assert "cannot reach" in line and "Connection refused" in line, line
    assert cache_of(offline.data_dir) == {}
    assert imported_files(offline.database_url) == []
    assert written(offline.database_url)[1] > 0  # the seed's examples are there to serve
