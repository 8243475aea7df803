"""Who held a settlement: per claim series, on a day and over time, from its observations in day order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from itertools import groupby
from typing import Any

from sqlalchemy import Connection

from app.db import towns
from app.db.asof import Filters

Observation = dict[str, Any]  # series, title, source, side, status, layer, day, holds
SERIES = ("series", "title", "source", "side", "status", "layer")


def _series(observations: Iterable[Observation]) -> Iterator[tuple[dict[str, Any], list[Observation]]]:
    for _, group in groupby(observations, key=lambda o: o["series"]):
        rows = list(group)
        yield {k: rows[0][k] for k in SERIES}, rows


def holder(covers: bool, named: dict[str, Any], grey: bool, default: dict[str, Any] | None) -> tuple[str | None, bool]:
    """Who holds a place by one series' observation: its side where its areas cover the place ('unknown' for
    an unknown or contested area); else 'unknown' inside the same source's grey zone; else, inside a case, the
    territory's own side, by default. None: the series says nothing about it."""
    one_sided = bool(named["side"]) and named["status"] not in UNHELD
    if covers:
        return (named["side"] if one_sided else "unknown"), False
    if grey:
        return "unknown", False
    if default and one_sided:
        return default["side"], True
    return None, False


UNHELD = ("unknown", "contested")


def _grey_days(observations: Iterable[Observation]) -> dict[str, set[date]]:
    """Per source: the days its unknown / contested areas cover the place."""
    found: dict[str, set[date]] = {}
    for o in observations:
        if o["holds"] and o["status"] in UNHELD:
            found.setdefault(o["source"], set()).add(o["day"])
    return found


def control_on(observations: Iterable[Observation], day: date, default: dict[str, Any] | None = None
               ) -> list[dict[str, Any]]:
    """Per series: does its latest observation on or before ``day`` cover the place, who holds it by that
    series (``holder``, ``by_default`` when inferred from the territory), and since when."""
    observations = list(observations)
    grey = _grey_days(observations)
    result = []
    for named, rows in _series(observations):
        rows = [r for r in rows if r["day"] <= day]
        if not rows:
            continue
        last = rows[-1]
        since = None
        if last["holds"]:
            since = last["day"]
            for row in reversed(rows):
                if not row["holds"]:
                    break
                since = row["day"]
        side, by_default = holder(last["holds"], named, last["day"] in grey.get(named["source"], set()), default)
        result.append({**named, "holds": last["holds"], "holder": side, "by_default": by_default,
                       "observed_on": last["day"], "age_days": (day - last["day"]).days, "held_since": since})
    return result


def changes(observations: Iterable[Observation], start: date, end: date, default: dict[str, Any] | None
            ) -> list[dict[str, Any]]:
    """Per series whose holder of the place differs between ``start`` and ``end``: both holders and the
    observation day on which the later holder first appears (after the last observation on or before start)."""
    observations = list(observations)
    grey = _grey_days(observations)
    result = []
    for named, rows in _series(observations):
        states = [(r["day"], *holder(r["holds"], named, r["day"] in grey.get(named["source"], set()), default))
                  for r in rows if r["day"] <= end]
        before = [s for s in states if s[0] <= start]
        if not before:  # before the series' first observation: the territory's own side, if it has one
            side, by_default = holder(False, named, False, default)
            before = [(None, side, by_default)] if side else []
        if not before or not states:
            continue
        first, last = before[-1], states[-1]
        if first[1] == last[1]:
            continue
        changed_on = last[0]
        for state in reversed(states):
            if (first[0] and state[0] <= first[0]) or state[1] != last[1]:
                break
            changed_on = state[0]
        result.append({**named, "from_holder": first[1], "from_observed_on": first[0], "to_holder": last[1],
                       "to_observed_on": last[0], "changed_on": changed_on,
                       "by_default": first[2] or last[2]})
    return result


def changed_hands(conn: Connection, case: str | None, filters: Filters, before: date, after: date
                  ) -> tuple[list[dict[str, Any]], int]:
    """Per place (inside ``case``, if given) and series whose holder differs between the two days: the row of
    ``changes`` with the place's ``place`` key and ``name``, in order of the day of change; and how many places
    were looked at."""
    found = towns.places_in(conn, case)
    ids = [p["id"] for p in found]
    seen = towns.observations(conn, ids, filters, until=after)
    defaults = towns.default_holders(conn, ids, case)
    rows = [{"place": p["key"], "name": p["name"], **change} for p in found
            for change in changes(seen[p["id"]], before, after, defaults.get(p["id"]))]
    rows.sort(key=lambda r: (r["changed_on"], r["place"], r["series"]))
    return rows, len(found)


def periods(observations: Iterable[Observation]) -> list[dict[str, Any]]:
    """Per series, each unbroken run of observations that cover the place.

    ``first_observed``/``last_observed`` are the first and last observation days of the run; ``ended_by`` is
    the first later observation that no longer covers it (None while the run lasts to the series' end).
    """
    result = []
    for named, rows in _series(observations):
        run: list[Observation] = []
        for row in [*rows, None]:
            if row is not None and row["holds"]:
                run.append(row)
                continue
            if run:
                result.append({**named, "first_observed": run[0]["day"], "last_observed": run[-1]["day"],
                               "ended_by": row["day"] if row else None, "observations": len(run)})
                run = []
    return sorted(result, key=lambda p: (p["first_observed"], p["source"]))
