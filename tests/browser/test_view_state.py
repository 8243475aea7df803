"""What a map link carries beyond its query (issue 22): the layers switched away from the page's defaults are in
the URL hash with the view, so that a reload or a shared link reopens the map as it was seen."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.helpers import LiveServer, Recorder

SYRSKYI = "example/UA/claimed/syrskyi"
ISW = "example/RU/assessed/isw"
SNAPSHOT = "/maps/snapshot?date=2024-09-15&source=example"


def layer_box(page: Page, key: str, sub: bool = False) -> Locator:
    """The checkbox of a layer (or of its first front line) in the drawer's layer list."""
    return page.locator(f".fl-layer[data-key='{key}'] {'.fl-layer-sub' if sub else '.fl-layer-main'} input").first


def test_switched_layers_are_in_the_link_and_a_reload_keeps_them(page: Page, recorder: Recorder,
                                                                 live_server: LiveServer) -> None:
    page.goto(live_server.url + SNAPSHOT)
    page.click("#fl-menu")
    expect(page.locator("#fl-drawer")).to_be_visible()
    isw, front, regions = layer_box(page, ISW), layer_box(page, SYRSKYI, sub=True), layer_box(page, "regions")
    expect(isw).to_be_checked()  # no featured series among the examples: every series is on
    expect(front).not_to_be_checked()
    isw.uncheck()
    front.check()
    regions.uncheck()
    assert "layers=" in page.url
    switched = set(page.url.split("layers=")[1].split("&")[0].split(","))
    assert switched == {f"-{ISW}", f"+front0:{SYRSKYI}", "-regions"}
    assert page.locator("#fl-permalink").input_value().endswith("#" + page.url.split("#")[1])
    isw.check()  # back to its default: no longer named
    assert f"-{ISW}" not in page.url

    page.goto(page.url)
    page.reload()
    page.click("#fl-menu")
    expect(layer_box(page, ISW)).to_be_checked()
    expect(layer_box(page, SYRSKYI, sub=True)).to_be_checked()
    expect(layer_box(page, "regions")).not_to_be_checked()
    page.wait_for_load_state("networkidle")
    assert any("/frontline?" in url and "example%2FUA%2Fclaimed%2Fsyrskyi" in url for url in recorder.requests)
    assert recorder.page_errors == [] and recorder.console_errors == [], recorder.problems()


def test_the_chart_is_read_and_used_from_the_keyboard(page: Page, recorder: Recorder,
                                                      live_server: LiveServer) -> None:
    """Focus the chart: ← / → pick the day before or after the map's, said aloud with each series' km² (a live
    region); Enter opens the map on it, as a click would. The page's own ← / → do not fire meanwhile."""
    page.goto(live_server.url + SNAPSHOT)
    page.wait_for_selector("body[data-chart-ready]", state="attached")
    chart = page.locator("#fl-chart")
    chart.focus()
    expect(chart).to_be_focused()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")
    assert "date=2024-09-15" in page.url  # the map stayed: the chart took the keys
    said = page.locator("#fl-chart-live").inner_text()
    assert said.startswith("2024-09-13: "), said
    rows = [r for r in page.evaluate("flPage.chart.rows") if r["day"] == "2024-09-13"]  # /stats/area/series's
    assert rows
    for row in rows:  # each series' km² that day, as the page formats it
        figure = f"{round(row['area_km2'], 1):,}".removesuffix(".0")
        assert f" {figure} km²" in said, (figure, said)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "date=2024-09-13" in page.url
    expect(page.locator("#fl-day")).to_have_text("2024-09-13")
    assert recorder.page_errors == [], recorder.problems()
