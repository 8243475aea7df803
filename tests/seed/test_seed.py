"""Seed geodata: real geography within stated tolerances, an honest illustrative timeline, idempotent loading."""

from __future__ import annotations

import csv
import json
from datetime import date

import pytest
from sqlalchemy import Connection, text

from app.services.seed import seed
from app.settings import Settings
from tests.helpers import copy_of_geodata


def scalar(conn: Connection, sql: str, **params: object) -> object:
    return conn.execute(text(sql), params).scalar_one()


def test_seed_twice_writes_nothing_the_second_time(conn: Connection, settings: Settings) -> None:
    first = seed(conn, settings.geodata_dir)
    assert sum(c.inserted for c in first.values()) > 0
    before = scalar(conn, "SELECT count(*) FROM places") , scalar(conn, "SELECT count(*) FROM control_areas")
    second = seed(conn, settings.geodata_dir)
    assert all(c.inserted == c.superseded == 0 for c in second.values())
    assert (scalar(conn, "SELECT count(*) FROM places"), scalar(conn, "SELECT count(*) FROM control_areas")) == before


def test_an_edited_seed_file_adds_a_version_and_keeps_the_old_one(conn: Connection, settings: Settings,
                                                                  tmp_path) -> None:
    seed(conn, settings.geodata_dir)
    edited = copy_of_geodata(settings, tmp_path)
    places = json.loads((edited / "places.geojson").read_text())
    sudzha = next(f for f in places["features"] if f["properties"]["key"] == "sudzha")
    sudzha["properties"]["population"] = 5000
    (edited / "places.geojson").write_text(json.dumps(places))

    counts = seed(conn, edited)["places.geojson"]
    assert (counts.inserted, counts.superseded) == (1, 1)
    assert counts.unchanged == len(places["features"]) - 1
    versions = conn.execute(text(
        "SELECT population, superseded_at IS NULL AS current FROM places WHERE key = 'sudzha' ORDER BY id"
    )).all()
    assert [tuple(v) for v in versions] == [(None, False), (5000, True)]


def test_kursk_sumy_border_has_its_real_length(seeded: Connection) -> None:
    length = scalar(seeded, "SELECT ST_Length(geom::geography) / 1000 FROM lines WHERE key = 'kursk-sumy-border'")
    assert 200 <= length <= 300  # reported: about 245 km (150 mi); from the OSM-derived outline: 262 km
    # It runs along Ukraine's outline: every vertex within 6 km of it (the national outline is coarse).
    worst = scalar(seeded, """
        SELECT max(ST_Distance((dp).geom::geography, ST_Boundary(u.geom)::geography)) / 1000
        FROM lines l, regions u, ST_DumpPoints(l.geom) AS dp
        WHERE l.key = 'kursk-sumy-border' AND u.key = 'ukraine'""")
    assert worst < 6


def test_kursk_oblast_has_its_real_area(seeded: Connection) -> None:
    area = scalar(seeded, "SELECT area_km2 FROM regions WHERE key = 'kursk-oblast'")
    assert area == pytest.approx(29_997, rel=0.05)
    # The checkable claim: "18,500 square miles" (47,915 km²) is not the size of Kursk oblast.
    assert abs(area - 18_500 * 2.589988) / area > 0.5


@pytest.mark.parametrize(("key", "lat", "lon"), [("sudzha", 51.191, 35.271), ("plekhovo", 51.10, 35.33)])
def test_key_places_are_where_they_are(seeded: Connection, key: str, lat: float, lon: float) -> None:
    metres = scalar(seeded, """
        SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
        FROM places WHERE key = :key AND superseded_at IS NULL""", key=key, lat=lat, lon=lon)
    assert metres < 2000


def test_every_place_lies_in_its_region(seeded: Connection) -> None:
    outside = seeded.execute(text("""
        SELECT p.key FROM places p JOIN regions r ON r.key = p.properties->>'region'
        WHERE NOT ST_Contains(r.geom, p.geom)""")).scalars().all()
    total = scalar(seeded, "SELECT count(*) FROM places p JOIN regions r ON r.key = p.properties->>'region'")
    assert total >= 9 and outside == []


def test_plekhovo_is_findable_by_its_other_spelling(seeded: Connection) -> None:
    assert scalar(seeded, "SELECT key FROM places WHERE alt_names ? 'Plyokhovo'") == "plekhovo"


