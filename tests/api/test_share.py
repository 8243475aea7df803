"""Share, embed and cite a map view (issue 16): pinned permalinks, the iframe snippet, BibTeX and CSL-JSON."""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from app.services import cite
from tests.helpers import SYRSKYI_EXAMPLE, correct_syrskyi_example

VERSIONED = ("control_areas", "places", "lines", "regions", "events", "reported_figures")
PAGES = {
    "snapshot": {"date": "2024-08-20", "source": "example"},
    "timeline": {"source": "example"},
    "compare": {"from": "2024-08-20", "to": "2024-11-20", "source": "example"},
    "disagreement": {"date": "2024-09-15", "a": SYRSKYI_EXAMPLE, "b": "example/RU/assessed/isw"},
}


def panel(page: str) -> dict[str, str]:
    """The share panel's permalink, iframe snippet, BibTeX and CSL-JSON, and the series it lists."""
    found = {name: html.unescape(re.search(pattern, page, re.S).group(1)) for name, pattern in {
        "permalink": r"id='fl-permalink' value='([^']*)'", "iframe": r"id='fl-iframe' rows='3'>(.*?)</textarea>",
        "bibtex": r"id='fl-bibtex'>(.*?)</pre>", "csl": r"id='fl-csl'>(.*?)</pre>"}.items()}
    found["shown"] = ",".join(re.findall(r"<li data-series='([^']+)'>", page))
    return found


@pytest.mark.parametrize("name", PAGES)
def test_every_map_page_has_a_pinned_permalink_an_iframe_and_citations(client: TestClient, seeded: Connection,
                                                                      name: str) -> None:
    written = seeded.execute(text(" UNION ALL ".join(  # the latest version recorded or superseded, anywhere
        f"SELECT greatest(max(recorded_at), max(superseded_at)) AS t FROM {table}" for table in VERSIONED)
        .join(["SELECT max(t) FROM (", ") AS writes"]))).scalar_one()
    response = client.get(f"/maps/{name}", params=PAGES[name])
    assert response.status_code == 200
    found = panel(response.text)
    link = urlsplit(found["permalink"])
    query = parse_qs(link.query)
    assert link.path == f"/maps/{name}" and {k: v[0] for k, v in query.items() if k != "known_at"} == PAGES[name]
    # Pinned to the latest write: the data as it was when the page was built.
    assert datetime.fromisoformat(query["known_at"][0].replace("Z", "+00:00")) == written
    assert f'src="{html.escape(found["permalink"] + "&embed=1")}"' in found["iframe"]
    assert found["bibtex"].startswith("@misc{frontline-") and f"url = {{{found['permalink']}}}" in found["bibtex"]
    item = json.loads(found["csl"])
    assert item["URL"] == found["permalink"] and item["type"] == "dataset" and item["version"].isdigit()
    if name == "snapshot":
        control = client.get("/control", params=PAGES["snapshot"]).json()
        assert found["shown"].split(",") == [f["properties"]["series"] for f in control["features"]]
        days = {f["properties"]["observed_on"] for f in control["features"]}
        assert all(f"observed {day}" in response.text for day in days)


def test_a_pinned_permalink_shows_the_old_version_after_a_correction(client: TestClient,
                                                                    seeded: Connection) -> None:
    def syrskyi_km2(url: str) -> str:
        page = client.get(url)
        assert page.status_code == 200
        row = re.search(r"<td title='" + re.escape(SYRSKYI_EXAMPLE) + r"'>.*?</tr>", page.text, re.S)
        assert row is not None
        return re.findall(r"class='fl-num'>([^<]+)</td>", row.group(0))[-1]

    url = "/maps/snapshot?date=2024-08-20&source=example"
    permalink = panel(client.get(url).text)["permalink"]
    before = syrskyi_km2(url)
    correct_syrskyi_example(seeded)  # a correction, recorded a day later
    assert syrskyi_km2(url) != before  # the page as it is now shows the correction
    assert syrskyi_km2(permalink.split("testserver", 1)[1]) == before  # the pinned link does not
    assert panel(client.get(url).text)["permalink"] != permalink  # and a new pin for the new data


