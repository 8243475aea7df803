"""The shipped import profiles on the real exports in ../shared/data, measured through the API.

Every expected figure is computed here, independently of PostGIS, from the files themselves (shapely + pyproj).
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy import Connection

from app.services.importer import discover, import_file
from app.services.profiles import load_profile
from app.settings import Settings
from tests.helpers import CASE, import_folder, km2, pyproj_km2, shared_data

KURSK_BOX = (33.5, 50.6, 37.5, 52.5)
PUBLICATIONS = {"2024-08-20": "1724184993.geojson", "2024-09-01": "1725222208.geojson"}
PLACES = {"sudzha": Point(35.271, 51.191), "plekhovo": Point(35.33, 51.10)}
SALIENT = "deepstatemap/UA/assessed/kursk-salient"
LIBERATED = "deepstatemap/UA/assessed/liberated"


def raw_polygons(path: Path, status: str, fill: str | None = None) -> shapely.Geometry:
    """The union of a raw export's polygons of one status (and fill) whose inside point is in the Kursk box."""
    chosen = []
    for f in json.loads(path.read_text())["features"]:
        p, geom = f["properties"], f["geometry"] and shape(f["geometry"])
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        if f"geoJSON.status.{status}" not in (p.get("name") or ""):
            continue
        if fill and (p.get("fill") or "").lower() != fill:
            continue
        inside = geom.representative_point()
        if KURSK_BOX[0] <= inside.x <= KURSK_BOX[2] and KURSK_BOX[1] <= inside.y <= KURSK_BOX[3]:
            chosen.append(shapely.force_2d(shapely.make_valid(geom)))
    return shapely.union_all(chosen)


def import_raw(conn: Connection) -> list[Path]:
    folder = shared_data("deepstate-raw")
    profile = load_profile("deepstate-raw")
    files = discover([folder])
    for path in files:
        assert import_file(conn, path, profile).outcome == "imported"
    return files


def area_rows(client: TestClient, day: str) -> dict[tuple[str | None, str, str | None], float]:
    rows = client.get(f"/stats/area?date={day}&region=kursk-oblast&source=deepstatemap").json()["rows"]
    return {(r["side"], r["status"], r["layer"]): r["area_km2"] for r in rows}


@pytest.mark.parametrize("day", list(PUBLICATIONS))
def test_ua_held_area_in_kursk_agrees_with_the_files(client: TestClient, seeded: Connection, day: str) -> None:
    import_raw(seeded)
    path = shared_data("deepstate-raw", PUBLICATIONS[day])
    rows = area_rows(client, day)
    expected_held = km2(raw_polygons(path, "dismissed", "#01579b"))
    assert rows[("UA", "assessed", "kursk-salient")] == pytest.approx(expected_held, rel=0.03)
    # The grey zone is its own series, reported beside the held ground, never added to it.
    assert rows[(None, "unknown", "unknown")] == pytest.approx(km2(raw_polygons(path, "unknown")), rel=0.03)
    assert rows[("RU", "assessed", "occupied")] < 1.0  # DeepStateMap marks no Russian-held ground in Kursk


def test_sudzha_and_plekhovo_are_ua_held_and_the_history_says_since_when(client: TestClient,
                                                                         seeded: Connection) -> None:
    files = import_raw(seeded)
    for key, point in PLACES.items():
        rows = client.get(f"/places/{key}/control?date=2024-08-20&source=deepstatemap").json()["rows"]
        held = {(r["side"], r["layer"]) for r in rows if r["holds"]}
        assert held == {("UA", "kursk-salient")}, key
        first = next(datetime.fromtimestamp(int(p.stem), UTC).date() for p in files
                     if raw_polygons(p, "dismissed", "#01579b").covers(point))
        periods = client.get(f"/places/{key}/history?source=deepstatemap").json()["rows"]
        salient = [p for p in periods if p["layer"] == "kursk-salient"]
        assert salient and salient[0]["first_observed"] == first.isoformat(), key


