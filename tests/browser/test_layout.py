"""The map pages at a glance (issue 22), on the real archive, at a laptop's 1366×768 and a phone's 390×844: how
much of the map the controls cover, labels that never overlap, the featured layers, the area chart against
/stats/area/series, and axe-core's accessibility checks.

The tests read the whole real archive (../shared/data imported with the shipped profiles, once for the module)
and skip without it, but the coverage test, which then measures the same pages on the seed's examples (and takes
the screenshots for docs/ with FRONTLINE_SCREENSHOTS=1). Run with `-s` to see the measured coverage and axe's
lesser findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, ViewportSize, expect
from shapely.geometry import shape

from tests.helpers import (
    CASE,
    DESKTOP,
    LEAFLET_MAP,
    PHONE,
    SHARED_DATA,
    LiveServer,
    Recorder,
    get_json,
    label_check,
    map_coverage,
    screenshot,
    script_config,
    wait_for_front_lines,
    zoom_to,
)

SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366x768", "390x844"])
LIMIT = {DESKTOP["width"]: 0.15, PHONE["width"]: 0.25}  # the most of the map controls may cover on first load
SALIENT = "deepstatemap/UA/assessed/kursk-salient"
ISW = "isw/RU/assessed/kursk-ru-advances"
LIBERATED = "deepstatemap/UA/assessed/liberated"
DAY = "2024-10-06"
PAGES = {  # the README's views of the real archive
    "snapshot": "/maps/snapshot?date=2025-03-14",
    "timeline": "/maps/timeline?start=2024-08-01&end=2025-04-30",
    "compare": "/maps/compare?from=2024-09-01&to=2025-03-16",
    "disagreement": f"/maps/disagreement?date=2024-12-15&a={SALIENT}&b={ISW}",
}
#: The same views of the seed's examples, for the layout tests of a clone without ../shared/data.
SEED_PAGES = {
    "snapshot": "/maps/snapshot?date=2024-09-15&source=example",
    "timeline": "/maps/timeline?source=example",
    "compare": "/maps/compare?from=2024-08-20&to=2024-11-20&source=example",
    "disagreement": "/maps/disagreement?date=2024-09-15&a=example/UA/claimed/syrskyi&b=example/RU/assessed/isw",
}
PATHS = ".leaflet-map-pane path.leaflet-interactive"
AXE = Axe()


@pytest.fixture(scope="module")
def views(request: pytest.FixtureRequest) -> tuple[LiveServer, dict[str, str]]:
    """The server and page URLs the layout is measured on: the real archive where ../shared/data is present,
    else the seed's examples (so that a clone without it still checks the layout)."""
    if SHARED_DATA.exists():
        return request.getfixturevalue("archive_server"), PAGES
    return request.getfixturevalue("live_server"), SEED_PAGES


@pytest.fixture(scope="module")
def api(archive_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=archive_server.url, timeout=30) as client:
        yield client


def featured(api: httpx.Client) -> list[str]:
    """The default case's featured series (/cases)."""
    return list(get_json(api, "/cases")["cases"][0]["featured"])


def base_paths(api: httpx.Client) -> int:
    """Paths every map page draws under its areas: one per region and line, and per place inside the case."""
    ground = shape(get_json(api, "/cases?f=geojson")["features"][0]["geometry"])
    places = get_json(api, "/collections/places/items?limit=10000")["features"]
    return (sum(int(get_json(api, f"/collections/{c}/items?limit=1000")["numberMatched"]) for c in ("regions", "lines"))
            + sum(ground.covers(shape(f["geometry"])) for f in places))


def open_map(page: Page, url: str, recorder: Recorder) -> None:
    """Open a map page and wait until it has settled: its data drawn (the timeline's day), its chart's data in."""
    page.goto(url)
    page.wait_for_selector(PATHS, state="attached")
    if "/maps/timeline" in url:
        page.wait_for_selector("body[data-day-shown]", state="attached")
    if page.locator("#fl-chart").count():
        page.wait_for_selector("body[data-chart-ready]", state="attached")
    page.wait_for_load_state("networkidle")
    assert recorder.page_errors == [] and recorder.console_errors == [], recorder.problems()


