"""The importer on the real third-party files in ../shared/data (skipped, with the reason, when absent)."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import shape
from sqlalchemy import Connection, text

from app.services.dates import date_from_name
from app.services.importer import ImportOptions, discover, import_file
from tests.helpers import km2, pyproj_km2, shared_data

DEEPSTATE = ImportOptions(source="deepstatemap", side="RU", status="assessed")
ISW = ImportOptions(source="isw", side="RU", status="assessed")


def test_every_deepstate_day_imports_with_its_date_from_the_file_name(seeded: Connection) -> None:
    files = discover([shared_data("deepstate")])
    assert len(files) == 175
    reports = [import_file(seeded, path, DEEPSTATE) for path in files]
    assert [r.outcome for r in reports] == ["imported"] * 175, [r.error for r in reports if r.error][:3]
    days = seeded.execute(text(
        "SELECT lower(valid) FROM control_areas WHERE key LIKE 'deepstatemap/%' ORDER BY 1")).scalars().all()
    assert days == sorted(date_from_name(p) for p in files)
    again = [import_file(seeded, path, DEEPSTATE).outcome for path in files[:5]]
    assert again == ["unchanged"] * 5


@pytest.mark.parametrize("day", ["20240708", "20240901", "20241018"])
def test_deepstate_area_agrees_with_pyproj(seeded: Connection, day: str) -> None:
    path = shared_data("deepstate", f"deepstatemap_data_{day}.geojson")
    import_file(seeded, path, DEEPSTATE)
    area = seeded.execute(text(
        "SELECT sum(area_km2) FROM control_areas WHERE key LIKE 'deepstatemap/%' AND lower(valid) = :d"
    ), {"d": f"{day[:4]}-{day[4:6]}-{day[6:]}"}).scalar_one()
    assert area == pytest.approx(pyproj_km2(path), rel=0.001)
    assert 100_000 < area < 120_000  # the data README: about 109,400 km² (July) to 110,400 km² (October)


def test_isw_layers_lose_z_keep_the_publishers_area_and_date(seeded: Connection) -> None:
    files = discover([shared_data("isw-kursk")])
    reports = [import_file(seeded, path, ISW) for path in files]
    assert all(r.outcome == "imported" for r in reports)
    rows = seeded.execute(text("""
        SELECT lower(valid)::text, ST_NDims(geom), area_km2, (properties->>'area_km2')::float, properties->>'date'
        FROM control_areas WHERE key LIKE 'isw/%' AND import_id IS NOT NULL AND properties ? 'area_km2'
        ORDER BY id""")).all()
    published = [(f["properties"]["area_km2"], km2(shape(f["geometry"])))
                 for path in files for f in json.loads(path.read_text())["features"]]
    assert len(rows) == len(published) == 52
    for (day, dims, ours, theirs, attribute_day), (file_figure, reference) in zip(rows, published, strict=True):
        assert dims == 2 and day == attribute_day
        assert theirs == file_figure  # the publisher's figure is kept as published, beside ours
        assert ours == pytest.approx(reference, rel=0.001)
    # Per feature the publisher's figure is off by -46% to +14% on small polygons; the totals agree closely.
    assert sum(r[2] for r in rows) == pytest.approx(sum(r[3] for r in rows), rel=0.01)


def test_raw_deepstate_export_is_refused_whole_by_the_generic_importer(seeded: Connection) -> None:
    # The full published map mixes points (units) with polygons: without a profile it is not a control layer.
    path = shared_data("deepstate-raw", "1724184993.geojson")
    before = seeded.execute(text("SELECT count(*) FROM control_areas")).scalar_one()
    day = date_from_name(shared_data("deepstate", "deepstatemap_data_20240820.geojson"))
    report = import_file(seeded, path, ImportOptions("deepstatemap", "RU", "assessed", day=day))
    assert report.outcome == "rejected" and "is not a control area" in (report.error or "")
    assert seeded.execute(text("SELECT count(*) FROM control_areas")).scalar_one() == before
