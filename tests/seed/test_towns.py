"""GeoNames towns in the seed: each town once, inside its region, beside the editors' places, answered by the API."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod
from sqlalchemy import Connection, Engine, text

from app.services.seed import seed, slug
from app.settings import Settings
from tests.helpers import client_on, copy_of_geodata, shared_data

GEOD = Geod(ellps="WGS84")
UKRAINE_TOLERANCE_M = 2000  # Ukraine's outline is coarse (~830 vertices); the oblast outlines are not


def metres(lon: float, lat: float, lon2: float, lat2: float) -> float:
    return float(GEOD.inv(lon, lat, lon2, lat2)[2])


def ascii_key(name: str) -> str:
    """The test's own slug of a name, written apart from the seed's."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("'", "")
    return "-".join(re.findall(r"[a-z0-9]+", plain))


def csv_towns(geodata: Path) -> list[dict[str, str]]:
    with (geodata / "towns-geonames.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def editors_places(geodata: Path) -> dict[str, tuple[float, float]]:
    features = json.loads((geodata / "places.geojson").read_text())["features"]
    return {f["properties"]["key"]: tuple(f["geometry"]["coordinates"]) for f in features}


def duplicates(geodata: Path) -> dict[str, str]:
    """GeoNames towns places.geojson already has (same slug, within 5 km), by town name -> editors' key."""
    editors = editors_places(geodata)
    found = {}
    for town in csv_towns(geodata):
        key = ascii_key(town["name"])
        if key in editors and metres(float(town["lon"]), float(town["lat"]), *editors[key]) < 5000:
            found[town["name"]] = key
    return found


def current(conn: Connection, where: str = "TRUE", **params: object) -> list[Any]:
    return conn.execute(text(f"""
        SELECT p.key, p.name, s.slug AS source, p.properties, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
        FROM places p JOIN sources s ON s.id = p.source_id
        WHERE p.superseded_at IS NULL AND {where} ORDER BY p.key"""), params).all()


@pytest.mark.parametrize(("name", "key"), [
    ("Ryl'sk", "rylsk"), ("Novhorod-Sivers'kyy", "novhorod-siverskyy"), ("Gorod Shebekino", "gorod-shebekino"),
    ("Maslova Pristan'", "maslova-pristan"), ("Krolevets’", "krolevets"), ("Plëkhovo", "plekhovo"),
])
def test_a_town_key_is_an_ascii_slug_of_its_name(name: str, key: str) -> None:
    assert slug(name) == key


def test_the_towns_added_are_the_csv_minus_the_editors_places(conn: Connection, settings: Settings) -> None:
    geodata = settings.geodata_dir
    towns, dupes = csv_towns(geodata), duplicates(geodata)
    counts = seed(conn, geodata)["towns-geonames.csv"]
    added = current(conn, "s.slug = 'geonames'")
    assert counts.inserted == len(added) == len(towns) - len(dupes) > 0
    # Each duplicate stays the editors' one place; none was written under GeoNames.
    assert dupes, "places.geojson shares towns with GeoNames (Sudzha at least)"
    assert {r.key: r.source for r in current(conn, "p.key = ANY(:keys)", keys=list(dupes.values()))} == dict.fromkeys(
        dupes.values(), "frontline-editors")
    assert not {ascii_key(r.name) for r in added} & set(dupes.values())
    # Every other town is there, by name, with the properties it should have.
    regions = {"Kursk": "kursk-oblast", "Belgorod": "belgorod-oblast", "Brjansk": "bryansk-oblast",
               "Sumy": "ukraine", "Chernihiv": "ukraine"}
    expected = sorted((t["name"], t["admin1"]) for t in towns if t["name"] not in dupes)
    assert sorted((r.name, r.properties["admin1"]) for r in added) == expected
    for r in added:
        assert r.properties == {"region": regions[r.properties["admin1"]], "admin1": r.properties["admin1"],
                                "geonames": True}, r.key
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.key), r.key


def test_towns_sharing_a_name_are_told_apart_by_region(seeded: Connection, settings: Settings) -> None:
    towns = csv_towns(settings.geodata_dir)
    keys = [ascii_key(t["name"]) for t in towns]
    shared = {key for key in keys if keys.count(key) > 1}
    for key in shared:
        found = current(seeded, "s.slug = 'geonames' AND p.key LIKE :prefix", prefix=f"{key}-%")
        assert len(found) == keys.count(key), key
        assert all(r.key.startswith(f"{key}-{ascii_key(r.properties['admin1'])}") for r in found), found
    assert current(seeded, "p.key = 'belaya'")[0].name == "Belaya"


def test_no_two_places_within_1_km_share_a_name(seeded: Connection) -> None:
    places = current(seeded)
    close = [(a.key, b.key) for a, b in combinations(places, 2)
             if ascii_key(a.name) == ascii_key(b.name) and metres(a.lon, a.lat, b.lon, b.lat) < 1000]
    assert len(places) > 100 and close == []


