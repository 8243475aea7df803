"""Agreement among many claim series (issue 15), against Shapely and pyproj on the same geometries."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Polygon, shape
from sqlalchemy import Connection

from tests.api.test_disagreement import DAY, series
from tests.helpers import km2

# Three boxes north of Sudzha: A and B (both UA) overlap; C (RU) overlaps both; D is a grey zone inside A.
A = Polygon([(35.20, 51.20), (35.35, 51.20), (35.35, 51.29), (35.20, 51.29)])
B = Polygon([(35.30, 51.20), (35.45, 51.20), (35.45, 51.29), (35.30, 51.29)])
C = Polygon([(35.33, 51.25), (35.50, 51.25), (35.50, 51.32), (35.33, 51.32)])
D = Polygon([(35.21, 51.21), (35.24, 51.21), (35.24, 51.23), (35.21, 51.23)])


def agreement(client: TestClient, keys: list[str], **params: str) -> dict[str, Any]:
    response = client.get("/stats/agreement", params={"date": DAY, "series": ",".join(keys), **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_levels_of_agreement_against_shapely(client: TestClient, seeded: Connection) -> None:
    keys = [series(seeded, "test-a", A, "UA"), series(seeded, "test-b", B, "UA"), series(seeded, "test-c", C, "RU")]
    body = agreement(client, keys)
    ua = A.union(B)
    # Consensus needs every series' vote: with three series, no ground has it (C is RU, A and B are UA).
    assert body["totals_km2"]["consensus"] == 0.0
    assert body["totals_km2"]["disputed"] == pytest.approx(km2(ua.intersection(C)), rel=1e-3)
    assert body["totals_km2"]["partial"] == pytest.approx(km2(ua.symmetric_difference(C)), rel=1e-3)
    # Every level names its votes; the ground both UA series give and C does not draw: UA 2, silent 1.
    both = next(v for v in body["levels"] if v["votes"] == {"UA": 2, "silent": 1})
    assert both["km2"] == pytest.approx(km2(A.intersection(B).difference(C)), rel=1e-3)
    # The pieces cover the union of every series' ground, once.
    assert sum(v["km2"] for v in body["levels"]) == pytest.approx(km2(ua.union(C)), rel=0.005)
    assert [(s["series"], s["observed_on"]) for s in body["series"]] == sorted((k, DAY) for k in keys)


def test_consensus_is_the_ground_every_series_concedes(client: TestClient, seeded: Connection) -> None:
    """Two series: what both give to UA is consensus; a grey zone over it is undetermined for that series."""
    keys = [series(seeded, "test-a", A, "UA"), series(seeded, "test-b", B, "UA")]
    body = agreement(client, keys)
    assert body["totals_km2"]["consensus"] == pytest.approx(km2(A.intersection(B)), rel=1e-3)
    assert body["totals_km2"]["partial"] == pytest.approx(km2(A.symmetric_difference(B)), rel=1e-3)
    grey = series(seeded, "test-d", D, None, status="unknown")
    body = agreement(client, [keys[0], grey])
    level = next(v for v in body["levels"] if v["votes"] == {"UA": 1, "unknown": 1, "silent": 0})
    assert level["agreement"] == "partial" and level["km2"] == pytest.approx(km2(D), rel=1e-3)


def test_the_levels_as_features(client: TestClient, seeded: Connection) -> None:
    keys = [series(seeded, "test-a", A, "UA"), series(seeded, "test-c", C, "RU")]
    response = client.get("/stats/agreement", params={"date": DAY, "series": ",".join(keys), "f": "geojson"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/geo+json")
    features = {f["properties"]["agreement"]: f for f in response.json()["features"]}
    assert set(features) == {"disputed", "partial"}
    assert shape(features["disputed"]["geometry"]).symmetric_difference(A.intersection(C)).area < 1e-8
    assert features["disputed"]["properties"]["votes"] == {"RU": 1, "UA": 1, "silent": 0}


def test_known_at_and_the_day_are_the_inputs(client: TestClient, seeded: Connection) -> None:
    keys = [series(seeded, "test-a", A, "UA", day="2024-08-25"), series(seeded, "test-b", B, "UA")]
    body = agreement(client, keys, known_at="2030-01-01T00:00:00Z")
    assert body["known_at"] == "2030-01-01T00:00:00+00:00"
    assert sorted(s["observed_on"] for s in body["series"]) == ["2024-08-25", DAY]
    early = client.get("/stats/agreement", params={"date": "2024-08-28", "series": ",".join(keys)})
    assert early.status_code == 404 and keys[1] in early.json()["detail"]


@pytest.mark.parametrize("keys", ["example/UA/claimed/syrskyi", "example/UA/claimed/syrskyi,example/UA/claimed/syrskyi",
                                  "isw/UA/assessed/nothing,example/UA/claimed/syrskyi", ""])
def test_bad_series_lists_are_400s(client: TestClient, keys: str) -> None:
    response = client.get("/stats/agreement", params={"date": DAY, "series": keys})
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == "series"