def test_isw_figures_stand_beside_our_geodesic_areas(client: TestClient, seeded: Connection) -> None:
    folder = shared_data("isw-kursk")
    profile = load_profile("isw-kursk")
    reports = [import_file(seeded, path, profile) for path in discover([folder])]
    assert all(r.outcome == "imported" for r in reports)
    body = client.get("/stats/area/series?start=2024-09-11&end=2024-10-24&source=isw&region=kursk-oblast").json()
    reported = {r["day"]: r for r in body["reported"] if r["metric"] == "publisher_area_km2"}
    assert len(reported) == len(reports) == 11
    for path in discover([folder]):
        features = json.loads(path.read_text())["features"]
        day = date.fromisoformat(re.sub(r"\.geojson$", "", path.name)).isoformat()
        theirs = sum(f["properties"]["area_km2"] for f in features)
        ours = km2(shapely.union_all([shapely.force_2d(shape(f["geometry"])) for f in features]))
        row = reported[day]
        assert row["value"] == pytest.approx(theirs) and row["measured_km2"] == pytest.approx(ours, rel=0.001)
        assert row["difference_pct"] == pytest.approx((theirs - ours) / ours * 100, abs=0.05)
    assert max(abs(r["difference_pct"]) for r in reported.values()) > 1  # the difference is shown, not hidden


def kursk_oblast(settings: Settings) -> shapely.Geometry:
    """Kursk oblast's outline as the seed reads it (geodata/regions.geojson), with shapely."""
    regions = json.loads((settings.geodata_dir / "regions.geojson").read_text())["features"]
    return next(shape(f["geometry"]) for f in regions if f["properties"]["key"] == "kursk-oblast")


def test_kursk_ua_held_ground_is_one_series_beside_the_seed_examples(client: TestClient, seeded: Connection,
                                                                    settings: Settings) -> None:
    files = import_raw(seeded)  # on top of the seed, whose examples include one drawn to DeepStateMap's figure
    rows = client.get("/stats/area?date=2024-11-22&side=UA&region=kursk-oblast&source=deepstatemap").json()["rows"]
    assert {r["source"] for r in rows} == {"deepstatemap"} and {r["side"] for r in rows} == {"UA"}
    assert [r["series"] for r in rows if r["series"] != LIBERATED] == [SALIENT]  # one row, no example beside it
    [salient] = [r for r in rows if r["series"] == SALIENT]
    latest = max(p for p in files if datetime.fromtimestamp(int(p.stem), UTC).date() <= date(2024, 11, 22))
    observed = datetime.fromtimestamp(int(latest.stem), UTC).date()
    assert (salient["observed_on"], salient["age_days"], salient["stale"]) == (
        observed.isoformat(), (date(2024, 11, 22) - observed).days, False)
    assert salient["title"] == "DeepStateMap — Ukrainian-held ground in Kursk oblast"  # the profile's title
    expected = km2(raw_polygons(latest, "dismissed", "#01579b").intersection(kursk_oblast(settings)))
    assert salient["area_km2"] == pytest.approx(expected, rel=0.01)
    for sliver in (r for r in rows if r["series"] == LIBERATED):  # ground liberated in Ukraine, along the border
        assert sliver["area_km2"] < 0.01 * salient["area_km2"]
    # The example drawn to DeepStateMap's figure is still there, under its own source, when asked for.
    examples = client.get("/stats/area?date=2024-11-22&side=UA&region=kursk-oblast&source=example").json()["rows"]
    assert {r["series"]: r["area_km2"] for r in examples}["example/UA/assessed/deepstatemap"] == pytest.approx(
        560, abs=0.01)