def open_drawer(page: Page) -> None:
    page.click("#fl-menu")
    expect(page.locator("#fl-drawer")).to_be_visible()


def layer_states(page: Page) -> dict[str, bool]:
    """Each row of the layer list, by key: whether its checkbox is ticked."""
    found: dict[str, bool] = page.locator("#fl-layers .fl-layer").evaluate_all(
        "rows => Object.fromEntries(rows.map(r => [r.dataset.key, r.querySelector('.fl-layer-main input').checked]))")
    return found


# -- the map is the page ---------------------------------------------------------------------------------------

@SIZES
@pytest.mark.parametrize("name", PAGES)
def test_controls_cover_little_of_the_map_on_first_load(page: Page, recorder: Recorder,
                                                        views: tuple[LiveServer, dict[str, str]],
                                                        viewport: ViewportSize, name: str) -> None:
    """At most 15 % of the map at 1366×768 and 25 % at 390×844 lies under what is drawn over it (controls,
    legend, panels); the bar above and the chart strip below sit beside the map, not over it. The drawer is
    closed; on a phone, the legend and the chart are folded. (The snapshot's are the screenshots in docs/.)"""
    server, paths = views
    open_map(page, server.url + paths[name], recorder)
    phone = viewport["width"] <= 640
    coverage = map_coverage(page)
    print(f"\ncoverage {name} {viewport['width']}×{viewport['height']}: {coverage}")
    assert coverage.fraction <= LIMIT[viewport["width"]], coverage

    frame = coverage.map_box
    assert frame["bottom"] - frame["top"] > viewport["height"] / 2, "the map takes most of the page's height"
    assert frame["left"] == 0 and frame["right"] == viewport["width"]
    bar = page.locator("#fl-bar").bounding_box()
    strip = page.locator("#fl-strip").bounding_box()
    assert bar and bar["y"] + bar["height"] <= frame["top"] + 0.5, "the bar overlaps the map"
    assert strip and strip["y"] >= frame["bottom"] - 0.5, "the chart strip overlaps the map"
    # Nothing of the bar spills over the map (its search results drop down over it only when asked).
    spill = page.evaluate("""() => Math.max(...[...document.querySelectorAll("#fl-bar *")]
        .filter(e => e.checkVisibility() && !e.closest("#fl-search-results"))
        .map(e => e.getBoundingClientRect().bottom))""")
    assert spill <= frame["top"] + 0.5, "something in the bar hangs over the map"
    expect(page.locator("#fl-drawer")).to_be_hidden()
    assert page.locator("#fl-legend").evaluate("e => e.open") is not phone
    assert ("fl-chart-closed" in (page.get_attribute("body", "class") or "")) is phone
    if name == "snapshot":
        screenshot(page, "map-snapshot-phone.png" if phone else "map-snapshot.png")
        if not phone:
            open_drawer(page)
            screenshot(page, "map-snapshot-drawer.png")


@SIZES
@pytest.mark.parametrize("case", ["kursk-incursion", "none"])
def test_no_two_settlement_labels_overlap_at_three_zooms(page: Page, recorder: Recorder, archive_server: LiveServer,
                                                         viewport: ViewportSize, case: str) -> None:
    """The case's places with its featured fronts drawn, or every place (`case=none`): at the page's zoom and one
    either side, no visible label overlaps another, another settlement's marker, or a front line."""
    fronts = f"&front={SALIENT},{ISW}" if case != "none" else ""
    open_map(page, f"{archive_server.url}/maps/snapshot?date={DAY}&case={case}{fronts}", recorder)
    if fronts:  # the labels give way to the lines once they are in
        wait_for_front_lines(page, 2)
    first = page.evaluate(f"{LEAFLET_MAP}.getZoom()")
    shown = []
    for zoom in (first - 1, first, first + 1):
        assert zoom_to(page, zoom) == zoom
        found = label_check(page)
        print(f"\nlabels {case} {viewport['width']}×{viewport['height']} zoom {zoom}: {len(found['shown'])} shown")
        assert found["problems"] == [], found
        assert not fronts or found["fronts"] > 0
        shown.append(len(found["shown"]))
    assert min(shown) > 0 and max(shown) >= 5, shown  # labels there are, many at one zoom at least
    assert recorder.page_errors == [], recorder.problems()


