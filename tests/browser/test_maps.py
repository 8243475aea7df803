"""The analyst map pages in a real browser: what they draw, what they load, how they behave, how they escape."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect
from shapely.geometry import shape
from sqlalchemy import create_engine, text

from tests.helpers import (
    EXAMPLE_SERIES,
    LEAFLET_MAP,
    LiveServer,
    Recorder,
    add_place,
    get_json,
    label_check,
    screenshot,
    wait_for_front_lines,
    zoom_to,
)

# The live server holds the seed alone, whose control areas are all examples: the pages ask for them.
EXAMPLES = "source=example"
SYRSKYI = "example/UA/claimed/syrskyi"
SNAPSHOT_DAY = "2024-09-15"
POPUP_DAY = "2024-08-20"  # the example drawn to Syrskyi's claimed area covers Sudzha on this day
COMPARE = ("2024-08-20", "2024-11-20")
PATHS = ".leaflet-map-pane path.leaflet-interactive"  # every pane: settlements may get a pane above the areas
# Where a CircleMarker at [lat, lon] is on the screen, and whether it is what a click there would hit. The
# Leaflet map is the global that folium names map_<random hex>.
MARKER_AT = """([lat, lon]) => {
  const map = window[Object.keys(window).find(k => k.startsWith("map_"))];
  let marker = null;
  map.eachLayer(l => {
    if (l instanceof L.CircleMarker) {
      const p = l.getLatLng();
      if (Math.abs(p.lat - lat) < 1e-5 && Math.abs(p.lng - lon) < 1e-5) { marker = l; }
    }
  });
  if (!marker) { return null; }
  const point = map.latLngToContainerPoint(marker.getLatLng());
  const box = map.getContainer().getBoundingClientRect();
  const x = box.left + point.x, y = box.top + point.y;
  const hit = document.elementFromPoint(x, y);
  return {x: x, y: y, onTop: hit === marker.getElement(), hit: hit ? hit.outerHTML.slice(0, 160) : null};
}"""


@pytest.fixture(scope="module")
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        yield client


def control_count(api: httpx.Client, day: str) -> int:
    return int(get_json(api, f"/control?date={day}&{EXAMPLES}")["numberReturned"])


def places_in_case(api: httpx.Client) -> int:
    """The places inside the default case's ground (the first of /cases), counted with Shapely."""
    ground = shape(get_json(api, "/cases?f=geojson")["features"][0]["geometry"])
    points = get_json(api, "/collections/places/items?limit=10000")["features"]
    return sum(ground.covers(shape(f["geometry"])) for f in points)


def base_paths(api: httpx.Client) -> int:
    """Paths every map page draws under its areas: one per region and line, and per place inside the case."""
    return sum(int(get_json(api, f"/collections/{c}/items?limit=1000")["numberMatched"]) for c in ("regions", "lines")
               ) + places_in_case(api)


def data_days(api: httpx.Client) -> list[str]:
    items = get_json(api, f"/collections/control-areas/items?limit=1000&{EXAMPLES}")
    assert items["numberReturned"] == items["numberMatched"] > 0
    return sorted({f["properties"]["observed_on"] for f in items["features"]})


def sided(control: dict[str, Any]) -> set[str]:
    """The series drawn with a side: on the seed's examples (no featured series among them, so every one is on),
    each offers its front line as a sub-toggle."""
    return {f["properties"]["series"] for f in control["features"] if f["properties"]["side"]}


def settle(page: Page) -> None:
    """Wait until the map stands still: its pane's position unchanged for three frames (a pan has ended)."""
    page.evaluate("""() => new Promise(resolve => {
      const pane = document.querySelector(".leaflet-map-pane");
      let last = null, still = 0;
      (function check() {
        still = pane.style.transform === last ? still + 1 : 0;
        last = pane.style.transform;
        if (still >= 3) { resolve(); } else { requestAnimationFrame(check); }
      })();
    })""")


def wait_for(page: Page, selector: str, recorder: Recorder) -> None:
    """The selector is attached, or a failure that says what the page reported."""
    try:
        page.wait_for_selector(selector, state="attached", timeout=5000)
    except PlaywrightError as error:
        raise AssertionError(f"{selector} never appeared on {page.url}; {recorder.problems()}") from error


def marker(page: Page, lat: float, lon: float) -> dict[str, Any]:
    found: dict[str, Any] | None = page.evaluate(MARKER_AT, [lat, lon])
    assert found is not None, f"no settlement marker at {lat}, {lon}"
    return found


def open_drawer(page: Page) -> None:
    """Open the drawer (layers, figures, share and cite) with the menu button, unless it is open."""
    if page.get_attribute("#fl-menu", "aria-expanded") != "true":
        page.click("#fl-menu")
    expect(page.locator("#fl-drawer")).to_be_visible()
    expect(page.locator("#fl-menu")).to_have_attribute("aria-expanded", "true")


def overlay_names(page: Page) -> list[str]:
    """The full names of the layers in the drawer's list (each layer's tooltip; the list shows short titles)."""
    names: list[str] = page.locator("#fl-layers label.fl-layer-main").evaluate_all("ls => ls.map(l => l.title)")
    return names