def test_the_full_publications_occupied_layer_yields_to_the_daily_snapshots(client: TestClient,
                                                                            seeded: Connection) -> None:
    import_raw(seeded)
    occupied, daily = "deepstatemap/RU/assessed/occupied", "deepstatemap/RU/assessed/-"
    url = "/stats/area?date=2024-09-01&source=deepstatemap&side=RU"
    assert [r["series"] for r in client.get(url).json()["rows"]] == [occupied]  # alone, it is what there is
    snapshot = shared_data("deepstate", "deepstatemap_data_20240901.geojson")
    assert import_file(seeded, snapshot, load_profile("deepstate-daily")).outcome == "imported"
    [row] = client.get(url).json()["rows"]
    assert (row["series"], row["title"]) == (daily, "DeepStateMap — ground held by Russia (daily snapshots)")
    assert row["area_km2"] == pytest.approx(pyproj_km2(snapshot), rel=0.001)
    [asked] = client.get(f"{url}&series={occupied}").json()["rows"]
    assert (asked["series"], asked["title"]) == (occupied, "DeepStateMap — ground held by Russia (full publications)")
    assert asked["area_km2"] == pytest.approx(row["area_km2"], rel=0.05)  # the same ground, drawn twice
    listed = {r["id"]: r for r in client.get("/series?source=deepstatemap").json()["series"]}
    assert (listed[occupied]["preferred"], listed[occupied]["same_ground_as"]) == (False, daily)
    assert listed[daily]["preferred"] is True
    features = client.get("/control?date=2024-09-01&source=deepstatemap&side=RU").json()["features"]
    assert [f["properties"]["series"] for f in features] == [daily]


# -- towns changing hands, and the size of the default map, on the real archive --------------------------------

def publication_day(path: Path) -> date:
    return datetime.fromtimestamp(int(path.stem), UTC).date()


def expected_change(files: list[Path], point: Point, start: date, end: date) -> tuple[bool, bool, date]:
    """From the files alone: does DeepStateMap's UA-held ground in Kursk cover the point on ``start`` and on
    ``end`` (by the latest publication on or before each), and the first publication day of the later state."""
    covers = {publication_day(p): raw_polygons(p, "dismissed", "#01579b").covers(point) for p in files}
    days = sorted(covers)
    before = max((d for d in days if d <= start), default=None)
    after = max(d for d in days if d <= end)
    held_before = covers[before] if before else False
    changed_on = after
    for day in reversed([d for d in days if (before is None or d > before) and d <= end]):
        if covers[day] != covers[after]:
            break
        changed_on = day
    return held_before, covers[after], changed_on


def test_sudzha_is_taken_on_2024_08_16_and_retaken_by_march_2025(client: TestClient, seeded: Connection) -> None:
    files = import_raw(seeded)
    found = {}
    for start, end in (("2024-08-01", "2024-09-01"), ("2025-02-01", "2025-03-31")):
        held_before, held_after, changed_on = expected_change(files, PLACES["sudzha"], date.fromisoformat(start),
                                                              date.fromisoformat(end))
        rows = client.get(f"/stats/settlements?from={start}&to={end}&case={CASE}").json()["rows"]
        [sudzha] = [r for r in rows if r["place"] == "sudzha"]
        # Where the UA-held ground does not cover it, Sudzha is Russia's by default (Kursk oblast is RU
        # territory in the case).
        holder = {True: "UA", False: "RU"}
        assert (sudzha["series"], sudzha["from_holder"], sudzha["to_holder"], sudzha["changed_on"],
                sudzha["by_default"]) == (SALIENT, holder[held_before], holder[held_after], changed_on.isoformat(),
                                          True), start
        found[start] = (sudzha["from_holder"], sudzha["to_holder"], sudzha["changed_on"])
    assert found["2024-08-01"] == ("RU", "UA", "2024-08-16")
    assert found["2025-02-01"][:2] == ("UA", "RU")


def test_the_default_snapshot_of_the_archive_stays_small(client: TestClient, seeded: Connection) -> None:
    imported = {folder: import_folder(seeded, folder, profile) for folder, profile in (
        ("deepstate-raw", "deepstate-raw"), ("deepstate", "deepstate-daily"), ("isw-kursk", "isw-kursk"),
        ("isw-kursk-later", "isw-kursk"))}
    assert all(imported.values()), imported
    drawn = client.get(f"/control?date=2025-03-14&case={CASE}").json()["features"]
    titles = {f["properties"]["series_title"] for f in drawn}
    assert {f["properties"]["source"] for f in drawn} == {"deepstatemap", "isw"}
    page = client.get("/maps/snapshot?date=2025-03-14")
    assert page.status_code == 200, page.text
    assert all(html.escape(t, quote=False) in page.text for t in titles)  # every series drawn, by title
    assert len(page.content) < 200_000, f"{len(page.content):,} bytes with {imported} files imported"