# -- layers ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["snapshot", "timeline", "compare"])
def test_the_cases_featured_series_are_on_and_the_others_listed_and_off(
        page: Page, recorder: Recorder, archive_server: LiveServer, api: httpx.Client, name: str) -> None:
    """The Kursk case features DeepStateMap's salient, grey zone and daily Russian-held ground, and ISW's
    advances: those observed are on (listed even with no ground in the case on the day); DeepStateMap's 2022
    liberation is listed and off. A front line is offered for the featured series with a side and ground."""
    chosen = featured(api)
    assert set(chosen) == {SALIENT, "deepstatemap/-/unknown/unknown", ISW, "deepstatemap/RU/assessed/-"}
    path = {"snapshot": f"/maps/snapshot?date={DAY}", "timeline": f"/maps/timeline?day={DAY}",
            "compare": PAGES["compare"]}[name]
    open_map(page, archive_server.url + path, recorder)
    open_drawer(page)
    states = layer_states(page)
    assert {k: on for k, on in states.items() if k in ("regions", "lines", "settlements")} == {
        "regions": True, "lines": True, "settlements": True}
    series = {k: on for k, on in states.items() if "/" in k}
    assert series[LIBERATED] is False
    assert series == {key: key in chosen for key in series}
    assert {SALIENT, ISW} <= {key for key, on in series.items() if on}
    if name == "compare":  # every featured series has ground in the case on one of its days
        assert {key for key, on in series.items() if on} == set(chosen)
    sided = {row["id"] for row in get_json(api, "/series")["series"] if row["side"]}
    offered = set(page.locator("#fl-layers .fl-layer:has(label.fl-layer-sub)").evaluate_all(
        "rows => rows.map(r => r.dataset.key)"))
    drawn = {f["properties"]["series"] for f in get_json(api, f"/control?date={DAY}&case={CASE}")["features"]}
    if name == "snapshot":  # a front only where the series has ground in the case
        assert offered == {key for key, on in series.items() if on and key in sided and key in drawn}
    else:
        assert offered == {key for key, on in series.items() if on and key in sided}
    groups = page.locator("#fl-layers fieldset.fl-group > legend").all_inner_texts()
    assert groups == ["Base layers", "DeepStateMap", "Institute for the Study of War (ISW) / Critical Threats"]
    # Each series once, under its short title (the full one in its tooltip).
    titles = {row["id"]: row for row in get_json(api, "/series")["series"]}
    for key in series:
        main = page.locator(f'#fl-layers .fl-layer[data-key="{key}"] label.fl-layer-main')
        expect(main).to_have_count(1)
        expect(main).to_have_attribute("title", titles[key]["title"])
        assert main.inner_text().strip() == titles[key]["short_title"] and len(titles[key]["short_title"]) <= 40
    if name == "snapshot":  # what is on is drawn, what is off is not: a path per series on, over the base layers
        base = base_paths(api)
        shown = sum(on and key in drawn for key, on in series.items())
        expect(page.locator(PATHS)).to_have_count(base + shown)
        page.locator(f'#fl-layers .fl-layer[data-key="{LIBERATED}"] .fl-layer-main input').check()
        expect(page.locator(PATHS)).to_have_count(base + shown + 1)
    assert recorder.page_errors == [], recorder.problems()


def test_series_in_the_url_decide_what_is_on(page: Page, recorder: Recorder, archive_server: LiveServer) -> None:
    open_map(page, f"{archive_server.url}/maps/snapshot?date={DAY}&series={LIBERATED}", recorder)
    open_drawer(page)
    assert {k: on for k, on in layer_states(page).items() if "/" in k} == {LIBERATED: True}


# -- the chart ---------------------------------------------------------------------------------------------------

