"""Disagreement between two claim series (issue 15), against Shapely and pyproj on the same geometries."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Polygon, shape
from sqlalchemy import Connection

from tests.helpers import add_control_area, km2

DAY = "2024-09-01"
# Two overlapping boxes north of Sudzha (lon/lat): B is A moved 0.1° east.
A = Polygon([(35.2, 51.2), (35.35, 51.2), (35.35, 51.29), (35.2, 51.29)])
B = Polygon([(35.3, 51.2), (35.45, 51.2), (35.45, 51.29), (35.3, 51.29)])


def series(conn: Connection, layer: str, geometry: Polygon, side: str | None, status: str = "assessed",
           day: str = DAY) -> str:
    """One observation of a series of ISW's on ``day``; its id."""
    add_control_area(conn, f"isw/{side or '-'}/{status}/{layer}/{day}", side=side, status=status, layer=layer,
                     day=day, geometry=geometry)
    return f"isw/{side or '-'}/{status}/{layer}"


def compare(client: TestClient, a: str, b: str, **params: str) -> dict[str, Any]:
    response = client.get("/stats/disagreement", params={"date": DAY, "a": a, "b": b, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize(("b_side", "kind"), [("UA", "agreed"), ("RU", "opposed"), (None, "undetermined")])
def test_the_common_ground_is_agreed_opposed_or_undetermined(client: TestClient, seeded: Connection,
                                                            b_side: str | None, kind: str) -> None:
    a = series(seeded, "test-a", A, "UA")
    b = series(seeded, "test-b", B, b_side, status="unknown" if b_side is None else "assessed")
    body = compare(client, a, b)
    common = km2(A.intersection(B))
    assert body[f"{kind}_km2"] == pytest.approx(common, rel=1e-3)
    assert [body[f"{k}_km2"] for k in ("agreed", "opposed", "undetermined") if k != kind] == [0.0, 0.0]
    assert body["only_a_km2"] == pytest.approx(km2(A.difference(B)), rel=1e-3)
    assert body["only_b_km2"] == pytest.approx(km2(B.difference(A)), rel=1e-3)
    # The check: agreed + opposed (+ undetermined) + only A = A, within 0.5 %.
    parts = body["agreed_km2"] + body["opposed_km2"] + body["undetermined_km2"] + body["only_a_km2"]
    assert parts == pytest.approx(km2(A), rel=0.005)
    # Every figure carries its inputs: the series and the observation day each was taken from.
    assert [(s["role"], s["series"], s["observed_on"]) for s in body["series"]] == [("a", a, DAY), ("b", b, DAY)]
    assert body["series"][0]["area_km2"] == pytest.approx(km2(A), rel=1e-3)


def test_each_series_is_taken_as_of_its_latest_observation(client: TestClient, seeded: Connection) -> None:
    a = series(seeded, "test-a", A, "UA", day="2024-08-25")
    b = series(seeded, "test-b", B, "RU", day="2024-08-30")
    body = compare(client, a, b)
    assert [s["observed_on"] for s in body["series"]] == ["2024-08-25", "2024-08-30"]
    missing = client.get("/stats/disagreement", params={"date": "2024-08-26", "a": a, "b": b})
    assert missing.status_code == 404 and "no observation on or before 2024-08-26" in missing.json()["detail"]


def test_the_grounds_as_features(client: TestClient, seeded: Connection) -> None:
    a, b = series(seeded, "test-a", A, "UA"), series(seeded, "test-b", B, "RU")
    features = {f["properties"]["kind"]: f for f in compare(client, a, b, f="geojson")["features"]}
    assert set(features) == {"opposed", "only_a", "only_b"}
    assert shape(features["opposed"]["geometry"]).symmetric_difference(A.intersection(B)).area < 1e-8
    assert features["only_a"]["properties"]["km2"] == pytest.approx(km2(A.difference(B)), rel=1e-3)


def test_cut_to_a_region(client: TestClient, seeded: Connection) -> None:
    """Cut to Kursk oblast: the figures shrink to the part inside it and still add up."""
    a, b = series(seeded, "test-a", A, "UA"), series(seeded, "test-b", B, "RU")
    whole, cut = compare(client, a, b), compare(client, a, b, region="kursk-oblast")
    assert cut["opposed_km2"] <= whole["opposed_km2"] and cut["only_a_km2"] <= whole["only_a_km2"]
    assert cut["opposed_km2"] + cut["only_a_km2"] == pytest.approx(cut["series"][0]["area_km2"], rel=0.005)


@pytest.mark.parametrize(("params", "parameter"), [
    ({"a": "isw/UA/assessed/nothing", "b": "example/UA/claimed/syrskyi"}, "a"),
    ({"a": "example/UA/claimed/syrskyi", "b": "example/UA/claimed/syrskyi"}, "b"),
    ({"a": "example/UA/claimed/syrskyi"}, "b"),
])
def test_bad_series_are_400s_naming_them(client: TestClient, params: dict[str, str], parameter: str) -> None:
    response = client.get("/stats/disagreement", params={"date": DAY, **params})
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter


def test_the_map_shows_the_same_figures(client: TestClient, seeded: Connection) -> None:
    """/maps/disagreement: a layer per kind of ground and the km² of /stats/disagreement in its title (cut to
    the page's case, as the figures endpoint is with case=)."""
    a, b = series(seeded, "test-a", A, "UA"), series(seeded, "test-b", B, "RU")
    figures = compare(client, a, b, case="kursk-incursion")
    page = client.get("/maps/disagreement", params={"date": DAY, "a": a, "b": b})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for kind in ("agreed", "opposed", "undetermined", "only_a", "only_b"):
        shown = f"{figures[f'{kind}_km2']:,.1f}"
        assert f"data-kind='{kind}'>{shown}</td>" in page.text, kind
    assert "opposed: they give it to opposite sides" in page.text
    assert client.get("/maps/disagreement", params={"date": DAY, "a": a}).status_code == 400
