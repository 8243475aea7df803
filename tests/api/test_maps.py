"""Analyst map pages as HTML: what they embed, what they load, how they escape, how they refuse bad input."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy import Connection, text

from app.services.maps import esc
from tests.helpers import add_control_area, add_place, problem

PAGES = ["/maps/snapshot?date=2024-09-15", "/maps/timeline", "/maps/timeline?start=2024-08-01&end=2024-09-30",
         "/maps/compare?from=2024-08-20&to=2024-11-20", "/app", "/docs"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_load_only_from_this_host(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert not re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", page), "the page references another host"
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset


def test_snapshot_shows_the_day_the_observations_used_and_the_km2(client: TestClient) -> None:
    page = client.get("/maps/snapshot?date=2024-09-15").text
    assert "Control on <span id='fl-day'>2024-09-15</span>" in page
    # As of 2024-09-15: Syrskyi's claim of 2024-08-27 (1,294 km²), ISW's 2024-09-11 and the RU MoD's 2024-09-12.
    assert "2024-08-27" in page and "1,294.0" in page and "2024-09-11" in page and "2024-09-12" in page
    assert "Includes illustrative shapes" in page
    for layer in ("Source: isw", "Regions", "Border and lines", "Settlements"):
        assert layer in page
    assert "L.control.scale()" in page and "fl-legend" in page


def test_settlement_popup_says_who_holds_it_and_since_when(client: TestClient) -> None:
    page = client.get("/maps/snapshot?date=2024-08-20").text
    # Syrskyi's claimed area covers Sudzha from his first statement (2024-08-12) on.
    assert re.search(r"<b>Sudzha</b>.*?<td>UA</td><td>claimed</td><td>2024-08-12</td><td>2024-08-20</td>", page)


def test_data_text_is_escaped_in_popups_tooltips_and_layer_names(client: TestClient, seeded: Connection) -> None:
    add_place(seeded, "xss-img", "<img src=x onerror=alert(1)>")
    add_place(seeded, "xss-template", "${alert(2)}`")
    page = client.get("/maps/snapshot?date=2024-09-15").text
    assert "<img src=x" not in page and "${alert(2)}" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&#36;&#123;alert(2)&#125;&#96;" in page


def test_esc_neutralises_markup_and_template_literals() -> None:
    assert esc("<b>'\"&`${x}\\") == "&lt;b&gt;&#x27;&quot;&amp;&#96;&#36;&#123;x&#125;&#92;"
    assert esc(None) == ""


def test_template_syntax_in_data_or_parameters_is_never_evaluated(client: TestClient, seeded: Connection) -> None:
    # branca parses rendered scripts as Jinja templates once more: data must not reach it as template syntax.
    add_place(seeded, "ssti", "{{ 'evalu' ~ 'ated-z' }} {% if true %}yes{% endif %}")
    seeded.execute(text("UPDATE control_areas SET superseded_at = now() WHERE key = 'syrskyi-ua-held-2024-08-20'"))
    add_control_area(seeded, "braces", source="syrskyi", status="claimed", day="2024-08-20", layer="x",
                     name="a {{ name }}", properties={"name": "Liberated {{at}}"},
                     geometry=Point(35.2, 51.2).buffer(0.05, quad_segs=8))
    page = client.get("/maps/snapshot?date=2024-08-20")
    assert page.status_code == 200, page.text
    assert "evaluated-z" not in page.text and "&#123;&#123; &#x27;evalu&#x27; ~" in page.text
    timeline = client.get("/maps/timeline", params={"source": "{{ 'evalu' ~ 'ated-z' }}"})
    assert timeline.status_code == 200 and "evaluated-z" not in timeline.text


def test_compare_totals_match_the_changes_endpoint(client: TestClient) -> None:
    page = client.get("/maps/compare?from=2024-08-20&to=2024-11-20").text
    totals = client.get("/stats/changes?from=2024-08-20&to=2024-11-20&f=json").json()["totals"]
    assert totals
    for row in totals:
        if row["gained_km2"] > 0:
            assert f"+{row['gained_km2']:,.1f}" in page
        if row["lost_km2"] > 0:
            assert f"−{row['lost_km2']:,.1f}" in page


def test_timeline_lists_the_days_with_data_in_its_settings(client: TestClient) -> None:
    page = client.get("/maps/timeline?start=2024-08-01&end=2024-09-30&source=syrskyi").text
    days = re.search(r'"days":\[([^\]]*)\]', page)
    assert days and days.group(1) == '"2024-08-12","2024-08-20","2024-08-27"'
    assert '"filters":{"source":"syrskyi"}' in page


def test_browser_landing_page_is_html_and_clients_still_get_json(client: TestClient) -> None:
    html = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert html.headers["content-type"].startswith("text/html") and "/maps/snapshot" in html.text
    assert "2024-08-12" in html.text  # the first day with data
    assert client.get("/", headers={"Accept": "application/json"}).json()["links"]
    assert client.get("/?f=html").headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("url", "parameter"), [
    ("/maps/snapshot?date=2024-02-30", "date"),
    ("/maps/snapshot?colour=red", "colour"),
    ("/maps/timeline?start=2024-10-01&end=2024-09-01", "start"),
    ("/maps/compare?from=2024-08-20", "to"),
    ("/maps/compare?from=2024-11-20&to=2024-08-20", "from"),
    ("/maps/snapshot?simplify=-1", "simplify"),
    ("/maps/snapshot?status=rumoured", "status"),
])
def test_bad_parameters_are_400_problems(client: TestClient, url: str, parameter: str) -> None:
    problem(client.get(url), 400, parameter)
