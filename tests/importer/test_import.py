"""The importer on small files written by the tests: formats, dates, repairs, refusals, atomicity, idempotence."""

from __future__ import annotations

import gzip
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon
from sqlalchemy import Connection, text

from app.errors import InvalidParameter
from app.services.importer import ImportOptions, discover, import_file, validate_options
from app.services.seed import SEED_FILES
from tests.helpers import SQUARE, count, feature, ring_km2, write_geojson

OPTIONS = ImportOptions(source="test-source", side="UA", status="assessed")


def test_polygon_with_date_in_file_name_is_imported(seeded: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "deepstatemap_data_20240901.geojson", feature([SQUARE]))
    report = import_file(seeded, path, OPTIONS)
    assert (report.outcome, report.inserted, report.days) == ("imported", 1, ["2024-09-01"])
    row = seeded.execute(text(
        "SELECT lower(valid), upper(valid), side_code, status, ST_GeometryType(geom), area_km2 FROM control_areas "
        "WHERE import_id IS NOT NULL AND key LIKE 'test-source/%'"
    )).one()
    assert row[:5] == (date(2024, 9, 1), date(2024, 9, 2), "UA", "assessed", "ST_MultiPolygon")
    assert row[5] == pytest.approx(ring_km2(SQUARE), rel=1e-6)


def test_iso_date_in_file_name(seeded: Connection, tmp_path: Path) -> None:
    report = import_file(seeded, write_geojson(tmp_path / "2024-09-11.geojson", feature([SQUARE])), OPTIONS)
    assert report.days == ["2024-09-11"]


def test_unix_timestamp_file_name_is_not_mistaken_for_a_date(seeded: Connection, tmp_path: Path) -> None:
    report = import_file(seeded, write_geojson(tmp_path / "1724184993.geojson", feature([SQUARE])), OPTIONS)
    assert report.outcome == "rejected" and "no date" in (report.error or "")


def test_date_attribute_wins_over_file_name_and_option_wins_over_both(seeded: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "2024-09-11.geojson", feature([SQUARE], date="2024-09-13"))
    assert import_file(seeded, path, OPTIONS).days == ["2024-09-13"]
    forced = ImportOptions("test-source", "UA", "assessed", day=date(2024, 9, 20))
    assert import_file(seeded, path, forced).days == ["2024-09-20"]


def test_z_coordinates_are_dropped(seeded: Connection, tmp_path: Path) -> None:
    ring3d = [[x, y, 0.0] for x, y in SQUARE]
    import_file(seeded, write_geojson(tmp_path / "2024-09-11.geojson", feature([ring3d])), OPTIONS)
    dims = seeded.execute(text("SELECT ST_NDims(geom) FROM control_areas WHERE key LIKE 'test-source/%'")).scalar_one()
    assert dims == 2


def test_self_intersecting_ring_is_repaired_and_reported(seeded: Connection, tmp_path: Path) -> None:
    bowtie = [[35.2, 51.2], [35.3, 51.3], [35.3, 51.2], [35.2, 51.3], [35.2, 51.2]]
    report = import_file(seeded, write_geojson(tmp_path / "2024-09-11.geojson", feature([bowtie])), OPTIONS)
    assert report.outcome == "imported" and report.repaired == 1
    assert "feature 0: repaired (Self-intersection" in report.messages[0]
    valid, parts, area = seeded.execute(text(
        "SELECT ST_IsValid(geom), ST_NumGeometries(geom), area_km2 FROM control_areas WHERE key LIKE 'test-source/%'"
    )).one()
    assert valid and parts == 2 and area > 0


def test_null_and_empty_geometries_are_skipped_with_a_warning(seeded: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "2024-09-11.geojson", feature(None), feature([SQUARE]),
                         feature([], "Polygon"))
    report = import_file(seeded, path, OPTIONS)
    assert (report.outcome, report.inserted, report.skipped) == ("imported", 1, 2)
    assert any("2024-09-11.geojson feature 0: skipped" in m for m in report.messages)


def test_future_date_is_refused_and_nothing_written(seeded: Connection, tmp_path: Path) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    before = count(seeded)
    report = import_file(seeded, write_geojson(tmp_path / f"{tomorrow}.geojson", feature([SQUARE])), OPTIONS)
    assert report.outcome == "rejected" and "in the future" in (report.error or "")
    assert count(seeded) == before and count(seeded, "imports") == len(SEED_FILES)  # only the seed's own batches


def test_mistyped_century_is_refused(seeded: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "x.geojson", feature([SQUARE], date="0024-09-11"))
    report = import_file(seeded, path, OPTIONS)
    assert report.outcome == "rejected" and "mistyped year" in (report.error or "")


def test_a_point_refuses_the_whole_file_and_writes_nothing(seeded: Connection, tmp_path: Path) -> None:
    before = count(seeded)
    path = write_geojson(tmp_path / "2024-09-11.geojson", feature([SQUARE]), feature([35.2, 51.2], "Point"))
    report = import_file(seeded, path, OPTIONS)
    assert report.outcome == "rejected"
    assert report.error == (
        "2024-09-11.geojson feature 1: a Point is not a control area (only Polygon and MultiPolygon are)"
    )
    assert count(seeded) == before
    assert seeded.execute(text("SELECT count(*) FROM sources WHERE slug = 'test-source'")).scalar_one() == 0


