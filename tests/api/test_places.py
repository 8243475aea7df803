"""Settlements: who held a place on a day, per series (holder, by default or explicitly), and the periods each
holder held it."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy import Connection

from tests.helpers import (
    CASE,
    EXAMPLE_SERIES,
    SUDZHA,
    SYRSKYI_EXAMPLE,
    add_observations,
    add_place,
    around,
    case_ground,
    problem,
    rows,
)

CONTROL_COLUMNS = ("series", "title", "source", "side", "status", "layer", "holds", "observed_on", "age_days",
                   "held_since")
HISTORY_COLUMNS = ("series", "title", "source", "side", "status", "layer", "first_observed", "last_observed",
                   "ended_by", "observations")


def test_place_control_and_history(client: TestClient) -> None:
    body = client.get("/places/sudzha/control?date=2024-08-25&source=example").json()
    assert body["place"]["name"] == "Sudzha"
    found = [{k: r[k] for k in CONTROL_COLUMNS} for r in body["rows"]]
    assert found == [{"series": SYRSKYI_EXAMPLE, "title": EXAMPLE_SERIES[SYRSKYI_EXAMPLE], "source": "example",
                      "side": "UA", "status": "claimed", "layer": "syrskyi", "holds": True,
                      "observed_on": "2024-08-20", "age_days": 5, "held_since": "2024-08-12"}]
    history = rows(client, f"/places/sudzha/history?series={SYRSKYI_EXAMPLE}")
    assert [{k: r[k] for k in HISTORY_COLUMNS} for r in history] == [
        {"series": SYRSKYI_EXAMPLE, "title": EXAMPLE_SERIES[SYRSKYI_EXAMPLE], "source": "example", "side": "UA",
         "status": "claimed", "layer": "syrskyi", "first_observed": "2024-08-12", "last_observed": "2024-08-27",
         "ended_by": None, "observations": 3}]
    far = rows(client, "/places/kursk/history?source=example")
    assert far == []  # no claim reaches the oblast capital


def test_place_history_csv_and_lookup_by_id(client: TestClient) -> None:
    place_id = client.get("/collections/places/items/plekhovo").json()["id"]
    table = list(csv.DictReader(io.StringIO(client.get(f"/places/{place_id}/history?source=example&f=csv").text)))
    assert {r["series"] for r in table} >= {SYRSKYI_EXAMPLE}
    assert {r["title"] for r in table} >= {EXAMPLE_SERIES[SYRSKYI_EXAMPLE]}


def test_examples_are_left_out_of_place_answers_unless_asked_for(seeded: Connection, client: TestClient) -> None:
    assert rows(client, "/places/sudzha/control?date=2024-08-25") == []
    assert rows(client, "/places/sudzha/history") == []
    # A real series over a village inside the square north of Sudzha, with its made title.
    add_place(seeded, "test-village", "Test village", lon=35.25, lat=51.25)
    real = add_observations(seeded, "deepstatemap", "UA", "assessed", "kursk-salient",
                            [date(2024, 8, 26), date(2024, 8, 27)])
    [row] = rows(client, "/places/test-village/control?date=2024-08-30")
    assert (row["series"], row["title"], row["holds"], row["held_since"], row["age_days"]) == (
        real, "DeepStateMap — ground held by Ukraine, assessed (kursk-salient)", True, "2024-08-26", 3)
    [period] = rows(client, "/places/test-village/history")
    assert (period["series"], period["first_observed"], period["last_observed"]) == (real, "2024-08-26", "2024-08-27")
    with_examples = rows(client, "/places/sudzha/history?source=example,deepstatemap")
    assert {r["source"] for r in with_examples} == {"example"}  # the square does not reach Sudzha
    problem(client.get("/places/sudzha/history?series=nowhere"), 400, "series")
    problem(client.get("/places/sudzha/control?date=2024-08-25&source=atlantis"), 400, "source")


@pytest.mark.parametrize(("url", "status", "parameter"), [
    ("/places/atlantis/history", 404, None),
    ("/places/sudzha/control", 400, "date"),
])
def test_bad_place_requests_are_clear_problems(client: TestClient, url: str, status: int,
                                               parameter: str | None) -> None:
    problem(client.get(url), status, parameter)


# -- who holds a town: the series' side, the grey zone, or the territory's own side by default ----------------

SALIENT = "deepstatemap/UA/assessed/kursk-salient"
GREY = "deepstatemap/-/unknown/unknown"
KRASNOPILLYA = (35.25965, 50.77458)  # a GeoNames town of Sumy oblast, inside the case's 30 km band
DAY = date(2024, 8, 20)


def holders(client: TestClient, place: str, query: str = "") -> dict[str, tuple[bool, str | None, bool]]:
    """Per series: (holds, holder, by_default) of a place on DAY."""
    found = rows(client, f"/places/{place}/control?date={DAY}&source=deepstatemap,isw{query}")
    return {r["series"]: (r["holds"], r["holder"], r["by_default"]) for r in found}


def test_the_town_band_place_lies_where_this_module_says(client: TestClient) -> None:
    ground = case_ground(client)
    regions = {f["properties"]["key"]: shape(f["geometry"])
               for f in client.get("/collections/regions/items").json()["features"]}
    town = shape(client.get("/collections/places/items/krasnopillya").json()["geometry"])
    assert town.equals_exact(Point(KRASNOPILLYA), 1e-5)
    assert ground.covers(town) and regions["ukraine"].covers(town) and not regions["kursk-oblast"].covers(town)
    belgorod = shape(client.get("/collections/places/items/belgorod").json()["geometry"])
    assert not ground.covers(belgorod)


def test_a_series_covering_a_town_holds_it_explicitly(seeded: Connection, client: TestClient) -> None:
    add_observations(seeded, "deepstatemap", "UA", "assessed", "kursk-salient", [DAY], geometry=around(*SUDZHA))
    assert holders(client, "sudzha") == {SALIENT: (True, "UA", False)}
    body = client.get(f"/places/sudzha/control?date={DAY}&source=deepstatemap").json()
    assert set(body["rows"][0]) >= {"holder", "by_default"}


def test_a_one_sided_series_that_does_not_cover_a_town_leaves_it_to_its_territory(seeded: Connection,
                                                                                  client: TestClient) -> None:
    add_observations(seeded, "deepstatemap", "UA", "assessed", "kursk-salient", [DAY])  # north of Sudzha
    # Kursk oblast is Russia's in the case; the band of Sumy oblast Ukraine's; Belgorod is in no case.
    assert holders(client, "sudzha") == {SALIENT: (False, "RU", True)}
    assert holders(client, "krasnopillya") == {SALIENT: (False, "UA", True)}
    assert holders(client, "belgorod") == {SALIENT: (False, None, False)}
    assert holders(client, "sudzha", f"&case={CASE}") == {SALIENT: (False, "RU", True)}
    problem(client.get(f"/places/sudzha/control?date={DAY}&case=atlantis"), 400, "case")


def test_the_same_sources_grey_zone_makes_a_town_unknown(seeded: Connection, client: TestClient) -> None:
    add_observations(seeded, "deepstatemap", "UA", "assessed", "kursk-salient", [DAY])  # not over any town
    add_observations(seeded, "deepstatemap", None, "unknown", "unknown", [DAY], geometry=around(*KRASNOPILLYA))
    assert holders(client, "krasnopillya") == {SALIENT: (False, "unknown", False), GREY: (True, "unknown", False)}
    # Sudzha is outside the grey zone: the territory's side, by default; the grey zone says nothing of it.
    assert holders(client, "sudzha") == {SALIENT: (False, "RU", True), GREY: (False, None, False)}


def test_another_sources_grey_zone_does_not_make_a_town_unknown(seeded: Connection, client: TestClient) -> None:
    add_observations(seeded, "deepstatemap", "UA", "assessed", "kursk-salient", [DAY])
    isw_grey = add_observations(seeded, "isw", None, "contested", "test-grey", [DAY], geometry=around(*SUDZHA))
    assert holders(client, "sudzha") == {SALIENT: (False, "RU", True), isw_grey: (True, "unknown", False)}


# -- finding a place by name (the maps' search box) ------------------------------------------------------------

def found(client: TestClient, q: str, **params: object) -> list[str]:
    """The keys GET /places?q= answers with, in order."""
    response = client.get("/places", params={"q": q, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["q"] == q.strip() and body["numberReturned"] == len(body["rows"])
    return [row["key"] for row in body["rows"]]


def test_a_place_is_found_by_part_of_its_name_or_of_a_cyrillic_name(client: TestClient) -> None:
    assert found(client, "plek")[0] == "plekhovo"
    assert found(client, "PLYOKH") == ["plekhovo"]  # an alternative spelling
    assert found(client, "Плёх") == ["plekhovo"] and found(client, "ПЛЁХОВО") == ["plekhovo"]  # Cyrillic, any case
    assert found(client, "Суджа") == ["sudzha"]
    [sudzha] = client.get("/places", params={"q": "sudzha"}).json()["rows"]
    assert (sudzha["name"], sudzha["lon"], sudzha["lat"], sudzha["region"]) == ("Sudzha", SUDZHA[0], SUDZHA[1],
                                                                                 "kursk-oblast")
    assert found(client, "%") == [] and found(client, "_") == []  # LIKE's wildcards are searched as text


def test_names_equal_to_the_text_come_first_then_those_that_start_with_it(seeded: Connection,
                                                                            client: TestClient) -> None:
    add_place(seeded, "test-nosumy", "Nosumy")
    add_place(seeded, "test-sumyivka", "Sumyivka")
    keys = found(client, "sumy")
    assert keys[0] == "sumy" and keys.index("test-sumyivka") < keys.index("test-nosumy")
    assert len(found(client, "a", limit=3)) == 3
    assert client.get("/places", params={"q": "sumy", "f": "csv"}).text.splitlines()[0] == (
        "key,name,alt_names,kind,population,region,lon,lat")


@pytest.mark.parametrize("query", ["", "?q=", "?q=%20%20", f"?q={'x' * 101}", "?q=sumy&limit=0",
                                   "?q=sumy&limit=101", "?q=sumy&colour=red"])
def test_bad_searches_are_400_problems(client: TestClient, query: str) -> None:
    body = problem(client.get(f"/places{query}"), 400)
    assert body["detail"]
