"""Analyst map pages as HTML: what they embed, what they load, how they escape, how they refuse bad input."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy import Connection, text

from app.services import images
from app.services.maps import esc
from tests.helpers import (
    CASE,
    EXAMPLE_SERIES,
    SUDZHA,
    SYRSKYI_EXAMPLE,
    add_control_area,
    add_observations,
    add_place,
    around,
    every,
    problem,
    rows,
    script_config,
)

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


def layer_items(page: str) -> list[dict[str, Any]]:
    """The entries of a map page's layer list: group, key, (short) title, full title, on, fronts."""
    return list(script_config(page)["layers"])


def overlay_names(page: str) -> list[str]:
    """The full names of a map page's toggleable layers (the layer list shows short titles, these in tooltips)."""
    return [item["full"] for item in layer_items(page)]


def settlements(page: str) -> list[dict[str, Any]]:
    """The settlements a page draws (maps.js ``frontline.places``): label and popup as the markup sent."""
    found = re.search(r"frontline\.places\(\w+, \w+, (\[.*?\])\);", page)
    assert found, "the page draws no settlements"
    return list(json.loads(found.group(1)))


def shown(page: str) -> str:
    """The page's markup with the settlements' labels and popups decoded from their script data."""
    return page + "".join(p["label"] + p["popup"] for p in settlements(page))


def title_panel(page: str) -> str:
    """The text of a map page's bar and drawer (heading, case, warnings, the table of km²), rendered on one line."""
    start = page.index("<header class='fl-bar' id='fl-bar'>")
    return html.unescape(re.sub(r"<[^>]+>", " ", page[start:page.index("\n", start)]))


def test_snapshot_shows_the_day_the_observations_used_and_the_km2(client: TestClient) -> None:
    page = client.get("/maps/snapshot?date=2024-09-15&source=example").text
    assert "Control on <span id='fl-day'>2024-09-15</span>" in page
    # As of 2024-09-15: Syrskyi's claim of 2024-08-27 (1,294 km²), ISW's 2024-09-11 and the RU MoD's 2024-09-12.
    assert "2024-08-27" in page and "1,294.0" in page and "2024-09-11" in page and "2024-09-12" in page
    assert "Includes illustrative shapes" in page
    shown = {key: title for key, title in EXAMPLE_SERIES.items() if "deepstatemap" not in key}  # not before 11-22
    # One layer per claim series, named by its title (no "Source: slug" layers any more).
    assert sorted(overlay_names(page)) == sorted(["Regions", "Border and lines", "Settlements", *shown.values()])
    assert "Source: " not in page
    panel = title_panel(page)
    assert all(title in panel for title in shown.values())
    assert "L.control.scale()" in page and "fl-legend" in page


def test_snapshot_says_illustrative_only_when_examples_are_shown(seeded: Connection, client: TestClient) -> None:
    default = client.get("/maps/snapshot?date=2024-09-15").text
    assert "illustrative" not in title_panel(default).lower()
    assert "Example:" not in default and not any(title in html.unescape(default) for title in EXAMPLE_SERIES.values())
    assert overlay_names(default) == ["Regions", "Border and lines", "Settlements"]
    add_control_area(seeded, "isw/RU/assessed/kursk-ru-advances/2024-09-11", source="isw", side="RU",
                     layer="kursk-ru-advances", day="2024-09-11")
    real = client.get("/maps/snapshot?date=2024-09-15").text
    made = ("Institute for the Study of War (ISW) / Critical Threats — ground held by Russia, assessed "
            "(kursk-ru-advances)")
    assert "illustrative" not in title_panel(real).lower() and made in title_panel(real)
    assert overlay_names(real) == ["Regions", "Border and lines", "Settlements", made]
    assert made in html.unescape(real)  # the tooltip's title too
    shown = client.get("/maps/snapshot?date=2024-09-15&source=example,isw").text
    assert "Includes illustrative shapes" in title_panel(shown) and made in title_panel(shown)
    assert EXAMPLE_SERIES[SYRSKYI_EXAMPLE] in overlay_names(shown) and made in overlay_names(shown)
    only = client.get(f"/maps/snapshot?date=2024-09-15&series={SYRSKYI_EXAMPLE}").text
    assert overlay_names(only)[3:] == [EXAMPLE_SERIES[SYRSKYI_EXAMPLE]]
    assert "Includes illustrative shapes" in title_panel(only)


