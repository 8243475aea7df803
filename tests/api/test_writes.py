"""Editors' writes: tokens and scopes, versions and If-Match, validation and limits, the audit log."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from app.db import tokens
from app.settings import Settings
from tests.helpers import SQUARE, bearer, feature, problem

HISTORY = ("control_areas", "places", "lines", "events", "reported_figures")


def place(key: str = "test-hamlet", name: str = "Test hamlet", **extra: Any) -> dict[str, Any]:
    return feature([35.3, 51.25], "Point", key=key, source="frontline-editors", name=name, kind="village", **extra)


def area(**properties: Any) -> dict[str, Any]:
    return feature([SQUARE], **{"source": "isw", "side": "RU", "status": "assessed", "valid_from": "2024-10-01",
                                "layer": "editor-test", **properties})


def figure(**extra: Any) -> dict[str, Any]:
    return {"key": "test-figure", "source": "syrskyi", "refers_to": "2024-08-20", "side": "UA", "metric":
            "area_held_km2", "value": 1263, "unit": "km2", "status": "claimed", **extra}


def counts(conn: Connection) -> dict[str, int]:
    return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in (*HISTORY, "audit_log")}


WRITES = [
    ("POST", "/collections/places/items", place()),
    ("POST", "/collections/control-areas/items", area()),
    ("POST", "/collections/lines/items", {"type": "Feature", "geometry": {
        "type": "LineString", "coordinates": [[35.0, 51.0], [35.5, 51.2]]}, "properties": {
        "key": "test-line", "source": "frontline-editors", "name": "Test line", "kind": "front-line"}}),
    ("POST", "/collections/events/items", {"type": "Feature", "geometry": None, "properties": {
        "key": "test-event", "source": "isw", "occurred_on": "2024-08-06", "title": "Test", "status": "assessed"}}),
    ("POST", "/reported-figures", figure()),
    ("PUT", "/collections/places/items/sudzha", place("sudzha", "Sudzha")),
    ("DELETE", "/collections/places/items/sudzha", None),
    ("PUT", "/reported-figures/syrskyi-area-2024-08-20", figure(key="syrskyi-area-2024-08-20")),
    ("DELETE", "/reported-figures/syrskyi-area-2024-08-20", None),
]


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_every_write_needs_a_live_write_token(client: TestClient, seeded: Connection, settings: Settings,
                                              method: str, url: str, body: Any) -> None:
    before = counts(seeded)
    reader = bearer(seeded, settings, "reader", "read")
    revoked = bearer(seeded, settings, "gone", "write")
    tokens.revoke_token(seeded, "gone")
    headers = {"If-Match": "*"}
    anonymous = problem(client.request(method, url, json=body, headers=headers), 401)
    assert "Bearer" in client.request(method, url, json=body, headers=headers).headers["www-authenticate"]
    assert "token" in anonymous["detail"]
    problem(client.request(method, url, json=body, headers={**headers, **reader}), 403)
    problem(client.request(method, url, json=body, headers={**headers, **revoked}), 401)
    problem(client.request(method, url, json=body, headers={**headers, "Authorization": "Bearer fl_nonsense"}), 401)
    assert counts(seeded) == before


def test_add_then_read_back_with_location_and_version_tag(client: TestClient, seeded: Connection,
                                                         settings: Settings) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    created = client.post("/collections/places/items", json=place(population=120), headers=writer)
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["population"] == 120
    read = client.get(created.headers["location"])
    assert read.status_code == 200 and read.headers["etag"] == created.headers["etag"]
    assert client.get("/collections/places/items/test-hamlet").headers["etag"] == created.headers["etag"]
    head = client.head("/collections/places/items/test-hamlet")  # what `curl -I` asks
    assert head.status_code == 200 and head.headers["etag"] == created.headers["etag"] and not head.content
    again = problem(client.post("/collections/places/items", json=place(), headers=writer), 409)
    assert "If-Match" in again["detail"]


def test_correction_needs_the_current_version_and_keeps_the_old(client: TestClient, seeded: Connection,
                                                               settings: Settings) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    url = "/collections/places/items/sudzha"
    old = client.get(url)
    corrected = place("sudzha", "Sudzha", population=5000)
    problem(client.put(url, json=corrected, headers=writer), 428)
    problem(client.put(url, json=corrected, headers={**writer, "If-Match": '"stale"'}), 412)
    done = client.put(url, json=corrected, headers={**writer, "If-Match": old.headers["etag"]})
    assert done.status_code == 200, done.text
    assert done.headers["etag"] != old.headers["etag"] and done.json()["properties"]["population"] == 5000
    # The old version is still there, closed; the key now reads the new one.
    superseded = client.get(f"/collections/places/items/{old.json()['id']}").json()
    assert superseded["properties"]["superseded_at"] is not None
    assert client.get(url).json()["id"] == done.json()["id"]
    assert seeded.execute(text("SELECT count(*) FROM places WHERE key = 'sudzha'")).scalar_one() == 2


def test_two_editors_never_overwrite_each_other(client: TestClient, seeded: Connection, settings: Settings) -> None:
    alice, bob = bearer(seeded, settings, "alice", "write"), bearer(seeded, settings, "bob", "write")
    url = "/collections/places/items/plekhovo"
    tag = client.get(url).headers["etag"]
    first = client.put(url, json=place("plekhovo", "Plekhovo", population=300), headers={**alice, "If-Match": tag})
    assert first.status_code == 200
    second = problem(client.put(url, json=place("plekhovo", "Plyokhovo"), headers={**bob, "If-Match": tag}), 412)
    assert "changed since you read it" in second["detail"]
    assert client.get(url).json()["properties"]["name"] == "Plekhovo"


def test_retraction_marks_and_never_deletes(client: TestClient, seeded: Connection, settings: Settings) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    url = "/collections/places/items/sudzha"
    old = client.get(url)
    gone = client.delete(url + "?reason=duplicate", headers={**writer, "If-Match": old.headers["etag"]})
    assert gone.status_code == 204
    assert client.get(url).status_code == 404
    assert client.get(f"/collections/places/items/{old.json()['id']}").status_code == 200
    assert seeded.execute(text("SELECT count(*) FROM places WHERE key = 'sudzha'")).scalar_one() == 1
    problem(client.delete(url, headers={**writer, "If-Match": "*"}), 409)


def test_an_editors_control_area_starts_its_series(client: TestClient, seeded: Connection,
                                                  settings: Settings) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    assert client.get("/series?source=isw").json()["series"] == []
    created = client.post("/collections/control-areas/items", json=area(), headers=writer)
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["series"] == "isw/RU/assessed/editor-test"
    [listed] = client.get("/series?source=isw").json()["series"]
    assert (listed["id"], listed["first_observed"], listed["observations"], listed["preferred"]) == (
        "isw/RU/assessed/editor-test", "2024-10-01", 1, True)
    assert listed["title"] == ("Institute for the Study of War (ISW) / Critical Threats — ground held by Russia, "
                               "assessed (editor-test)")
    [row] = client.get("/stats/area?date=2024-10-01&series=isw/RU/assessed/editor-test").json()["rows"]
    assert row["title"] == listed["title"]


def test_a_figure_can_be_added_corrected_and_read(client: TestClient, seeded: Connection, settings: Settings) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    created = client.post("/reported-figures", json=figure(), headers=writer)
    assert created.status_code == 201 and created.json()["value"] == 1263
    url = created.headers["location"]
    fixed = client.put(url, json=figure(value=1264), headers={**writer, "If-Match": client.get(url).headers["etag"]})
    assert fixed.status_code == 200 and client.get(url).json()["value"] == 1264


@pytest.mark.parametrize(("body", "status", "field"), [
    (area(side="XX"), 422, "side"),
    (area(source="nobody"), 422, "source"),
    (area(side=None), 422, "properties"),  # a held status needs a side
    (area(valid_from=(date.today() + timedelta(days=2)).isoformat()), 422, "properties"),
    (area(valid_from="2024-10-01", valid_until="2024-09-01"), 422, "properties"),
    (area(colour="red"), 422, "properties.colour"),
    ({**area(), "geometry": {"type": "Point", "coordinates": [35.3, 51.2]}}, 422, "geometry"),
    ({**area(), "geometry": {"type": "Polygon", "coordinates": [[[350, 51], [351, 51], [351, 52], [350, 51]]]}},
     422, "geometry"),
    ({**area(), "geometry": {"type": "Polygon", "coordinates": [[[35, 51], [36, 51]]]}}, 422, "geometry"),
    ({**area(), "geometry": None}, 422, "geometry"),
    ({"type": "FeatureCollection", "features": []}, 422, "type"),
])
def test_bad_bodies_are_422_naming_the_field_and_write_nothing(client: TestClient, seeded: Connection,
                                                               settings: Settings, body: Any, status: int,
                                                               field: str) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    before = counts(seeded)
    answer = problem(client.post("/collections/control-areas/items", json=body, headers=writer), status)
    assert answer["field"].startswith(field), answer
    assert counts(seeded) == before


def test_invalid_ring_is_repaired_and_said_so(client: TestClient, seeded: Connection, settings: Settings) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    bowtie = [[35.2, 51.2], [35.3, 51.3], [35.3, 51.2], [35.2, 51.3], [35.2, 51.2]]
    created = client.post("/collections/control-areas/items",
                          json={**area(), "geometry": {"type": "Polygon", "coordinates": [bowtie]}}, headers=writer)
    assert created.status_code == 201 and "Self-intersection" in created.headers["frontline-repaired"]
    assert created.json()["geometry"]["type"] == "MultiPolygon"


def test_limits_on_vertices_and_body_size(client: TestClient, seeded: Connection, settings: Settings) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    ring = [[35.0 + i * 1e-5, 51.0] for i in range(settings.max_vertices)] + [[35.0, 51.1], [35.0, 51.0]]
    many = client.post("/collections/control-areas/items",
                       json={**area(), "geometry": {"type": "Polygon", "coordinates": [ring]}}, headers=writer)
    assert problem(many, 413)["field"] == "geometry"
    huge = client.post("/collections/places/items", content=b"{" + b" " * (settings.max_body_bytes + 10) + b"}",
                       headers={**writer, "Content-Type": "application/json"})
    problem(huge, 413)
    streamed = client.post("/collections/places/items", headers={**writer, "Content-Type": "application/json"},
                           content=iter([b"{", b" " * (settings.max_body_bytes + 10), b"}"]))  # no Content-Length
    problem(streamed, 413)


def test_audit_says_who_wrote_what_to_admins_only(client: TestClient, seeded: Connection,
                                                  settings: Settings) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    admin = bearer(seeded, settings, "chief", "admin")
    client.post("/collections/places/items", json=place(), headers=writer)
    problem(client.get("/admin/audit", headers=writer), 403)
    entries = client.get("/admin/audit?token=editor-a", headers=admin).json()["entries"]
    assert [(e["token_name"], e["action"], e["collection"], e["key"]) for e in entries] == [
        ("editor-a", "create", "places", "test-hamlet")]


# -- claim series: titles and preferences from an editor ------------------------------------------------------

def test_an_editor_titles_a_series_and_sets_which_it_yields_to(seeded: Connection, settings: Settings,
                                                               client: TestClient) -> None:
    headers = bearer(seeded, settings, "series-editor", "write")
    syrskyi, deepstate = "example/UA/claimed/syrskyi", "example/UA/assessed/deepstatemap"
    assert client.patch(f"/series/{syrskyi}", json={"title": "Claimed by Syrskyi (example)"}).status_code == 401
    assert client.patch(f"/series/{syrskyi}", headers=headers,
                        json={"title": "Claimed by Syrskyi (example)"}).status_code == 204
    listed = {s["id"]: s for s in client.get("/series?source=example").json()["series"]}
    assert listed[syrskyi]["title"] == "Claimed by Syrskyi (example)"
    rows = client.get("/stats/area?date=2024-08-27&source=example").json()["rows"]
    assert [r["title"] for r in rows if r["series"] == syrskyi] == ["Claimed by Syrskyi (example)"]

    assert client.patch(f"/series/{syrskyi}", headers=headers, json={"same_ground_as": deepstate}).status_code == 204
    listed = {s["id"]: s for s in client.get("/series?source=example").json()["series"]}
    assert listed[syrskyi]["preferred"] is False and listed[syrskyi]["same_ground_as"] == deepstate
    assert syrskyi not in {r["series"] for r in client.get("/stats/area?date=2024-11-22&source=example").json()["rows"]}
    assert client.patch(f"/series/{syrskyi}", headers=headers, json={"same_ground_as": ""}).status_code == 204
    assert client.get("/series?source=example").json()["series"][0]["same_ground_as"] is None
    entries = seeded.execute(text("SELECT action, key FROM audit_log WHERE collection = 'series'")).all()
    assert [tuple(e) for e in entries] == [("correct", syrskyi)] * 3


@pytest.mark.parametrize(("key", "body", "status", "field"), [
    ("example/UA/claimed/nope", {"title": "x"}, 404, None),
    ("example/UA/claimed/syrskyi", {"same_ground_as": "example/UA/claimed/syrskyi"}, 422, "same_ground_as"),
    ("example/UA/claimed/syrskyi", {"same_ground_as": "nope/UA/claimed/-"}, 422, "same_ground_as"),
    ("example/UA/claimed/syrskyi", {}, 422, "body"),
    ("example/UA/claimed/syrskyi", {"title": ""}, 422, "title"),
    ("example/UA/claimed/syrskyi", {"colour": "red"}, 422, "colour"),
])
def test_bad_series_edits_are_refused_and_change_nothing(seeded: Connection, settings: Settings, client: TestClient,
                                                         key: str, body: dict[str, Any], status: int,
                                                         field: str | None) -> None:
    headers = bearer(seeded, settings, "series-editor", "write")
    before = client.get("/series?source=example").json()
    found = problem(client.patch(f"/series/{key}", headers=headers, json=body), status)
    if field:
        assert found["field"] == field
    assert client.get("/series?source=example").json() == before


@pytest.mark.parametrize("given", ["DeepStateMap", "DeepState Map", "deep-state-map", "deepstatemap"])
def test_a_source_is_named_by_slug_or_name_and_stored_by_slug(client: TestClient, seeded: Connection,
                                                             settings: Settings, given: str) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    created = client.post("/collections/control-areas/items", json=area(source=given), headers=writer)
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["source"] == "deepstatemap"
    assert created.json()["properties"]["series"] == "deepstatemap/RU/assessed/editor-test"
    stored = seeded.execute(text(
        "SELECT s.slug FROM control_areas a JOIN sources s ON s.id = a.source_id WHERE a.layer = 'editor-test'"
    )).scalars().all()
    assert stored == ["deepstatemap"]
    assert seeded.execute(text("SELECT count(*) FROM sources WHERE slug <> 'deepstatemap' AND "
                               "lower(name) LIKE '%deep%'")).scalar_one() == 0  # no second DeepStateMap


@pytest.mark.parametrize(("given", "named"), [("DeepStateMaps", "deepstatemap"), ("Deep State", "deepstatemap"),
                                              ("Frontline editor", "frontline-editors")])
def test_a_near_miss_of_a_source_is_a_422_naming_it(client: TestClient, seeded: Connection, settings: Settings,
                                                   given: str, named: str) -> None:
    writer = bearer(seeded, settings, "editor-a", "write")
    before = counts(seeded)
    answer = problem(client.post("/collections/control-areas/items", json=area(source=given), headers=writer), 422)
    assert answer["field"] == "source" and given in answer["detail"] and named in answer["detail"]
    assert counts(seeded) == before
    body = place()
    body["properties"]["source"] = "Kharkiv Observer"
    unknown = problem(client.post("/collections/places/items", json=body, headers=writer), 422)
    assert unknown["field"] == "source" and "deepstatemap (DeepStateMap)" in unknown["detail"]  # the sources there are