def front_toggles(page: Page) -> dict[str, list[str]]:
    """The front-line sub-toggles of the layer list, by series key: their labels."""
    found: dict[str, list[str]] = page.locator("#fl-layers .fl-layer").evaluate_all("""rows => Object.fromEntries(
      rows.map(r => [r.dataset.key, [...r.querySelectorAll("label.fl-layer-sub")].map(l => l.textContent.trim())])
          .filter(([, labels]) => labels.length))""")
    return found


def front_toggle(page: Page, series: str, label: str = "front line") -> Locator:
    """The checkbox of a series' front-line sub-toggle."""
    return page.locator(f'#fl-layers .fl-layer[data-key="{series}"] label.fl-layer-sub',
                        has_text=label).locator("input")


# -- every page: loads cleanly, from this server only ------------------------------------------------------

PAGES = {
    "snapshot": (f"/maps/snapshot?date={SNAPSHOT_DAY}&{EXAMPLES}", PATHS),
    "snapshot-default": (f"/maps/snapshot?date={SNAPSHOT_DAY}", PATHS),  # no examples: the base layers alone
    "snapshot-tiles": (f"/maps/snapshot?date={SNAPSHOT_DAY}&{EXAMPLES}&tiles=true", ".leaflet-tile path"),
    "timeline": (f"/maps/timeline?{EXAMPLES}", "body[data-day-shown] #fl-areas > div"),
    "timeline-tiles": (f"/maps/timeline?{EXAMPLES}&tiles=true", "body[data-day-shown] .leaflet-tile path"),
    "compare": (f"/maps/compare?from={COMPARE[0]}&to={COMPARE[1]}&{EXAMPLES}", PATHS),
    "disagreement": (f"/maps/disagreement?date={SNAPSHOT_DAY}&a=example/UA/claimed/syrskyi"
                     "&b=example/RU/assessed/isw", PATHS),
    "app": ("/app", "#snapshot-form"),
    "root-html": ("/", "#snapshot-form"),  # a browser's Accept: text/html gets the same landing page
    "api-docs": ("/docs", ".opblock"),  # Swagger UI, from the app's own copy, drawing the operations
}


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_errors_and_only_from_this_server(
        fresh_page: Page, recorder: Recorder, live_server: LiveServer, name: str) -> None:
    path, ready = PAGES[name]
    response = fresh_page.goto(live_server.url + path, wait_until="load")
    assert response is not None and response.status == 200
    wait_for(fresh_page, ready, recorder)
    fresh_page.wait_for_load_state("networkidle")
    assert recorder.page_errors == []
    assert recorder.console_errors == []
    assert recorder.dialogs == []
    assert recorder.requests and recorder.requests[0] == live_server.url + path
    foreign = [url for url in recorder.requests
               if not url.startswith((live_server.url + "/", "data:", "about:"))]
    assert foreign == [], "requests that left the server under test"
    if name in ("snapshot", "snapshot-default", "timeline", "compare", "disagreement"):
        assert f"{live_server.url}/static/leaflet/leaflet.js" in recorder.requests
        assert f"{live_server.url}/static/frontline/maps.js" in recorder.requests
        assert f"{live_server.url}/static/frontline/panel.js" in recorder.requests


# -- snapshot ----------------------------------------------------------------------------------------------

def test_snapshot_draws_every_area_place_region_and_line(page: Page, recorder: Recorder, live_server: LiveServer,
                                                          api: httpx.Client) -> None:
    control = get_json(api, f"/control?date={SNAPSHOT_DAY}&{EXAMPLES}")
    areas = int(control["numberReturned"])
    places = places_in_case(api)  # the page draws the default case's ground
    regions = int(get_json(api, "/collections/regions/items?limit=1000")["numberMatched"])
    lines = int(get_json(api, "/collections/lines/items?limit=1000")["numberMatched"])
    assert areas > 0 and places > 0 and regions > 0 and lines > 0

    page.goto(f"{live_server.url}/maps/snapshot?date={SNAPSHOT_DAY}&{EXAMPLES}")
    wait_for(page, PATHS, recorder)
    assert page.locator(PATHS).count() == areas + places + regions + lines, recorder.problems()
    # Every settlement is labelled by name (minor ones shown from zoom 9, the page's initial zoom).
    labels = page.locator(".leaflet-tooltip.fl-label")
    assert labels.count() == places
    assert page.locator(".leaflet-tooltip.fl-label:visible").count() > 0

    expect(page.locator(".leaflet-control-scale")).to_be_visible()
    expect(page.locator("#fl-day")).to_have_text(SNAPSHOT_DAY)
    expect(page.locator("#fl-legend")).to_be_visible()
    expect(page.locator("#fl-drawer")).to_be_hidden()  # the map is the page: layers and figures wait in the drawer

    # One layer per claim series in the drawer, its full title in its tooltip; each sided series' front line as
    # its sub-toggle; the figures: the km² of each series, and a warning that the shapes are illustrative.
    open_drawer(page)
    titles = {f["properties"]["series_title"] for f in control["features"]}
    assert sorted(overlay_names(page)) == sorted(["Regions", "Border and lines", "Settlements", *titles])
    assert front_toggles(page) == {key: ["front line"] for key in sided(control)}
    figures = page.locator("#fl-figures").inner_text()
    assert "km²" in figures and "Includes illustrative shapes" in figures
    assert all(t in figures for t in titles)
    expect(page.locator("#fl-illustrative")).to_be_visible()
    assert recorder.page_errors == []