@pytest.mark.parametrize("value", ["1", "true", "Yes"])
def test_embed_pages_drop_the_chrome_and_may_be_framed(client: TestClient, seeded: Connection, value: str) -> None:
    page = client.get("/maps/snapshot", params={**PAGES["snapshot"], "embed": value})
    assert page.status_code == 200
    assert '"embed": true' in page.text or '"embed":true' in page.text
    assert "frame-ancestors *" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers
    plain = client.get("/maps/snapshot", params=PAGES["snapshot"])
    assert "frame-ancestors 'self'" in plain.headers["content-security-policy"]
    assert plain.headers["x-frame-options"] == "SAMEORIGIN"
    # A cached copy keeps its own headers.
    again = client.get("/maps/snapshot", params={**PAGES["snapshot"], "embed": value})
    assert "frame-ancestors *" in again.headers["content-security-policy"]


def test_bibtex_and_csl_entries() -> None:
    citation = cite.Citation(
        title="Frontline map: control on 2024-08-20 (Kursk)", permalink="http://h/maps/snapshot?date=2024-08-20"
        "&known_at=2026-01-02T03:04:05Z", known_at="2026-01-02T03:04:05Z", version=42,
        shown=[cite.Shown("isw/RU/assessed/x", "ISW — 50% & more_", "2024-08-19")], attributions=["ISW", "EEA"])
    entry = cite.bibtex(citation, date(2026, 11, 26))
    assert entry.startswith(f"@misc{{{citation.key},") and entry.endswith("}")
    assert "urldate = {2026-11-26}" in entry and "date = {2026-01-02}" in entry and "year = {2026}" in entry
    assert r"ISW — 50\% \& more\_" in entry  # escaped for TeX, the URL left alone
    assert "url = {http://h/maps/snapshot?date=2024-08-20&known_at=2026-01-02T03:04:05Z}" in entry
    assert entry.count("{") == entry.count("}")
    item = cite.csl_json(citation, date(2026, 11, 26))
    assert item["issued"] == {"date-parts": [[2026, 1, 2]]} and item["accessed"] == {"date-parts": [[2026, 11, 26]]}
    assert "observed 2024-08-19" in item["note"] and "data version 42" in item["note"]


def test_cite_any_figure_with_a_pinned_permalink(client: TestClient, seeded: Connection) -> None:
    """GET /cite: the figure's permalink pinned (it then answers as before after a correction), the entries."""
    figure = f"/stats/area?date=2024-08-20&series={SYRSKYI_EXAMPLE}"
    response = client.get("/cite", params={"url": figure, "title": "Syrskyi's claim, as drawn"})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["pinned"] and body["permalink"].startswith("http://testserver/stats/area?")
    assert parse_qs(urlsplit(body["permalink"]).query)["known_at"] == [body["known_at"]]
    assert "title = {Syrskyi's claim, as drawn}" in body["bibtex"] and body["csl"]["URL"] == body["permalink"]
    assert "Illustrative shapes by Frontline" in body["csl"]["note"]  # the series' source is credited
    before = client.get(body["permalink"]).json()["rows"][0]["area_km2"]
    correct_syrskyi_example(seeded)
    assert client.get(figure).json()["rows"][0]["area_km2"] != before
    assert client.get(body["permalink"]).json()["rows"][0]["area_km2"] == before


def test_cite_a_view_without_known_at_says_it_is_not_pinned(client: TestClient) -> None:
    url = "/collections/places/items?limit=5"  # items take datetime, not known_at: the link cannot be pinned
    body = client.get("/cite", params={"url": url}).json()
    assert body["pinned"] is False and body["known_at"] is None
    assert body["permalink"] == "http://testserver" + url
    kept = client.get("/cite", params={"url": "/series?known_at=2025-01-01T00:00:00Z"}).json()
    assert kept["known_at"] == "2025-01-01T00:00:00Z" and kept["permalink"].count("known_at") == 1


@pytest.mark.parametrize("url", ["https://example.org/stats/area", "stats/area", "/nowhere", "//evil.example/x"])
def test_cite_only_this_api(client: TestClient, url: str) -> None:
    response = client.get("/cite", params={"url": url})
    assert response.status_code == 400 and response.json()["parameter"] == "url"


@pytest.mark.parametrize("name", PAGES)
def test_the_share_panel_downloads_the_view(client: TestClient, seeded: Connection, name: str) -> None:
    """Each page links to itself as a PNG (the timeline: as GIF and MP4), pinned like the permalink."""
    page = client.get(f"/maps/{name}", params=PAGES[name]).text
    links = [html.unescape(u) for u in re.findall(r"<a href='([^']+)' download>", page)]
    expected = {"gif": "image/gif", "mp4": "video/mp4"} if name == "timeline" else {"png": "image/png"}
    assert len(links) == len(expected)
    for link, media in zip(links, expected.values(), strict=True):
        assert "known_at=" in link
        response = client.get(link.split("testserver", 1)[1])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media