def test_timeline_spans_the_incursion_with_opposing_and_independent_sources(seeded: Connection) -> None:
    first, last = seeded.execute(text("""
        SELECT least(min(lower(c.valid)), (SELECT min(occurred_on) FROM events)), max(lower(c.valid))
        FROM control_areas c""")).one()
    assert first <= date(2024, 8, 6) and last >= date(2024, 11, 20)
    # The shapes illustrate the figures of opposing and independent sources (whose slug each names).
    sides = seeded.execute(text("""
        SELECT DISTINCT coalesce(s.side_code, 'independent') FROM control_areas c
        JOIN sources s ON s.slug = c.properties->>'illustrates'
        WHERE c.status = 'claimed'""")).scalars().all()
    assert {"UA", "RU"} <= set(sides)
    independent = scalar(seeded, """
        SELECT count(*) FROM control_areas c JOIN sources s ON s.slug = c.properties->>'illustrates'
        WHERE s.side_code IS NULL AND c.status = 'assessed'""")
    assert independent >= 1


def test_every_timeline_shape_is_marked_illustrative_with_a_note(seeded: Connection) -> None:
    rows = seeded.execute(text("SELECT properties, notes FROM control_areas")).all()
    assert rows and all(p["illustrative"] is True and "ILLUSTRATIVE" in n for p, n in rows)


def test_every_timeline_shape_is_an_example_naming_the_source_it_illustrates(seeded: Connection) -> None:
    rows = seeded.execute(text("""
        SELECT c.key, s.slug, s.kind, c.layer, c.properties->>'illustrates', i.slug
        FROM control_areas c JOIN sources s ON s.id = c.source_id
        LEFT JOIN sources i ON i.slug = c.properties->>'illustrates'""")).all()
    assert len(rows) == 9
    for key, slug, kind, layer, illustrates, found in rows:
        assert (slug, kind) == ("example", "example"), key  # never stored under the source it illustrates
        assert layer == illustrates == found and found != "example", key
    assert {r[3] for r in rows} == {"syrskyi", "isw", "ru-mod-tass", "deepstatemap"}
    # Keys stay as they were.
    assert "syrskyi-ua-held-2024-08-20" in {r[0] for r in rows}
    # Each example series is titled as an example.
    titles = dict(seeded.execute(text("""
        SELECT r.key, r.title FROM series r JOIN sources s ON s.id = r.source_id WHERE s.slug = 'example'""")).all())
    assert len(titles) == 5 and all(t.startswith("Example: ") for t in titles.values()), titles
    assert titles["example/UA/claimed/syrskyi"] == "Example: Syrskyi's claimed area, drawn to his figures"


def test_reported_figures_stay_under_their_real_sources(seeded: Connection) -> None:
    slugs = set(seeded.execute(text("""
        SELECT DISTINCT s.slug FROM reported_figures f JOIN sources s ON s.id = f.source_id""")).scalars())
    assert "example" not in slugs and {"syrskyi", "isw", "deepstatemap"} <= slugs


def test_shapes_sized_to_a_figure_match_that_figure(seeded: Connection) -> None:
    rows = seeded.execute(text("""
        SELECT c.key, c.area_km2, f.value FROM control_areas c
        JOIN reported_figures f ON f.key = c.properties->>'figure'""")).all()
    assert len(rows) >= 6
    for key, area, figure in rows:
        assert area == pytest.approx(figure, rel=0.005), key


def test_reported_figures_carry_source_date_and_status(seeded: Connection, settings: Settings) -> None:
    expected = {("syrskyi-area-2024-08-12", 1000.0), ("syrskyi-area-2024-08-20", 1263.0),
                ("syrskyi-area-2024-08-27", 1294.0), ("deepstate-area-2024-11-22", 560.0),
                ("deepstate-unclear-2024-11-22", 200.0)}
    rows = seeded.execute(text("""
        SELECT f.key, f.value, s.slug, f.status, f.refers_to
        FROM reported_figures f JOIN sources s ON s.id = f.source_id
        """)).all()
    assert expected <= {(k, v) for k, v, *_ in rows}
    assert all(slug and status and refers_to for _, _, slug, status, refers_to in rows)
    with (settings.geodata_dir / "reported_figures.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(rows)


def test_every_seed_row_names_a_source(seeded: Connection) -> None:
    for table in ("control_areas", "places", "lines", "regions", "events", "reported_figures"):
        assert scalar(seeded, f"SELECT count(*) FROM {table} WHERE source_id IS NULL") == 0