def test_snapshot_from_vector_tiles_draws_the_same_series(page: Page, recorder: Recorder,
                                                          live_server: LiveServer, api: httpx.Client) -> None:
    """tiles=true: each series' areas come from /collections/control-areas/tiles (Leaflet.VectorGrid, served by
    this app), one overlay per series, above the regions' fills."""
    control = get_json(api, f"/control?date={SNAPSHOT_DAY}&{EXAMPLES}")
    titles = {f["properties"]["series_title"] for f in control["features"]}
    page.goto(f"{live_server.url}/maps/snapshot?date={SNAPSHOT_DAY}&{EXAMPLES}&tiles=true")
    wait_for(page, ".leaflet-tile path", recorder)
    page.wait_for_load_state("networkidle")
    tiles = [url for url in recorder.requests if "/collections/control-areas/tiles/WebMercatorQuad/" in url]
    assert tiles and all("series=" in url and "datetime=" in url for url in tiles)
    assert {httpx.get(url).status_code for url in tiles[:8]} <= {200, 204}
    assert page.locator(".leaflet-tile path").count() > 0
    open_drawer(page)
    assert sorted(overlay_names(page)) == sorted(["Regions", "Border and lines", "Settlements", *titles])
    assert front_toggles(page) == {key: ["front line"] for key in sided(control)}
    # The tile pane is drawn above the overlays (the regions' fills would hide it otherwise).
    assert int(page.evaluate("getComputedStyle(document.querySelector('.leaflet-frontline-tiles-pane')).zIndex")) \
        > int(page.evaluate("getComputedStyle(document.querySelector('.leaflet-overlay-pane')).zIndex"))
    assert recorder.page_errors == [] and recorder.console_errors == [], recorder.problems()
    screenshot(page, "map-snapshot-tiles.png")


def test_a_front_line_is_a_layer_to_switch_on(page: Page, recorder: Recorder, live_server: LiveServer,
                                             api: httpx.Client) -> None:
    """front=SERIES draws that series' /frontline when the page opens; another series' front is fetched and
    drawn when its layer is switched on, and hidden when switched off."""
    control = get_json(api, f"/control?date={SNAPSHOT_DAY}&{EXAMPLES}&case=kursk-incursion")
    first, second, *_ = sorted(sided(control))
    page.goto(f"{live_server.url}/maps/snapshot?date={SNAPSHOT_DAY}&{EXAMPLES}&front={first}")
    wait_for(page, PATHS, recorder)
    page.wait_for_load_state("networkidle")
    before = page.locator(PATHS).count()
    areas = int(control["numberReturned"])
    assert before == areas + base_paths(api) + 1, recorder.problems()  # the front: one MultiLineString
    assert any(f"/frontline?date={SNAPSHOT_DAY}" in url and "case=kursk-incursion" in url for url in recorder.requests)
    open_drawer(page)
    expect(front_toggle(page, first)).to_be_checked()
    toggle = front_toggle(page, second)
    expect(toggle).not_to_be_checked()
    toggle.check()
    page.wait_for_load_state("networkidle")
    expect(page.locator(PATHS)).to_have_count(before + 1)
    toggle.uncheck()
    expect(page.locator(PATHS)).to_have_count(before)
    assert recorder.page_errors == [] and recorder.console_errors == [], recorder.problems()


def test_clicking_a_settlement_says_who_holds_it(page: Page, recorder: Recorder, live_server: LiveServer,
                                                 api: httpx.Client) -> None:
    control = get_json(api, f"/places/sudzha/control?date={POPUP_DAY}&{EXAMPLES}")
    holders = [row for row in control["rows"] if row["holds"]]
    assert holders, "the seed data should have a claim covering Sudzha on this day"
    place = control["place"]

    page.goto(f"{live_server.url}/maps/snapshot?date={POPUP_DAY}&{EXAMPLES}")
    wait_for(page, PATHS, recorder)
    where = marker(page, place["lat"], place["lon"])
    assert where["onTop"], f"a click on the Sudzha marker lands on another layer: {where['hit']}"
    page.mouse.click(where["x"], where["y"])
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_be_visible(timeout=3000)
    expect(popup).to_contain_text(place["name"])
    expect(popup.locator("tr")).to_have_count(len(holders) + 1)  # a header and one row per holder
    text_ = popup.inner_text()
    assert POPUP_DAY in text_
    for holder in holders:
        assert holder["side"] in text_ and holder["status"] in text_ and holder["held_since"] in text_
        assert holder["title"] in text_  # the series by its title
    assert "UA" in text_


# -- settlement labels -------------------------------------------------------------------------------------

ZOOM = f"() => {LEAFLET_MAP}.getZoom()"
MINOR_TOWN = "glushkovo"  # a GeoNames town of Kursk oblast, inside the case, not one of its key places


def label(page: Page, name: str) -> Locator:
    """The permanent label of the settlement named exactly ``name``."""
    return page.locator(".leaflet-tooltip.fl-label").filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))


def test_town_names_are_shown_without_a_click(page: Page, recorder: Recorder, live_server: LiveServer,
                                              api: httpx.Client) -> None:
    [case, *_] = get_json(api, "/cases")["cases"]
    page.goto(f"{live_server.url}/maps/snapshot?date={SNAPSHOT_DAY}")
    wait_for(page, ".leaflet-tooltip.fl-label", recorder)
    assert page.evaluate(ZOOM) == case["view"]["zoom"]  # the case's own view
    sudzha = label(page, "Sudzha")
    expect(sudzha).to_be_visible()
    box, frame = sudzha.bounding_box(), page.locator(".folium-map").bounding_box()
    assert box and frame and box["width"] > 0
    assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]  # on the map, in view
    assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"]
    assert page.locator(".leaflet-popup").count() == 0  # nothing was clicked
    assert recorder.page_errors == []