def test_settlement_popup_says_who_holds_it_and_since_when(client: TestClient) -> None:
    page = client.get("/maps/snapshot?date=2024-08-20&source=example").text
    # Syrskyi's claimed area (the example drawn to his figures) covers Sudzha from the first one (2024-08-12) on.
    [sudzha] = [p["popup"] for p in settlements(page) if p["label"] == "Sudzha"]
    assert re.search(r"<b>Sudzha</b>.*?<td title='example/UA/claimed/syrskyi'>Example: Syrskyi&#x27;s claimed area, "
                     r"drawn to his figures</td><td>UA</td><td>claimed</td><td>2024-08-12</td><td>2024-08-20</td>",
                     sudzha, re.DOTALL)
    default = client.get("/maps/snapshot?date=2024-08-20").text
    assert re.search(r"<b>Sudzha</b>", shown(default)) and "example/UA/claimed/syrskyi" not in shown(default)


def test_data_text_is_escaped_in_popups_tooltips_and_layer_names(client: TestClient, seeded: Connection) -> None:
    add_place(seeded, "xss-img", "<img src=x onerror=alert(1)>")
    add_place(seeded, "xss-template", "${alert(2)}`")
    page = shown(client.get("/maps/snapshot?date=2024-09-15").text)  # the labels and popups as inserted
    assert "<img src=x" not in page and "${alert(2)}" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&#36;&#123;alert(2)&#125;&#96;" in page


def test_esc_neutralises_markup_and_template_literals() -> None:
    assert esc("<b>'\"&`${x}\\") == "&lt;b&gt;&#x27;&quot;&amp;&#96;&#36;&#123;x&#125;&#92;"
    assert esc(None) == ""


def test_template_syntax_in_data_or_parameters_is_never_evaluated(client: TestClient, seeded: Connection) -> None:
    # branca parses rendered scripts as Jinja templates once more: data must not reach it as template syntax.
    add_place(seeded, "ssti", "{{ 'evalu' ~ 'ated-z' }} {% if true %}yes{% endif %}")
    seeded.execute(text("UPDATE control_areas SET superseded_at = now() WHERE key = 'syrskyi-ua-held-2024-08-20'"))
    add_control_area(seeded, "braces", source="syrskyi", status="claimed", day="2024-08-20", layer="{{ layer }}",
                     name="a {{ name }}", properties={"name": "Liberated {{at}}"},
                     geometry=Point(35.2, 51.2).buffer(0.05, quad_segs=8))
    seeded.execute(text("UPDATE series SET title = :title WHERE key = 'syrskyi/UA/claimed/{{ layer }}'"),
                   {"title": "{{ 'evalu' ~ 'ated-t' }}"})
    page = client.get("/maps/snapshot?date=2024-08-20")
    assert page.status_code == 200, page.text
    assert "evaluated-z" not in shown(page.text) and "&#123;&#123; &#x27;evalu&#x27; ~" in shown(page.text)
    assert "evaluated-t" not in page.text and "&#123;&#123; &#x27;evalu&#x27; ~ &#x27;ated-t&#x27;" in page.text
    timeline = client.get("/maps/timeline", params={"side": "{{ 'evalu' ~ 'ated-z' }}"})
    assert timeline.status_code == 200 and "evaluated-z" not in timeline.text
    refused = client.get("/maps/timeline", params={"source": "{{ 'evalu' ~ 'ated-z' }}"})
    assert "evaluated-z" not in problem(refused, 400, "source")["detail"]