def test_unreadable_file_is_rejected_clearly(seeded: Connection, tmp_path: Path) -> None:
    path = tmp_path / "2024-09-11.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [')
    report = import_file(seeded, path, OPTIONS)
    assert report.outcome == "rejected" and "cannot be read as a vector file" in (report.error or "")


def test_identical_reimport_writes_nothing(seeded: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "2024-09-11.geojson", feature([SQUARE]))
    assert import_file(seeded, path, OPTIONS).outcome == "imported"
    rows, batches = count(seeded), count(seeded, "imports")
    again = import_file(seeded, path, OPTIONS)
    assert (again.outcome, again.inserted) == ("unchanged", 0)
    assert (count(seeded), count(seeded, "imports")) == (rows, batches)


def test_a_second_publication_of_the_same_claim_supersedes_the_first(seeded: Connection, tmp_path: Path) -> None:
    (tmp_path / "earlier").mkdir()
    first = write_geojson(tmp_path / "earlier" / "2024-09-11.geojson", feature([SQUARE]))
    bigger = [[35.2, 51.2], [35.4, 51.2], [35.4, 51.29], [35.2, 51.29], [35.2, 51.2]]
    second = write_geojson(tmp_path / "2024-09-11.geojson", feature([bigger]))
    import_file(seeded, first, OPTIONS)
    report = import_file(seeded, second, OPTIONS)
    assert (report.inserted, report.superseded) == (1, 1)
    history = seeded.execute(text(
        "SELECT area_km2, superseded_at IS NULL FROM control_areas WHERE key LIKE 'test-source/%' ORDER BY id"
    )).all()
    assert [current for _, current in history] == [False, True]
    assert [area for area, _ in history] == pytest.approx([ring_km2(SQUARE), ring_km2(bigger)], rel=1e-6)


def test_unknown_source_is_created_and_unknown_side_refused(seeded: Connection, tmp_path: Path) -> None:
    import_file(seeded, write_geojson(tmp_path / "2024-09-11.geojson", feature([SQUARE])), OPTIONS)
    assert seeded.execute(text("SELECT kind FROM sources WHERE slug = 'test-source'")).scalar_one() == "osint"
    with pytest.raises(InvalidParameter, match="unknown side 'XX': known sides are RU, UA"):
        validate_options(seeded, ImportOptions("test-source", "XX", "assessed"))
    with pytest.raises(InvalidParameter, match="unknown status 'held'"):
        validate_options(seeded, ImportOptions("test-source", "UA", "held"))


def _frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["square"], "date": ["2024-09-11"]}, geometry=[Polygon(SQUARE)], crs=4326)


@pytest.mark.parametrize(("suffix", "driver"), [(".gpkg", "GPKG"), (".shp", "ESRI Shapefile"), (".kml", "KML")])
def test_other_formats(seeded: Connection, tmp_path: Path, suffix: str, driver: str) -> None:
    path = tmp_path / f"areas{suffix}"
    _frame().to_file(path, driver=driver, engine="pyogrio")
    report = import_file(seeded, path, OPTIONS)
    assert (report.outcome, report.inserted, report.days) == ("imported", 1, ["2024-09-11"]), report.error
    area = seeded.execute(text("SELECT area_km2 FROM control_areas WHERE key LIKE 'test-source/%'")).scalar_one()
    assert area == pytest.approx(ring_km2(SQUARE), rel=1e-6)


def test_gzipped_geojson(seeded: Connection, tmp_path: Path) -> None:
    plain = write_geojson(tmp_path / "plain.geojson", feature([SQUARE]))
    gz = tmp_path / "deepstatemap_data_20240901.geojson.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert import_file(seeded, gz, OPTIONS).days == ["2024-09-01"]


def test_projected_input_is_reprojected_to_wgs84(seeded: Connection, tmp_path: Path) -> None:
    path = tmp_path / "mercator.gpkg"
    _frame().to_crs(3857).to_file(path, driver="GPKG", engine="pyogrio")
    import_file(seeded, path, OPTIONS)
    srid, x, y = seeded.execute(text(
        "SELECT ST_SRID(geom), ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM control_areas "
        "WHERE key LIKE 'test-source/%'")).one()
    assert srid == 4326 and x == pytest.approx(35.275, abs=1e-4) and y == pytest.approx(51.245, abs=1e-4)


def test_discover_finds_supported_files_in_directories(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.geojson", "sub/b.gpkg", "c.geojson.gz", "notes.txt", "d.shx"):
        (tmp_path / name).write_text("")
    assert [p.name for p in discover([tmp_path])] == ["a.geojson", "c.geojson.gz", "b.gpkg"]
    with pytest.raises(InvalidParameter, match="no such file"):
        discover([tmp_path / "missing.geojson"])