@pytest.mark.parametrize("zoom", [8, 9, 10])
def test_key_places_are_named_at_every_zoom_and_minor_towns_where_there_is_room(
        page: Page, recorder: Recorder, live_server: LiveServer, api: httpx.Client, zoom: int) -> None:
    """Labels give way by priority (the case's key places first, then population) rather than by zoom: a key
    place is named at every zoom, a minor town around which the map is centred once it is zoomed in."""
    [case, *_] = get_json(api, "/cases")["cases"]
    town = get_json(api, f"/collections/places/items/{MINOR_TOWN}")
    assert MINOR_TOWN not in case["key_places"]
    lon, lat = town["geometry"]["coordinates"]
    page.goto(f"{live_server.url}/maps/snapshot?date={SNAPSHOT_DAY}#map={zoom}/{lat}/{lon}")
    wait_for(page, ".leaflet-tooltip.fl-label", recorder)
    assert page.evaluate(ZOOM) == zoom
    minor = label(page, town["properties"]["name"])
    expect(minor).to_have_count(1)
    if zoom >= 9:
        expect(minor).to_be_visible()
    expect(label(page, "Sudzha")).to_be_visible()  # a key place of the case, at every zoom
    assert recorder.page_errors == []


def test_no_two_labels_overlap_nor_cover_a_marker_or_the_front_line(page: Page, recorder: Recorder,
                                                                      live_server: LiveServer) -> None:
    """The seed's places, a sided example's front line drawn: at the case's zoom and one either side, every label
    shown is clear of the others, of the other settlements' markers and of the line (the real archive's maps are
    checked in test_layout.py)."""
    page.goto(f"{live_server.url}/maps/snapshot?date={POPUP_DAY}&{EXAMPLES}&front={SYRSKYI}")
    wait_for(page, PATHS, recorder)
    wait_for_front_lines(page, 1)
    first = page.evaluate(ZOOM)
    for zoom in (first - 1, first, first + 1):
        assert zoom_to(page, zoom) == zoom
        found = label_check(page)
        assert found["problems"] == [] and found["fronts"] > 0, found
        assert "Sudzha" in found["shown"] or zoom != first, found
    assert recorder.page_errors == [], recorder.problems()


# -- timeline ----------------------------------------------------------------------------------------------

def test_timeline_settlement_popup_says_who_holds_it_on_the_day_shown(page: Page, recorder: Recorder,
                                                                      live_server: LiveServer,
                                                                      api: httpx.Client) -> None:
    control = get_json(api, f"/places/sudzha/control?date={POPUP_DAY}&{EXAMPLES}")
    holders = [row for row in control["rows"] if row["holds"]]
    assert holders
    place = control["place"]
    page.goto(f"{live_server.url}/maps/timeline?day={POPUP_DAY}&{EXAMPLES}")
    wait_for(page, f'body[data-day-shown="{POPUP_DAY}"]', recorder)
    where = marker(page, place["lat"], place["lon"])
    assert where["onTop"], f"a click on the Sudzha marker lands on another layer: {where['hit']}"
    page.mouse.click(where["x"], where["y"])
    lines = page.locator(".leaflet-popup-content .fl-holder")
    expect(lines).to_have_count(len(holders), timeout=5000)
    text_ = page.locator(".leaflet-popup-content").inner_text()
    assert place["name"] in text_ and POPUP_DAY in text_
    for holder in holders:
        assert f"{holder['title']}: {holder['side']} {holder['status']} since {holder['held_since']}" in text_
    assert recorder.page_errors == []