def test_compare_totals_match_the_changes_endpoint(client: TestClient) -> None:
    page = client.get("/maps/compare?from=2024-08-20&to=2024-11-20&source=example").text
    totals = client.get("/stats/changes?from=2024-08-20&to=2024-11-20&f=json&source=example").json()["totals"]
    assert totals
    for row in totals:
        if row["gained_km2"] > 0:
            assert f"+{row['gained_km2']:,.1f}" in page
        if row["lost_km2"] > 0:
            assert f"−{row['lost_km2']:,.1f}" in page
    # Rows and layers named by the series' titles.
    assert {row["title"] for row in totals} <= set(overlay_names(page))
    assert all(f"<td title='{row['series']}'>{esc(row['title'])}</td>" in page for row in totals)
    default = client.get("/maps/compare?from=2024-08-20&to=2024-11-20").text
    assert overlay_names(default) == ["Regions", "Border and lines", "Settlements"]
    assert "example/" not in default


def test_timeline_lists_the_days_with_data_in_its_settings(client: TestClient) -> None:
    page = client.get(f"/maps/timeline?start=2024-08-01&end=2024-09-30&series={SYRSKYI_EXAMPLE}").text
    days = re.search(r'"days":\[([^\]]*)\]', page)
    assert days and days.group(1) == '"2024-08-12","2024-08-20","2024-08-27"'
    assert f'"series":"{SYRSKYI_EXAMPLE}"' in page  # the slider's requests ask for the same series
    examples = client.get("/maps/timeline?start=2024-08-01&end=2024-12-31&source=example").text
    days = re.search(r'"days":\[([^\]]*)\]', examples)
    assert days and days.group(1).split(",") == [
        '"2024-08-12"', '"2024-08-20"', '"2024-08-27"', '"2024-09-11"', '"2024-09-12"', '"2024-10-24"',
        '"2024-11-20"', '"2024-11-22"']
    default = client.get("/maps/timeline?start=2024-08-01&end=2024-12-31").text
    assert '"days":[]' in default  # examples are no days with data


def test_the_timeline_asks_its_data_urls_with_parameters_they_accept(client: TestClient) -> None:
    page = client.get(f"/maps/timeline?day=2024-08-20&series={SYRSKYI_EXAMPLE}").text
    config = script_config(page, "frontline.timeline(")
    assert config["filters"]["series"] == SYRSKYI_EXAMPLE
    # What maps.js asks as the slider moves and when a settlement's popup opens: each answer must be a 200.
    asked = {**config["filters"], "date": "2024-08-20"}
    for url in (config["controlUrl"], config["areaUrl"], config["placeUrl"].replace("__KEY__", "sudzha")):
        response = client.get(url, params=asked)
        assert response.status_code == 200, f"{url}: {response.text}"
    held = client.get(config["placeUrl"].replace("__KEY__", "sudzha"), params=asked).json()["rows"]
    assert [row["series"] for row in held if row["holds"]] == [SYRSKYI_EXAMPLE]


def test_browser_landing_page_is_html_and_clients_still_get_json(seeded: Connection, client: TestClient) -> None:
    add_control_area(seeded, "isw/RU/assessed/kursk-ru-advances/2024-09-03", source="isw", side="RU",
                     layer="kursk-ru-advances", day="2024-09-03")
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.headers["content-type"].startswith("text/html") and "/maps/snapshot" in page.text
    assert "Data from <b>2024-09-03</b>" in page.text  # the first day with data: the examples' are not
    assert "examples-only" not in page.text and 'value="example"' not in page.text
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
    ("/maps/snapshot?series=example/UA/claimed/nowhere", "series"),
    ("/maps/timeline?source=atlantis", "source"),
    ("/maps/compare?from=2024-08-20&to=2024-11-20&source=DeepStateMaps", "source"),
])
def test_bad_parameters_are_400_problems(client: TestClient, url: str, parameter: str) -> None:
    problem(client.get(url), 400, parameter)


