"""Who held a settlement: per claim series, on a day and over time, from its observations in day order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from itertools import groupby
from typing import Any

Observation = dict[str, Any]  # source, side, status, layer, day, holds


def _series(observations: Iterable[Observation]) -> Iterator[tuple[tuple[Any, ...], list[Observation]]]:
    def key(o: Observation) -> tuple[Any, ...]:
        return (o["source"], o["side"], o["status"], o["layer"])

    for series, rows in groupby(observations, key=key):
        yield series, list(rows)


def control_on(observations: Iterable[Observation], day: date) -> list[dict[str, Any]]:
    """Per series: does its latest observation on or before ``day`` cover the place, and since when."""
    result = []
    for (source, side, status, layer), rows in _series(observations):
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
        result.append({"source": source, "side": side, "status": status, "layer": layer, "holds": last["holds"],
                       "observed_on": last["day"], "age_days": (day - last["day"]).days, "held_since": since})
    return result


def periods(observations: Iterable[Observation]) -> list[dict[str, Any]]:
    """Per series, each unbroken run of observations that cover the place.

    ``first_observed``/``last_observed`` are the first and last observation days of the run; ``ended_by`` is
    the first later observation that no longer covers it (None while the run lasts to the series' end).
    """
    result = []
    for (source, side, status, layer), rows in _series(observations):
        run: list[Observation] = []
        for row in [*rows, None]:
            if row is not None and row["holds"]:
                run.append(row)
                continue
            if run:
                result.append({"source": source, "side": side, "status": status, "layer": layer,
                               "first_observed": run[0]["day"], "last_observed": run[-1]["day"],
                               "ended_by": row["day"] if row else None, "observations": len(run)})
                run = []
    return sorted(result, key=lambda p: (p["first_observed"], p["source"]))