def test_timeline_slider_shows_each_days_claims(page: Page, recorder: Recorder, live_server: LiveServer,
                                                api: httpx.Client) -> None:
    days = data_days(api)
    base = base_paths(api)
    first, last = days[0], days[-1]
    assert control_count(api, first) != control_count(api, last), "the check needs days whose claims differ"

    page.goto(f"{live_server.url}/maps/timeline?{EXAMPLES}")
    wait_for(page, "body[data-day-shown]", recorder)
    assert page.get_attribute("body", "data-day-shown") == last
    expect(page.locator("#fl-day")).to_have_text(last)
    assert page.locator(PATHS).count() == base + control_count(api, last)
    assert page.get_attribute("#fl-slider", "max") == str(len(days) - 1)
    expect(page.locator("#fl-areas > div").first).to_be_attached()
    screenshot(page, "map-timeline.png")

    page.eval_on_selector("#fl-slider", "s => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
    wait_for(page, f'body[data-day-shown="{first}"]', recorder)
    expect(page.locator("#fl-day")).to_have_text(first)
    expect(page.locator(PATHS)).to_have_count(base + control_count(api, first))
    assert f"day={first}" in page.url
    # Each claim series seen so far has its own layer in the list, its title in its tooltip, under its source;
    # unticking one hides its areas.
    first_features = get_json(api, f"/control?date={first}&{EXAMPLES}")["features"]
    first_titles = {f["properties"]["series_title"] for f in first_features}
    open_drawer(page)
    assert first_titles <= set(overlay_names(page))
    groups = page.locator("#fl-layers fieldset.fl-group > legend").all_inner_texts()
    assert groups == ["Base layers", "Example (illustrative shapes)"]
    hidden = sorted(first_titles)[0]
    hidden_count = sum(f["properties"]["series_title"] == hidden for f in first_features)
    page.locator(f'#fl-layers label.fl-layer-main[title="{hidden}"] input').uncheck()
    expect(page.locator(PATHS)).to_have_count(base + control_count(api, first) - hidden_count)
    assert recorder.page_errors == []


def test_timeline_play_steps_through_the_days_and_pauses(page: Page, recorder: Recorder, live_server: LiveServer,
                                                         api: httpx.Client) -> None:
    days = data_days(api)
    page.goto(f"{live_server.url}/maps/timeline?day={days[0]}&interval_ms=300&{EXAMPLES}")
    wait_for(page, f'body[data-day-shown="{days[0]}"]', recorder)
    page.evaluate("""() => {
      const label = document.getElementById("fl-day");
      window.flSeen = [];
      new MutationObserver(() => window.flSeen.push(label.textContent)).observe(label, {childList: true});
    }""")
    page.click("#fl-play")
    page.wait_for_function("() => window.flSeen.length >= 2")
    page.click("#fl-play")  # pause
    seen = page.evaluate("window.flSeen")
    assert seen == [days[(i + 1) % len(days)] for i in range(len(seen))], "play steps one day at a time, in order"
    paused_on = seen[-1]
    wait_for(page, f'body[data-day-shown="{paused_on}"]', recorder)
    page.wait_for_timeout(700)  # two steps of the animation, had it not paused
    assert page.evaluate("window.flSeen") == seen, "the animation did not pause"
    assert page.get_attribute("body", "data-day-shown") == paused_on
    assert f"day={paused_on}" in page.url
    expect(page.locator(PATHS)).to_have_count(base_paths(api) + control_count(api, paused_on))
    assert recorder.page_errors == []


def test_the_timeline_front_line_follows_the_slider(page: Page, recorder: Recorder, live_server: LiveServer,
                                                   api: httpx.Client) -> None:
    """A front line switched on is fetched for the day shown, and again for each day the slider moves to (none
    before the series' first observation)."""
    days = data_days(api)
    base = base_paths(api)
    page.goto(f"{live_server.url}/maps/timeline?{EXAMPLES}")
    wait_for(page, f'body[data-day-shown="{days[-1]}"]', recorder)
    page.wait_for_load_state("networkidle")
    open_drawer(page)
    expect(page.locator(f'#fl-layers .fl-layer[data-key="{SYRSKYI}"] label.fl-layer-main')).to_have_attribute(
        "title", EXAMPLE_SERIES[SYRSKYI])
    front_toggle(page, SYRSKYI).check()
    expect(page.locator(PATHS)).to_have_count(base + control_count(api, days[-1]) + 1)
    fronts = [url for url in recorder.requests if "/frontline?" in url]
    assert len(fronts) == 1 and f"date={days[-1]}" in fronts[0] and "case=kursk-incursion" in fronts[0]
    page.eval_on_selector("#fl-slider", "s => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
    wait_for(page, f'body[data-day-shown="{days[0]}"]', recorder)
    page.wait_for_load_state("networkidle")
    assert f"date={days[0]}" in [url for url in recorder.requests if "/frontline?" in url][-1]
    syrskyi_from = next(row["first_observed"] for row in get_json(api, f"/series?{EXAMPLES}")["series"]
                        if row["id"] == SYRSKYI)
    expected = 1 if days[0] >= syrskyi_from else 0  # before its first observation: no line
    expect(page.locator(PATHS)).to_have_count(base + control_count(api, days[0]) + expected)
    assert recorder.page_errors == [], recorder.problems()


# -- compare -----------------------------------------------------------------------------------------------

def test_compare_draws_each_gain_and_loss(page: Page, recorder: Recorder, live_server: LiveServer,
                                          api: httpx.Client) -> None:
    totals = get_json(api, f"/stats/changes?from={COMPARE[0]}&to={COMPARE[1]}&f=json&{EXAMPLES}")["totals"]
    assert totals
    drawn = sum((row["gained_km2"] > 0) + (row["lost_km2"] > 0) for row in totals)

    page.goto(f"{live_server.url}/maps/compare?from={COMPARE[0]}&to={COMPARE[1]}&{EXAMPLES}")
    wait_for(page, PATHS, recorder)
    assert page.locator(PATHS).count() == base_paths(api) + drawn
    # Regions, lines, settlements and one per claim series, its title in its tooltip; the front line of each
    # series with a side on either day, to switch on.
    open_drawer(page)
    assert sorted(overlay_names(page)) == sorted(["Regions", "Border and lines", "Settlements",
                                                  *(row["title"] for row in totals)])
    assert front_toggles(page) == {row["series"]: [f"front on {day}" for day in COMPARE]
                                   for row in totals if row["side"]}
    expect(page.locator("#fl-changes tr")).to_have_count(len(totals) + 1)
    expect(page.locator("#fl-title h1")).to_contain_text(COMPARE[0])
    expect(page.locator("#fl-title h1")).to_contain_text(COMPARE[1])
    assert recorder.page_errors == []
    screenshot(page, "map-compare.png")


# -- the bar: previous / next observation day, the day inputs, the place search ----------------------------

def observation_days(api: httpx.Client, series: set[str] | None = None) -> list[str]:
    """The days the examples (of ``series``, or every one) were observed: on the seed none of the case's featured
    series is present, so every series is on, and the bar steps through the days of those shown."""
    items = get_json(api, f"/collections/control-areas/items?limit=1000&{EXAMPLES}")["features"]
    return sorted({f["properties"]["observed_on"] for f in items
                   if series is None or f["properties"]["series"] in series})


def after(days: list[str], day: str) -> str:
    return next(d for d in days if d > day)


def before(days: list[str], day: str) -> str:
    return [d for d in days if d < day][-1]


@contextmanager
def reload_at(page: Page, **params: str) -> Iterator[None]:
    """Expect the page to load a URL whose query has ``params`` (the hash changes as the map moves, and Playwright
    counts that as a navigation of its own)."""
    with page.expect_navigation(url=lambda url: all(httpx.URL(url).params.get(k) == v for k, v in params.items())):
        yield


def opened_on(page: Page, api: httpx.Client, recorder: Recorder, day: str) -> None:
    """The snapshot now shows ``day``: in its URL (the view kept in the hash), its bar, and on its map (each
    series' latest observation on or before the day, as /control answers)."""
    url = httpx.URL(page.url)
    assert url.params["date"] == day and url.params["source"] == "example"
    assert url.fragment.startswith("map=")
    expect(page.locator("#fl-day")).to_have_text(day)
    expect(page.locator("#fl-date-date")).to_have_value(day)
    wait_for(page, PATHS, recorder)
    control = get_json(api, f"/control?date={day}&{EXAMPLES}")
    expect(page.locator(PATHS)).to_have_count(base_paths(api) + int(control["numberReturned"]))
    observed = page.locator("#fl-figures .fl-table tr td:nth-child(4)").all_text_contents()
    assert sorted(observed) == sorted(f["properties"]["observed_on"] for f in control["features"])


def test_previous_next_and_the_arrow_keys_open_the_neighbouring_observation_day(
        page: Page, recorder: Recorder, live_server: LiveServer, api: httpx.Client) -> None:
    days = observation_days(api)
    page.goto(f"{live_server.url}/maps/snapshot?date={SNAPSHOT_DAY}&{EXAMPLES}#map=9/51.2/35.3")
    opened_on(page, api, recorder, SNAPSHOT_DAY)
    with reload_at(page, date=after(days, SNAPSHOT_DAY)):
        page.click("#fl-next")
    opened_on(page, api, recorder, after(days, SNAPSHOT_DAY))
    with reload_at(page, date=after(days, after(days, SNAPSHOT_DAY))):
        page.keyboard.press("ArrowRight")  # the focus is on the page, neither in an input nor on the map
    opened_on(page, api, recorder, after(days, after(days, SNAPSHOT_DAY)))
    with reload_at(page, date=after(days, SNAPSHOT_DAY)):
        page.keyboard.press("ArrowLeft")
    opened_on(page, api, recorder, after(days, SNAPSHOT_DAY))
    with reload_at(page, date=before(days, SNAPSHOT_DAY)):
        page.click("#fl-prev")
    opened_on(page, api, recorder, before(days, SNAPSHOT_DAY))
    with reload_at(page, date=SNAPSHOT_DAY):  # a day typed opens that day, an observation day or not
        page.fill("#fl-date-date", SNAPSHOT_DAY)
    opened_on(page, api, recorder, SNAPSHOT_DAY)
    assert recorder.page_errors == [], recorder.problems()


def test_compare_steps_both_days_and_disagreement_the_days_of_its_two_series(
        page: Page, recorder: Recorder, live_server: LiveServer, api: httpx.Client) -> None:
    """Compare: both days move to their next observation day (of the series it shows, those that changed)."""
    first, last = COMPARE[0], "2024-10-24"  # an observation day: not the last of the series shown
    days = observation_days(api, {row["series"] for row in get_json(
        api, f"/stats/changes?from={first}&to={last}&f=json&{EXAMPLES}")["totals"]})
    page.goto(f"{live_server.url}/maps/compare?from={first}&to={last}&{EXAMPLES}")
    wait_for(page, PATHS, recorder)
    moved = (after(days, first), after(days, last))
    with reload_at(page, **{"from": moved[0], "to": moved[1]}):
        page.click("#fl-next")
    url = httpx.URL(page.url)
    assert (url.params["from"], url.params["to"]) == moved
    expect(page.locator("#fl-date-from")).to_have_value(moved[0])
    expect(page.locator("#fl-date-to")).to_have_value(moved[1])
    expect(page.locator("#fl-title h1")).to_contain_text(f"{moved[0]} → {moved[1]}")
    totals = get_json(api, f"/stats/changes?from={moved[0]}&to={moved[1]}&f=json&{EXAMPLES}")["totals"]
    expect(page.locator("#fl-changes tr")).to_have_count(len(totals) + 1)

    pair = {SYRSKYI, "example/RU/assessed/isw"}
    page.goto(f"{live_server.url}/maps/disagreement?date={SNAPSHOT_DAY}&a={SYRSKYI}&b=example/RU/assessed/isw")
    wait_for(page, PATHS, recorder)
    page.locator("#fl-title").click()  # the focus on the page, not on the map (which pans with the arrows)
    shown = before(observation_days(api, pair), SNAPSHOT_DAY)
    with reload_at(page, date=shown):
        page.keyboard.press("ArrowLeft")
    assert httpx.URL(page.url).params["date"] == shown
    expect(page.locator("#fl-day")).to_have_text(shown)
    expect(page.locator("#fl-series tr td:nth-child(4)")).to_have_text(
        [row["observed_on"] for row in get_json(api, f"/stats/disagreement?date={shown}&a={SYRSKYI}"
                                                f"&b=example/RU/assessed/isw&case=kursk-incursion")["series"]])
    assert recorder.page_errors == [], recorder.problems()


@pytest.mark.parametrize("typed", ["Плёх", "plek"])
def test_the_search_box_finds_a_place_by_any_of_its_names_and_moves_the_map_there(
        page: Page, recorder: Recorder, live_server: LiveServer, api: httpx.Client, typed: str) -> None:
    [place] = get_json(api, f"/places?q={typed}&limit=8")["rows"]
    assert place["key"] == "plekhovo"
    page.goto(f"{live_server.url}/maps/snapshot?date={POPUP_DAY}&{EXAMPLES}")
    wait_for(page, PATHS, recorder)
    page.fill("#fl-search", typed)
    option = page.locator("#fl-search-results li[role=option]")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("Plekhovo")
    expect(page.locator("#fl-search")).to_have_attribute("aria-expanded", "true")
    if typed == "plek":
        option.click()
    else:
        page.keyboard.press("Enter")
    expect(page.locator("body")).to_have_attribute("data-place-found", "plekhovo")
    expect(page.locator("#fl-search-results")).to_be_hidden()
    settle(page)
    view = page.evaluate(f"(() => {{ const m = {LEAFLET_MAP}; const c = m.getCenter(); "
                         "return {lat: c.lat, lon: c.lng, zoom: m.getZoom()}; })()")
    assert view["zoom"] >= 11
    assert abs(view["lat"] - place["lat"]) < 1e-3 and abs(view["lon"] - place["lon"]) < 1e-3
    expect(page.locator(".leaflet-popup-content").filter(has_text="Plekhovo")).to_be_visible()
    assert recorder.page_errors == [], recorder.problems()


# -- an empty store --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [f"/maps/snapshot?date={SNAPSHOT_DAY}", "/maps/timeline",
                                  f"/maps/compare?from={COMPARE[0]}&to={COMPARE[1]}"])