def page_days(api: httpx.Client, path: str) -> list[str]:
    """The timeline's slider days (its configuration)."""
    return list(script_config(api.get(path).text, "frontline.timeline(")["days"])


def unix(day: str) -> int:
    return int(datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).timestamp())


@pytest.mark.parametrize("name", PAGES)
def test_the_charts_points_are_those_of_stats_area_series_and_a_click_opens_the_day(
        page: Page, recorder: Recorder, archive_server: LiveServer, api: httpx.Client, name: str) -> None:
    """The chart under the map draws the featured series' km² as /stats/area/series answers them, cut to the
    case: x the days of the answer, each line its series' area_km2 on each day (a gap where it has none). A click
    on a day opens the map there."""
    config = script_config(api.get(PAGES[name]).text)["chart"]
    url = httpx.URL(config["url"])
    assert url.path == "/stats/area/series" and url.params["case"] == "kursk-incursion"
    keys = [s["key"] for s in config["series"]]
    assert set(url.params["series"].split(",")) == set(keys)
    if name != "disagreement":  # the featured series present; on the disagreement page, its two series
        assert set(keys) <= set(featured(api)) and {SALIENT, ISW} <= set(keys)
    else:
        assert set(keys) == {SALIENT, ISW}
    rows = get_json(api, config["url"])["rows"]
    days = sorted({row["day"] for row in rows})
    area = {(row["day"], row["series"]): row["area_km2"] for row in rows}
    expected = [[unix(d) for d in days], *([area.get((d, key)) for d in days] for key in keys)]

    open_map(page, archive_server.url + PAGES[name], recorder)
    assert page.evaluate("flPage.chart.rows") == rows
    assert page.evaluate("flPage.chart.data") == expected
    expect(page.locator("#fl-chart canvas")).to_have_count(1)

    chosen = days[len(days) * 2 // 3]  # after the compare page's first day
    point = page.evaluate("""(x) => { const plot = flPage.chart.plot, box = plot.over.getBoundingClientRect();
        return {x: box.left + plot.valToPos(x, "x"), y: box.top + box.height / 2}; }""", unix(chosen))
    page.mouse.move(point["x"], point["y"])
    if name == "timeline":  # the slider moves there (to the last day with data on or before it)
        page.mouse.click(point["x"], point["y"])
        slider_days = [d for d in page_days(api, PAGES[name]) if d <= chosen]
        expect(page.locator("body")).to_have_attribute("data-day-shown", slider_days[-1])
    else:
        param = config["param"]
        with page.expect_navigation(url=lambda url: httpx.URL(url).params.get(param) == chosen):
            page.mouse.click(point["x"], point["y"])
        assert httpx.URL(page.url).params[param] == chosen
        expect(page.locator(f"#fl-date-{param}")).to_have_value(chosen)
    assert recorder.page_errors == [], recorder.problems()


# -- accessibility -----------------------------------------------------------------------------------------------

def axe_violations(page: Page, where: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (its lesser ones printed)."""
    found = AXE.run(page).response["violations"]
    for v in found:
        if v["impact"] not in ("serious", "critical"):
            print(f"\naxe {where}: {v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}")
    return [f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}: "
            f"{v['nodes'][0]['failureSummary']}" for v in found if v["impact"] in ("serious", "critical")]


@SIZES
@pytest.mark.parametrize("name", [*PAGES, "app"])
def test_axe_finds_no_serious_or_critical_violation(page: Page, recorder: Recorder, archive_server: LiveServer,
                                                    viewport: ViewportSize, name: str) -> None:
    """axe-core on each map page as it opens and with its drawer (and its share panel) open, and on /app."""
    where = f"{name} {viewport['width']}×{viewport['height']}"
    if name == "app":
        page.goto(f"{archive_server.url}/app")
        assert axe_violations(page, where) == []
        return
    open_map(page, archive_server.url + PAGES[name], recorder)
    assert axe_violations(page, where) == []
    open_drawer(page)
    page.locator("#fl-share summary").click()
    expect(page.locator("#fl-permalink")).to_be_visible()
    assert axe_violations(page, f"{where}, drawer open") == []
