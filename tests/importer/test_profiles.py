"""Import profiles on small files written by the tests: rules, counts, dates, refusals with the line at fault."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from app.services.importer import import_file, import_paths, validate_options
from app.services.profiles import ProfileError, available, load_profile, parse_profile
from app.settings import Settings
from tests.helpers import SQUARE, client_on, count, feature, write_geojson

PROFILE = """\
name = "test-raw"
description = "a test export"
source = "test-raw-source"
source_kind = "osint"

[date]
from = "filename-unix-time"

[[rule]]
label = "held, near Sudzha"
where = { name = 'status\\.held', fill = '(?i)^#0000ff$' }
within = [35.0, 51.0, 35.5, 51.5]
side = "UA"
status = "assessed"
layer = "salient"

[[rule]]
label = "held elsewhere"
where = { name = 'status\\.held' }
side = "UA"
status = "assessed"
layer = "elsewhere"

[[rule]]
label = "grey zone"
where = { name = 'status\\.unknown' }
status = "unknown"

[[rule]]
label = "not this conflict"
where = { name = 'territories\\.' }
skip = true
"""
FAR = [[30.2, 50.2], [30.35, 50.2], [30.35, 50.29], [30.2, 50.29], [30.2, 50.2]]
PUBLISHED = 1724184993  # 2024-08-20 20:16:33 UTC


def profile_file(tmp_path: Path, text_: str = PROFILE) -> Path:
    path = tmp_path / "test-raw.toml"
    path.write_text(text_)
    return path


def export(tmp_path: Path, timestamp: int = PUBLISHED, square: list[list[float]] = SQUARE) -> Path:
    return write_geojson(
        tmp_path / f"{timestamp}.geojson",
        feature([square], name="Held /// status.held", fill="#0000FF"),
        feature([FAR], name="Held /// status.held", fill="#0000ff"),  # blue, but not within the box
        feature([square], name="Grey /// status.unknown"),
        feature([FAR], name="Elsewhere /// territories.far"),
        feature([FAR], name="A lake"),  # matches no rule
        feature([35.3, 51.2], "Point", name="Held /// status.held"),  # a unit, not territory
    )


def line_of(text_: str, needle: str) -> int:
    return next(n for n, line in enumerate(text_.splitlines(), 1) if needle in line)


def test_shipped_profiles_load() -> None:
    assert {p.name for p in available()} == {"deepstate-raw", "deepstate-daily", "isw-kursk"}
    assert load_profile("deepstate-raw").source == "deepstatemap"


def test_rules_sort_features_and_everything_else_is_counted(seeded: Connection, tmp_path: Path) -> None:
    report = import_file(seeded, export(tmp_path), load_profile(str(profile_file(tmp_path))))
    assert report.outcome == "imported", report.error
    assert (report.features, report.inserted, report.skipped, report.unmatched) == (6, 3, 2, 1)
    assert report.by_rule == {"held, near Sudzha": 1, "held elsewhere": 1, "grey zone": 1,
                              "skipped: not this conflict": 1, "skipped: Point (not territory)": 1}
    assert any("matched no rule" in m and "A lake" in m for m in report.messages)
    rows = seeded.execute(text(
        "SELECT side_code, status, layer, lower(valid), properties->>'published_at' FROM control_areas "
        "WHERE key LIKE 'test-raw-source/%' ORDER BY layer")).all()
    published = datetime.fromtimestamp(PUBLISHED, UTC)
    assert [tuple(r[:3]) for r in rows] == [("UA", "assessed", "elsewhere"), ("UA", "assessed", "salient"),
                                            (None, "unknown", None)]
    assert {r[3] for r in rows} == {published.date()} and {r[4] for r in rows} == {published.isoformat()}


def test_the_same_publication_twice_writes_nothing(seeded: Connection, tmp_path: Path) -> None:
    profile = load_profile(str(profile_file(tmp_path)))
    path = export(tmp_path)
    import_file(seeded, path, profile)
    before = count(seeded)
    assert import_file(seeded, path, profile).outcome == "unchanged"
    assert count(seeded) == before


def test_two_publications_of_one_day_keep_both_the_later_current(seeded: Connection, tmp_path: Path) -> None:
    profile = load_profile(str(profile_file(tmp_path)))
    bigger = [[35.2, 51.2], [35.45, 51.2], [35.45, 51.29], [35.2, 51.29], [35.2, 51.2]]
    import_file(seeded, export(tmp_path), profile)
    later = import_file(seeded, export(tmp_path, PUBLISHED + 3000, bigger), profile)  # 21:06 UTC, same day
    # Every series is re-stated by the later publication (its publication time is part of each version).
    assert later.superseded == 3 and later.inserted == 3
    versions = seeded.execute(text(
        "SELECT properties->>'published_at', superseded_at IS NULL FROM control_areas "
        "WHERE key = 'test-raw-source/UA/assessed/salient/2024-08-20' ORDER BY id")).all()
    assert [(v[0][11:19], v[1]) for v in versions] == [("20:16:33", False), ("21:06:33", True)]


def test_unknown_key_is_refused_with_its_line(tmp_path: Path) -> None:
    broken = PROFILE.replace('layer = "elsewhere"', 'layer = "elsewhere"\ncolour = "blue"')
    with pytest.raises(ProfileError) as error:
        load_profile(str(profile_file(tmp_path, broken)))
    assert f"line {line_of(broken, 'colour')}: rule.1.colour: unknown key" in error.value.detail


def test_bad_regular_expression_is_refused_with_its_line(tmp_path: Path) -> None:
    broken = PROFILE.replace("status\\.unknown", "status\\.(unknown")
    with pytest.raises(ProfileError) as error:
        load_profile(str(profile_file(tmp_path, broken)))
    assert f"line {line_of(broken, '(unknown')}: rule.2.where" in error.value.detail
    assert "bad regular expression" in error.value.detail


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    broken = PROFILE.replace('status = "unknown"', 'status = unknown')
    with pytest.raises(ProfileError) as error:
        load_profile(str(profile_file(tmp_path, broken)))
    assert f"line {line_of(broken, 'status = unknown')}" in error.value.detail


def test_unknown_side_is_refused_before_any_file_is_read(seeded: Connection, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = PROFILE.replace('side = "UA"\nstatus = "assessed"\nlayer = "elsewhere"',
                             'side = "XX"\nstatus = "assessed"\nlayer = "elsewhere"')
    profile = load_profile(str(profile_file(tmp_path, broken)))
    with pytest.raises(ProfileError) as error:
        validate_options(seeded, profile)
    assert f"line {line_of(broken, 'XX')}: rule.1.side: unknown side 'XX'" in error.value.detail
    unreadable = tmp_path / "1724184993.geojson"
    unreadable.write_text("not json at all")
    with pytest.raises(ProfileError):  # the profile is refused; the unreadable file is never opened
        import_paths(engine, [unreadable], profile)


def test_a_file_name_that_is_not_a_unix_time_is_rejected_whole(seeded: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "2024-08-20.geojson", feature([SQUARE], name="status.held", fill="#0000ff"))
    before = count(seeded)
    report = import_file(seeded, path, load_profile(str(profile_file(tmp_path))))
    assert report.outcome == "rejected" and "not a Unix time" in (report.error or "")
    assert count(seeded) == before


def test_parse_profile_rejects_a_rule_without_a_side_for_a_held_status() -> None:
    with pytest.raises(ProfileError) as error:
        parse_profile(PROFILE.replace('side = "UA"\nstatus = "assessed"\nlayer = "salient"',
                                      'status = "assessed"\nlayer = "salient"'), "inline")
    assert "side is required" in error.value.detail


TITLED = PROFILE.replace('layer = "salient"', 'layer = "salient"\ntitle = "Test — UA-held ground near Sudzha"')


def test_a_rule_title_names_its_series_and_other_series_get_a_made_title(seeded: Connection, settings: Settings,
                                                                         engine: Engine, tmp_path: Path) -> None:
    report = import_file(seeded, export(tmp_path), load_profile(str(profile_file(tmp_path, TITLED))))
    assert report.outcome == "imported", report.error
    name = seeded.execute(text("SELECT name FROM sources WHERE slug = 'test-raw-source'")).scalar_one()
    expected = {
        "test-raw-source/UA/assessed/salient": "Test — UA-held ground near Sudzha",
        "test-raw-source/UA/assessed/elsewhere": f"{name} — ground held by Ukraine, assessed (elsewhere)",
        "test-raw-source/-/unknown/-": f"{name} — ground of unknown status",
    }
    with client_on(seeded, settings, engine) as client:
        listed = client.get("/series?source=test-raw-source").json()["series"]
        assert {r["id"]: r["title"] for r in listed} == expected
        assert all((r["first_observed"], r["observations"]) == ("2024-08-20", 1) for r in listed)
        area = client.get("/stats/area?date=2024-08-20&source=test-raw-source").json()["rows"]
        assert {r["series"]: r["title"] for r in area} == expected
        [feature] = client.get("/control?date=2024-08-20&series=test-raw-source/UA/assessed/salient").json()[
            "features"]
        assert feature["properties"]["series_title"] == "Test — UA-held ground near Sudzha"


def test_a_rule_may_yield_to_another_series_over_the_same_ground(seeded: Connection, settings: Settings,
                                                                 engine: Engine, tmp_path: Path) -> None:
    yielding = PROFILE.replace('layer = "elsewhere"',
                               'layer = "elsewhere"\nsame_ground_as = "test-raw-source/UA/assessed/salient"')
    import_file(seeded, export(tmp_path), load_profile(str(profile_file(tmp_path, yielding))))
    elsewhere = "test-raw-source/UA/assessed/elsewhere"
    with client_on(seeded, settings, engine) as client:
        listed = {r["id"]: r for r in client.get("/series?source=test-raw-source").json()["series"]}
        assert (listed[elsewhere]["preferred"], listed[elsewhere]["same_ground_as"]) == (
            False, "test-raw-source/UA/assessed/salient")
        area = client.get("/stats/area?date=2024-08-20&source=test-raw-source&side=UA").json()["rows"]
        assert [r["series"] for r in area] == ["test-raw-source/UA/assessed/salient"]
        asked = client.get(f"/stats/area?date=2024-08-20&series={elsewhere}").json()["rows"]
        assert [r["series"] for r in asked] == [elsewhere]


def test_a_skip_rule_takes_no_title(tmp_path: Path) -> None:
    broken = PROFILE.replace("skip = true", 'skip = true\ntitle = "Not this conflict"')
    with pytest.raises(ProfileError) as error:
        load_profile(str(profile_file(tmp_path, broken)))
    assert "a skip rule takes no" in error.value.detail and "title" in error.value.detail


def test_two_byte_identical_days_of_a_daily_archive_are_two_observations(seeded: Connection, tmp_path: Path) -> None:
    # The front did not move overnight: DeepStateMap's daily file of the next day has the same bytes.
    profile = load_profile("deepstate-daily")
    first = write_geojson(tmp_path / "deepstatemap_data_20241001.geojson", feature([SQUARE]))
    second = tmp_path / "deepstatemap_data_20241002.geojson"
    second.write_bytes(first.read_bytes())
    assert [import_file(seeded, p, profile).outcome for p in (first, second)] == ["imported", "imported"]
    days = seeded.execute(text("SELECT lower(valid) FROM control_areas WHERE key LIKE 'deepstatemap/RU/%' "
                               "AND superseded_at IS NULL ORDER BY 1")).scalars().all()
    assert [d.isoformat() for d in days] == ["2024-10-01", "2024-10-02"]
    assert import_file(seeded, second, profile).outcome == "unchanged"  # the same file again writes nothing