def test_landing_page_with_only_the_seed_opens_the_maps_on_the_examples_and_says_so(client: TestClient) -> None:
    page = client.get("/app").text
    assert "id='examples-only'" in page and "illustrative examples" in page
    assert page.count('<input type="hidden" name="source" value="example">') == 3  # snapshot, timeline, compare
    assert "2024-08-12</b>" not in page and "2024-08-12 to 2024-11-22" in page  # the examples' days
    assert "/sources" in page and "/series" in page and "/cases" in page
    # Two sources to compare, among the example series: the form opens /maps/disagreement on two of them.
    form = re.search(r"<form action=\"([^\"]+)\" method=\"get\" id=\"disagreement-form\">(.*?)</form>", page, re.S)
    assert form is not None and form.group(1) == "/maps/disagreement"
    chosen = re.findall(r"<option value=\"([^\"]+)\" selected>", form.group(2))
    assert len(chosen) == 2 and chosen[0] != chosen[1] and all(c in EXAMPLE_SERIES for c in chosen)
    day = re.search(r'name="date" value="([^"]+)"', form.group(2)).group(1)  # the last day with data
    opened = client.get("/maps/disagreement", params={"date": day, "a": chosen[0], "b": chosen[1]})
    assert opened.status_code == 200
    gif = re.search(r'href="([^"]+)" id="timeline-gif"', page)
    assert gif is not None and gif.group(1) == "/maps/timeline.gif?source=example"


# -- cases, stale areas, holders by default ------------------------------------------------------------------

CASE_PAGES = ["/maps/snapshot?date=2024-09-15", "/maps/timeline?start=2024-08-01&end=2024-12-31",
              "/maps/compare?from=2024-08-20&to=2024-11-20"]
SALIENT = "deepstatemap/UA/assessed/kursk-salient"
SALIENT_TITLE = "DeepStateMap — ground held by Ukraine, assessed (kursk-salient)"


def case_line(page: str) -> str:
    """The line under a map page's heading that says which ground it shows."""
    found = re.search(r"<div class='fl-case' id='fl-case'[^>]*>(.*?)</div>", page)
    assert found, "no case line in the title panel"
    return html.unescape(found.group(1))


def tab_title(page: str) -> str:
    found = re.search(r"<title>(.*?)</title>", page)
    assert found
    return html.unescape(found.group(1))


def popup(page: str, name: str) -> str:
    """A settlement's popup markup, by its name."""
    found = [p["popup"] for p in settlements(page) if p["label"] == esc(name)]
    assert found, f"no popup for {name}"
    return str(found[0])


def area_layers(page: str) -> list[tuple[dict[str, Any], str]]:
    """Each GeoJSON layer of a page: the style its styler returns, and its tooltip as text."""
    found = []
    for block in re.split(r"(?=function geo_json_\w+_styler)", page)[1:]:
        style = re.search(r"return (\{.*?\});", block)
        tooltip = re.search(r"bindTooltip\(\s*`(.*?)`", block, re.DOTALL)
        assert style and tooltip
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", tooltip.group(1))).split())
        found.append((json.loads(style.group(1)), text))
    return found


@pytest.mark.parametrize("url", CASE_PAGES)
def test_map_pages_say_which_ground_they_show_and_cut_their_figures_to(client: TestClient, url: str) -> None:
    [case, *_] = client.get("/cases").json()["cases"]
    default = client.get(url)
    assert default.status_code == 200, default.text
    assert case_line(default.text) == case["title"]  # under the heading; what its ground is, in the drawer
    assert f"Cut to the case's ground: {case['description']}" in html.unescape(default.text)
    assert tab_title(default.text).startswith(f"Frontline: {case['title']}: ")
    named = client.get(f"{url}&case={case['key']}").text
    assert case_line(named) == case_line(default.text)
    uncut = client.get(f"{url}&case=none")
    assert uncut.status_code == 200, uncut.text
    assert case_line(uncut.text) == "Every claim, uncut (no case)"
    assert tab_title(uncut.text).startswith("Frontline: every claim, uncut: ")
    body = problem(client.get(f"{url}&case=atlantis"), 400, "case")
    assert "atlantis" in body["detail"] and case["key"] in body["detail"] and "none" in body["detail"]