def test_a_store_without_claims_says_what_to_do_and_links_the_examples(
        page: Page, recorder: Recorder, live_server: LiveServer, api: httpx.Client, path: str) -> None:
    """The module's server holds the seed alone, whose claims are all examples: a page not asking for them draws
    no claim, and says how to fetch or import some, or to open the examples."""
    page.goto(live_server.url + path)
    note = page.locator("#fl-empty")
    expect(note).to_be_visible()
    expect(note).to_have_attribute("role", "note")
    expect(note).to_contain_text("frontline fetch")
    expect(note).to_contain_text("frontline import")
    # No series, no chart: the map reaches the bottom of the page instead of leaving an empty strip.
    expect(page.locator("#fl-strip")).to_have_count(0)
    frame = page.locator(".folium-map").bounding_box()
    assert frame and abs(frame["y"] + frame["height"] - page.viewport_size["height"]) < 1  # type: ignore[index]
    with reload_at(page, source="example"):
        page.click("a#fl-examples")
    url = httpx.URL(page.url)
    assert url.path == httpx.URL(path).path and url.params["source"] == "example"
    assert all(url.params[k] == v for k, v in httpx.URL(path).params.items())
    expect(page.locator("#fl-empty")).to_have_count(0)
    wait_for(page, PATHS, recorder)
    assert recorder.page_errors == [], recorder.problems()


