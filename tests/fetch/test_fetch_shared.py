"""The real archives' files (../shared/data, laid out as their repositories) through a local mirror: every file
is cached and imported with its archive's profile, as a direct import of the same files would, and a second
run writes nothing. Skipped, with the reason, when ../shared/data is absent."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from app.db.engine import make_engine
from app.services.importer import import_paths
from app.services.migrate import upgrade
from app.services.profiles import load_profile
from app.services.seed import seed
from app.settings import Settings
from tests.helpers import (
    ISW_DIR,
    PROFILE_OF,
    RAW_DIR,
    Archives,
    Mirror,
    Store,
    cache_of,
    daily_path,
    fetched_series,
    frontline,
    imported_files,
    new_temp_dir,
    shared_archives,
    shared_data,
    write_mirror,
    written,
)

pytestmark = pytest.mark.shared_data
ARCHIVES = ("deepstate-daily", "deepstate-raw", "isw-kursk")
FOLDERS = {"deepstate-daily": ["deepstate"], "deepstate-raw": ["deepstate-raw"],
           "isw-kursk": ["isw-kursk", "isw-kursk-later"]}


@pytest.fixture(scope="module")
def real() -> Archives:
    """The real files at their repository paths (skips when ../shared/data is absent)."""
    return shared_archives()


@pytest.fixture(scope="module")
def real_mirror(real: Archives) -> Iterator[Mirror]:
    root = write_mirror(new_temp_dir("frontline-real-mirror-"), real)
    mirror = Mirror(root).start()
    yield mirror
    mirror.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def direct(real: Archives, database_factory) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """What `frontline import --profile` writes from the same files into another fresh database, per series."""
    settings = Settings(database_url=database_factory())
    upgrade(settings)
    engine = make_engine(settings)
    with engine.begin() as conn:
        seed(conn, settings.geodata_dir)
    for archive, folders in FOLDERS.items():
        reports = import_paths(engine, [shared_data(f) for f in folders], load_profile(PROFILE_OF[archive]))
        assert {r.outcome for r in reports} == {"imported"}, [r.error for r in reports if r.error][:3]
    engine.dispose()
    return fetched_series(str(settings.database_url))


def test_the_real_archives_are_fetched_whole_imported_as_directly_and_only_once(
        real_mirror: Mirror, store: Store, real: Archives, direct: dict[str, int]) -> None:
    real_mirror.reset()
    ran = frontline(store.env, "fetch", *ARCHIVES, "--mirror", real_mirror.url, timeout=600)
    assert ran.code == 0, ran.text
    cached = {name: {p for p in paths if p.endswith(".geojson")} for name, paths in cache_of(store.data_dir).items()}
    assert cached == {name: set(files) for name, files in real.items()}  # every file copied to the mirror
    for name, files in real.items():
        for path, body in files.items():
            assert (store.data_dir / "archives" / name / path).read_bytes() == body
    imported = imported_files(store.database_url)
    assert Counter(profile for profile, _, _ in imported) == {PROFILE_OF[n]: len(f) for n, f in real.items()}
    assert sorted(name for _, name, _ in imported) == sorted(p.rsplit("/", 1)[1] for f in real.values() for p in f)
    assert all(rows > 0 for _, _, rows in imported)
    assert fetched_series(store.database_url) == direct  # the same rows as a direct import with the profiles
    assert direct["deepstatemap/UA/assessed/kursk-salient"] > 0

    rows = written(store.database_url)
    real_mirror.reset()
    again = frontline(store.env, "fetch", *ARCHIVES, "--mirror", real_mirror.url, timeout=600)
    assert again.code == 0, again.text
    assert written(store.database_url) == rows
    assert sorted(real_mirror.listings()) == [f"{ISW_DIR}/", f"{RAW_DIR}/"]
    assert set(real_mirror.file_requests()) == {daily_path(date.today() - timedelta(days=n)) for n in range(8)}