def test_every_town_lies_inside_its_region(seeded: Connection, record_property: Callable[[str, object], None],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    placed = seeded.execute(text("""
        SELECT p.name, r.key AS region, ST_Covers(r.geom, p.geom) AS inside,
               ST_Distance(p.geom::geography, r.geom::geography) AS metres
        FROM places p JOIN sources s ON s.id = p.source_id
        LEFT JOIN regions r ON r.key = p.properties->>'region' AND r.superseded_at IS NULL
        WHERE s.slug = 'geonames' AND p.superseded_at IS NULL""")).all()
    assert placed and all(row.region for row in placed), "every town names a region we have an outline of"
    tolerated = [(row.name, round(row.metres)) for row in placed if not row.inside and row.region == "ukraine"
                 and row.metres <= UKRAINE_TOLERANCE_M]
    outside = [(row.name, row.region, round(row.metres)) for row in placed if not row.inside
               and (row.name, round(row.metres)) not in tolerated]
    assert outside == []
    record_property("towns_within_2km_of_ukraine_outline", len(tolerated))
    with capsys.disabled():
        print(f"\n{len(placed)} towns inside their region's outline; {len(tolerated)} Ukrainian towns needed the "
              f"{UKRAINE_TOLERANCE_M} m tolerance{': ' + repr(tolerated) if tolerated else ''}")


def test_russian_towns_are_not_in_ukraine(seeded: Connection) -> None:
    inside = seeded.execute(text("""
        SELECT p.name FROM places p JOIN sources s ON s.id = p.source_id, regions u
        WHERE s.slug = 'geonames' AND p.superseded_at IS NULL AND u.key = 'ukraine' AND u.superseded_at IS NULL
          AND p.properties->>'region' <> 'ukraine' AND ST_Covers(u.geom, p.geom)""")).scalars().all()
    assert inside == []


def test_sudzha_is_one_place_and_plekhovo_is_still_there(seeded: Connection) -> None:
    sudzhas = current(seeded, "lower(p.name) = 'sudzha' OR p.key LIKE 'sudzha%'")
    assert [(r.key, r.source) for r in sudzhas] == [("sudzha", "frontline-editors")]
    assert [(r.key, r.source) for r in current(seeded, "p.key = 'plekhovo'")] == [("plekhovo", "frontline-editors")]


def test_editing_places_reloads_the_towns_and_changes_none(conn: Connection, settings: Settings,
                                                           tmp_path: Path) -> None:
    seed(conn, settings.geodata_dir)
    edited = copy_of_geodata(settings, tmp_path)
    places = json.loads((edited / "places.geojson").read_text())
    places["features"][0]["properties"]["notes"] = "edited"
    (edited / "places.geojson").write_text(json.dumps(places))
    counts = seed(conn, edited)["towns-geonames.csv"]
    assert (counts.inserted, counts.superseded) == (0, 0)
    assert counts.unchanged == len(csv_towns(edited)) - len(duplicates(edited))


def test_a_town_named_like_a_far_editors_place_gets_the_region_in_its_key(conn: Connection, settings: Settings,
                                                                           tmp_path: Path) -> None:
    edited = copy_of_geodata(settings, tmp_path)
    places = json.loads((edited / "places.geojson").read_text())
    far = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.2, 51.6]},  # 50 km from GeoNames'
           "properties": {"key": "glushkovo", "name": "Glushkovo", "kind": "village", "region": "kursk-oblast",
                          "source": "frontline-editors"}}
    (edited / "places.geojson").write_text(json.dumps({**places, "features": [*places["features"], far]}))
    seed(conn, edited)
    found = {r.key: r.source for r in current(conn, "p.name = 'Glushkovo'")}
    assert found == {"glushkovo": "frontline-editors", "glushkovo-kursk": "geonames"}


@pytest.mark.parametrize("key", ["glushkovo", "belaya"])
def test_a_geonames_town_answers_control_and_history(seeded: Connection, settings: Settings, engine: Engine,
                                                    key: str) -> None:
    with client_on(seeded, settings, engine) as client:
        item = client.get(f"/collections/places/items/{key}")
        assert item.status_code == 200, item.text
        assert item.json()["properties"]["kind"] == "town"
        control = client.get(f"/places/{key}/control?date=2024-08-20")
        assert control.status_code == 200, control.text
        assert control.json()["place"]["key"] == key
        history = client.get(f"/places/{key}/history")
        assert history.status_code == 200, history.text
        assert isinstance(history.json()["rows"], list)


@pytest.mark.shared_data
def test_the_shipped_csv_is_the_shared_one(settings: Settings) -> None:
    shared = shared_data("places", "geonames-towns-border-regions.csv")
    assert (settings.geodata_dir / "towns-geonames.csv").read_bytes() == shared.read_bytes()