# -- landing page ------------------------------------------------------------------------------------------

def test_landing_page_form_opens_the_snapshot_of_the_chosen_day(page: Page, recorder: Recorder,
                                                                live_server: LiveServer, api: httpx.Client) -> None:
    days = data_days(api)
    page.goto(f"{live_server.url}/app")
    wait_for(page, "#snapshot-form", recorder)
    screenshot(page, "app.png")
    chosen = days[0]  # not the form's default (the last day), so the value typed is the value sent
    page.fill("#snapshot-form input[name=date]", chosen)
    with page.expect_navigation():
        page.click("#snapshot-form button[type=submit]")
    opened = httpx.URL(page.url)
    assert opened.path == "/maps/snapshot" and opened.params["date"] == chosen
    # Only the seed is loaded here: the landing page says so and opens the maps on the examples.
    assert opened.params.get("source") == "example"
    expect(page.locator("#fl-day")).to_have_text(chosen)
    wait_for(page, PATHS, recorder)
    assert recorder.page_errors == []


# -- escaping (last: it adds places to this module's database) ----------------------------------------------

def test_data_text_is_shown_as_text_never_run(page: Page, recorder: Recorder, live_server: LiveServer,
                                              api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    # In Kursk oblast (so inside the default case), north-east of every seeded shape, in the initial view.
    hostile = {f"browser-xss-img-{tag}": ("<img src=x onerror=alert(1)>", 51.5, 35.6),
               f"browser-xss-template-{tag}": ("${alert(2)}", 51.45, 35.95)}
    before = int(get_json(api, "/collections/places/items?limit=1000")["numberMatched"])
    engine = create_engine(live_server.database_url)
    try:
        with engine.begin() as conn:
            for key, (name, lat, lon) in hostile.items():
                add_place(conn, key, name, lon=lon, lat=lat)
        deadline = time.monotonic() + 5  # the write reaches the server's cache through NOTIFY
        while int(get_json(api, "/collections/places/items?limit=1000")["numberMatched"]) != before + len(hostile):
            assert time.monotonic() < deadline, "the new places did not reach the server within 5 s"
            time.sleep(0.05)

        page.goto(f"{live_server.url}/maps/snapshot?date={SNAPSHOT_DAY}&{EXAMPLES}")
        wait_for(page, PATHS, recorder)
        for name, lat, lon in hostile.values():
            page.evaluate(f"{LEAFLET_MAP}.closePopup()")
            settle(page)  # the last popup may have panned the map to fit inside it
            where = marker(page, lat, lon)
            assert where["onTop"], f"the marker of {name!r} is covered: {where['hit']}"
            page.mouse.move(where["x"], where["y"], steps=5)
            tooltip = page.locator(".leaflet-tooltip").filter(has_text=name)
            expect(tooltip).to_be_visible(timeout=3000)
            expect(tooltip).to_have_text(name)
            page.mouse.click(where["x"], where["y"])
            # A closed popup or tooltip fades out for 200 ms, so pick the one that is about this place.
            popup = page.locator(".leaflet-popup-content").filter(has_text=name)
            expect(popup).to_be_visible(timeout=3000)
            assert popup.inner_text().splitlines()[0] == name
            assert popup.locator("img").count() == 0 and tooltip.locator("img").count() == 0
        assert page.locator(".leaflet-map-pane img, #fl-title img, #fl-legend img").count() == 0
        assert recorder.dialogs == []
        assert recorder.page_errors == []
    finally:  # places are append-only: close the versions, as an editor retiring a place would
        with engine.begin() as conn:
            conn.execute(text("UPDATE places SET superseded_at = now() "
                              "WHERE key = ANY(:keys) AND superseded_at IS NULL"), {"keys": list(hostile)})
        engine.dispose()


# -- share, embed, cite ------------------------------------------------------------------------------------

def test_an_embedded_map_in_an_iframe_shows_title_legend_and_attribution_only(
        page: Page, recorder: Recorder, live_server: LiveServer) -> None:
    """The share panel's iframe snippet, put in a page of another origin (about:blank): the map fills its frame,
    with its title, legend and attribution, and no layer control, zoom buttons or share panel."""
    page.goto(f"{live_server.url}/maps/snapshot?date={SNAPSHOT_DAY}&{EXAMPLES}")
    wait_for(page, PATHS, recorder)
    snippet = page.locator("#fl-iframe").input_value()
    assert "embed=1" in snippet and snippet.startswith("<iframe ")
    with another_site(f"<!doctype html><body style='margin:0'>{snippet}</body>") as host:
        page.goto(host)
        _check_embedded(page, recorder)


@contextmanager
def another_site(body: str) -> Iterator[str]:
    """A page served from another origin (its own port): the site that embeds the map."""

    class Host(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def _check_embedded(page: Page, recorder: Recorder) -> None:
    frame_element = page.locator("iframe")
    expect(frame_element).to_have_count(1)
    frame = frame_element.content_frame
    frame.locator(PATHS).first.wait_for(state="attached", timeout=10_000)
    expect(frame.locator("body.fl-embed")).to_have_count(1)
    expect(frame.locator("#fl-title")).to_be_visible()
    expect(frame.locator("#fl-legend")).to_be_visible()
    attribution = frame.locator(".leaflet-control-attribution")
    expect(attribution).to_be_visible()
    assert "Illustrative shapes by Frontline" in attribution.inner_text()
    for chrome in ("#fl-menu", "#fl-nav", "#fl-search", "#fl-drawer", "#fl-strip", ".leaflet-control-zoom",
                   "#fl-share"):
        expect(frame.locator(chrome)).to_be_hidden()
    box = frame.locator(".folium-map").bounding_box()
    assert box is not None and (round(box["width"]), round(box["height"])) == (800, 500)  # sized to its frame
    assert recorder.page_errors == [], recorder.problems()


def test_the_cite_panel_gives_todays_retrieval_and_a_pinned_link(page: Page, recorder: Recorder,
                                                                 live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/maps/compare?from={COMPARE[0]}&to={COMPARE[1]}&{EXAMPLES}")
    wait_for(page, PATHS, recorder)
    open_drawer(page)
    page.locator("#fl-share summary").click()
    expect(page.locator("#fl-permalink")).to_be_visible()
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    assert f"urldate = {{{today}}}" in page.locator("#fl-bibtex").inner_text()
    csl = page.evaluate("JSON.parse(document.getElementById('fl-csl').textContent)")
    assert csl["accessed"] == {"date-parts": [[int(n) for n in today.split("-")]]}
    link = page.locator("#fl-permalink").input_value()
    assert "known_at=" in link and csl["URL"] == link
    page.goto(link)  # the pinned link opens the same view
    wait_for(page, PATHS, recorder)
    assert page.locator("#fl-changes").inner_text() != ""
    assert recorder.page_errors == [] and recorder.console_errors == [], recorder.problems()