def test_the_case_decides_the_towns_drawn_and_the_km2_shown(seeded: Connection, client: TestClient) -> None:
    # ISW's area crossing from Kursk oblast into Belgorod oblast, outside the case.
    add_control_area(seeded, "isw/RU/assessed/test-cross/2024-09-11", source="isw", side="RU", layer="test-cross",
                     day="2024-09-11", coords=[[35.6, 50.8], [36.6, 50.8], [36.6, 51.2], [35.6, 51.2], [35.6, 50.8]])
    cut = rows(client, f"/stats/area?date=2024-09-15&case={CASE}")[0]["area_km2"]
    full = rows(client, "/stats/area?date=2024-09-15")[0]["area_km2"]
    assert cut < 0.9 * full
    default = client.get("/maps/snapshot?date=2024-09-15").text
    uncut = client.get("/maps/snapshot?date=2024-09-15&case=none").text
    assert f"{cut:,.1f}" in title_panel(default) and f"{full:,.1f}" not in title_panel(default)
    assert f"{full:,.1f}" in title_panel(uncut) and f"{cut:,.1f}" not in title_panel(uncut)
    # Settlements of the case only (Belgorod is in none); every one without a case.
    assert "<b>Sudzha</b>" in shown(default) and "<b>Belgorod</b>" not in shown(default)
    assert "<b>Sudzha</b>" in shown(uncut) and "<b>Belgorod</b>" in shown(uncut)


def test_a_stale_area_is_an_outline_as_of_its_day(seeded: Connection, client: TestClient) -> None:
    add_observations(seeded, "deepstatemap", "UA", "assessed", "kursk-salient", every(date(2024, 9, 1), 10))
    stale = client.get("/maps/snapshot?date=2024-10-10").text  # 30 days after the last of a daily series
    [(style, tooltip)] = [(s, t) for s, t in area_layers(stale) if SALIENT_TITLE in t]
    assert style["fillOpacity"] == 0 and style["weight"] > 0  # the outline alone
    assert "as of 2024-09-10 (30 days before: stale)" in tooltip and "observed" not in tooltip
    assert "id='fl-stale-note'" in stale and "outline only: stale" in html.unescape(stale)
    fresh = client.get("/maps/snapshot?date=2024-09-12").text  # 2 days after it
    [(style, tooltip)] = [(s, t) for s, t in area_layers(fresh) if SALIENT_TITLE in t]
    assert style["fillOpacity"] > 0 and "observed 2024-09-10" in tooltip and "as of" not in tooltip
    assert "fl-stale-note" not in fresh
    [feature] = client.get("/control?date=2024-10-10").json()["features"]
    assert (feature["properties"]["stale"], feature["properties"]["age_days"]) == (True, 30)


def test_settlement_popup_says_when_a_holder_is_by_default(seeded: Connection, client: TestClient) -> None:
    add_observations(seeded, "deepstatemap", "UA", "assessed", "kursk-salient", [date(2024, 8, 20)])  # north of it
    add_observations(seeded, "deepstatemap", "UA", "assessed", "kursk-salient", [date(2024, 8, 21)],
                     geometry=around(*SUDZHA))
    row = f"<td title='{SALIENT}'>{SALIENT_TITLE}</td>"
    by_default = popup(client.get("/maps/snapshot?date=2024-08-20").text, "Sudzha")
    assert f"{row}<td>RU (by default)</td><td>assessed</td><td>—</td><td>2024-08-20</td>" in by_default
    held = popup(client.get("/maps/snapshot?date=2024-08-21").text, "Sudzha")
    assert f"{row}<td>UA</td><td>assessed</td><td>2024-08-21</td><td>2024-08-21</td>" in held
    assert "by default" not in held


