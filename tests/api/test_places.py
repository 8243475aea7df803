"""Settlements: who held a place on a day, per source, and the periods each holder held it."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.helpers import problem, rows


def test_place_control_and_history(client: TestClient) -> None:
    body = client.get("/places/sudzha/control?date=2024-08-25").json()
    assert body["place"]["name"] == "Sudzha"
    assert body["rows"] == [{"source": "syrskyi", "side": "UA", "status": "claimed", "layer": "kursk-incursion",
                             "holds": True, "observed_on": "2024-08-20", "age_days": 5,
                             "held_since": "2024-08-12"}]
    history = rows(client, "/places/sudzha/history?source=syrskyi")
    assert history == [{"source": "syrskyi", "side": "UA", "status": "claimed", "layer": "kursk-incursion",
                        "first_observed": "2024-08-12", "last_observed": "2024-08-27", "ended_by": None,
                        "observations": 3}]
    far = rows(client, "/places/kursk/history")
    assert far == []  # no claim reaches the oblast capital


def test_place_history_csv_and_lookup_by_id(client: TestClient) -> None:
    place_id = client.get("/collections/places/items/plekhovo").json()["id"]
    table = list(csv.DictReader(io.StringIO(client.get(f"/places/{place_id}/history?f=csv").text)))
    assert {r["source"] for r in table} >= {"syrskyi"}


@pytest.mark.parametrize(("url", "status", "parameter"), [
    ("/places/atlantis/history", 404, None),
    ("/places/sudzha/control", 400, "date"),
])
def test_bad_place_requests_are_clear_problems(client: TestClient, url: str, status: int,
                                               parameter: str | None) -> None:
    problem(client.get(url), status, parameter)