def test_map_pages_can_draw_their_areas_from_vector_tiles(client: TestClient) -> None:
    """tiles=true: the page loads Leaflet.VectorGrid from this app and names the tile template, not GeoJSON."""
    snapshot = client.get("/maps/snapshot?date=2024-09-15&source=example&tiles=true").text
    assert "/static/frontline/vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js" in snapshot
    series = [item for item in layer_items(snapshot) if item["group"] != "Base layers"]
    assert series and all(item["var"] is None and "/collections/control-areas/tiles/WebMercatorQuad/{z}/{y}/{x}"
                          "?series=example" in item["tiles"]["url"] for item in series)
    assert EXAMPLE_SERIES[SYRSKYI_EXAMPLE] not in " ".join(t for _, t in area_layers(snapshot))  # no GeoJSON areas
    timeline = client.get("/maps/timeline?source=example&tiles=true").text
    assert '"tileTemplate":"/collections/control-areas/tiles/WebMercatorQuad/{z}/{y}/{x}"' in timeline
    assert "Leaflet.VectorGrid.bundled.min.js" not in client.get("/maps/timeline?source=example").text


def test_the_snapshot_offers_each_sided_series_front_line(client: TestClient, seeded: Connection) -> None:
    """Each series drawn with a side gets a front-line layer whose URL is /frontline on the page's day and case;
    `front` switches some on; an unknown series there is a 400 naming the parameter."""
    page = client.get("/maps/snapshot", params={"date": "2024-09-15", "source": "example",
                                                "front": SYRSKYI_EXAMPLE})
    assert page.status_code == 200
    # The seed's examples are none of the case's featured series: every one is on, and offers its front.
    specs = [{**front, "title": item["full"]} for item in layer_items(page.text) for front in item["fronts"]]
    control = client.get("/control", params={"date": "2024-09-15", "source": "example"}).json()
    assert sorted(s["title"] for s in specs) == sorted({f["properties"]["series_title"] for f in control["features"]
                                                       if f["properties"]["side"]})
    assert [s["title"] for s in specs if s["shown"]] == [EXAMPLE_SERIES[SYRSKYI_EXAMPLE]]
    for spec in specs:
        front = client.get(spec["url"])
        assert front.status_code == 200 and "case=kursk-incursion" in spec["url"]
        assert front.json()["features"][0]["geometry"]["type"] == "MultiLineString"
    bad = client.get("/maps/snapshot", params={"date": "2024-09-15", "front": "nobody/UA/claimed/x"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "front"


def test_the_compare_map_lists_the_settlements_that_changed_hands(client: TestClient, seeded: Connection) -> None:
    """The compare page lists the rows of /stats/settlements for its days and case, with the day of each change."""
    params = {"from": "2024-08-01", "to": "2024-11-20", "source": "example"}
    changed = rows(client, "/stats/settlements?" + "&".join(f"{k}={v}" for k, v in {**params, "case": CASE}.items()))
    assert changed, "the seed's examples should move some settlement between these days"
    page = client.get("/maps/compare", params=params)
    assert page.status_code == 200
    assert f"Settlements that changed hands ({len(changed)})" in page.text
    listed = re.findall(r"<tr data-place='([^']+)'>\s*<td>([^<]*)</td><td title='([^']+)'>[^<]*</td>\s*"
                        r"<td>([^<]*)</td><td>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>", page.text)
    assert listed == [(r["place"], esc(r["name"]), r["series"], r["from_holder"] or "—", r["to_holder"] or "—",
                       r["changed_on"]) for r in changed]


# -- what a page shows at first: the case's featured series (issue 22) ---------------------------------------------

FEATURED_DAYS = every(date(2024, 9, 1), 3, step_days=5)  # 09-01, 09-06, 09-11


def test_the_cases_featured_series_are_on_and_the_others_listed_off(seeded: Connection, client: TestClient,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Featured series are drawn when the page opens and offer their front line; the others are listed, off, with
    no front; `series=` decides instead. The day navigation steps through the featured series' days, and the
    chart asks /stats/area/series for them, cut to the case. The PNG is the page as it opens."""
    salient = add_observations(seeded, "deepstatemap", "UA", "assessed", "kursk-salient", FEATURED_DAYS,
                               geometry=around(*SUDZHA))
    liberated = add_observations(seeded, "deepstatemap", "UA", "assessed", "liberated", [date(2024, 9, 3)],
                                 geometry=around(34.9, 50.95))
    assert salient in client.get("/cases").json()["cases"][0]["featured"]
    page = client.get("/maps/snapshot?date=2024-09-15").text
    items = {item["key"]: item for item in layer_items(page)}
    assert items[salient]["on"] and not items[liberated]["on"]
    assert items[salient]["group"] == items[liberated]["group"] == "DeepStateMap"
    assert [front["label"] for front in items[salient]["fronts"]] == ["front line"] and items[liberated]["fronts"] == []
    assert all(len(item["title"]) <= 40 for item in items.values())
    config = script_config(page)
    assert config["nav"]["days"] == [d.isoformat() for d in FEATURED_DAYS]  # not the liberated layer's 09-03
    assert [line["key"] for line in config["chart"]["series"]] == [salient]
    chart = client.get(config["chart"]["url"])
    assert chart.status_code == 200 and chart.json()["case"] == CASE
    assert {row["series"] for row in chart.json()["rows"]} == {salient}
    asked = {item["key"]: item for item in layer_items(client.get(f"/maps/snapshot?date=2024-09-15&series={liberated}"
                                                                  f"&front={liberated}").text)}
    assert asked[liberated]["on"] and asked[liberated]["fronts"][0]["shown"]
    compared = client.get("/maps/compare?from=2024-09-01&to=2024-09-11").text
    compare = {item["key"]: item for item in layer_items(compared)}
    assert compare[salient]["on"] and not compare[liberated]["on"]
    assert [f["label"] for f in compare[salient]["fronts"]] == ["front on 2024-09-01", "front on 2024-09-11"]
    drawn: list[Any] = []
    scene_of = images.snapshot_scene
    monkeypatch.setattr(images, "snapshot_scene", lambda *a, **k: drawn.append(scene_of(*a, **k)) or drawn[-1])
    assert client.get("/maps/snapshot?date=2024-09-15&f=png&width=400&height=300").status_code == 200
    short = {row["id"]: row["short_title"] for row in client.get("/series").json()["series"]}
    assert [layer.label.split(":")[0] for layer in drawn[0].layers] == [short[salient]]  # not the liberated layer


def test_an_empty_store_says_what_to_do_instead_of_an_empty_map(client: TestClient) -> None:
    """The seed alone holds only examples: a map asked without them says how to fetch or import claims, and links
    the same view on the examples; with the examples it draws them and says nothing of the kind."""
    page = client.get("/maps/snapshot?date=2024-09-15").text
    assert "id='fl-empty'" in page and "frontline fetch" in page and "frontline import" in page
    assert "illustrative examples</a> (shapes drawn" in page
    link = re.search(r"<a href='([^']+)' id='fl-examples'>", page)
    assert link is not None
    assert "source=example" in html.unescape(link.group(1)) and "date=2024-09-15" in html.unescape(link.group(1))
    assert "id='fl-empty'" not in client.get("/maps/snapshot?date=2024-09-15&source=example").text
    assert "id='fl-empty'" in client.get("/maps/timeline").text


def test_the_png_legend_names_series_by_their_short_titles(client: TestClient, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """The PNG's legend uses the layer list's short titles (the full title stays in the page's tables)."""
    drawn: list[Any] = []
    scene_of = images.snapshot_scene
    monkeypatch.setattr(images, "snapshot_scene", lambda *a, **k: drawn.append(scene_of(*a, **k)) or drawn[-1])
    png = client.get("/maps/snapshot?date=2024-09-15&source=example&f=png&width=400&height=300")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    [scene] = drawn
    labels = [layer.label for layer in scene.layers]
    assert sorted(label.split(":")[0] for label in labels) == [
        "ISW's Russian advances (example)", "Russian MoD's claims (example)", "Syrskyi's claimed area (example)"]
