"""A claim series' rhythm: how often it is observed, and so when its latest observation is stale.

Stale means older than twice the series' median gap between observation days, and at least a week
(``STALE_MIN_DAYS``): a daily series is stale after 7 days, a fortnightly one after 28.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Integer, and_, case, cast, func, select

from app.db.observed import observations, observed_series

STALE_MIN_DAYS = 7
GROUP = ("source_id", "side_code", "status", "layer")


def series_stats(where: list[ColumnElement[bool]] | None = None) -> FromClause:
    """Per series (source_id, side_code, status, layer) of the observations ``where`` admits (default: the
    current ones): first and last observation day, how many days, and the median gap in days (NULL when
    observed once). The current ones are kept at write time (``observed_series``); others are computed."""
    if where is None:
        kept = observed_series
        return select(kept).where(kept.c.observations > 0).subquery("series_stats")
    o = observations
    conditions = where
    group = [o.c[c] for c in GROUP]
    gap = cast(o.c.observed_on - func.lag(o.c.observed_on).over(partition_by=group, order_by=o.c.observed_on),
               Integer)
    gaps = select(*group, o.c.observed_on.label("day"), gap.label("gap")).where(*conditions).subquery("gaps")
    g = [gaps.c[c] for c in GROUP]
    return (select(*g, func.min(gaps.c.day).label("first_observed"), func.max(gaps.c.day).label("last_observed"),
                   func.count().label("observations"),
                   func.percentile_cont(0.5).within_group(gaps.c.gap).label("median_gap_days"))
            # MATERIALIZED: computed once per statement; as a subquery the planner re-ran it for every row joined.
            .group_by(*g).cte("series_stats").prefix_with("MATERIALIZED"))


def same_series(stats: FromClause, t: FromClause) -> ColumnElement[bool]:
    """Join condition: the stats row of ``t``'s series."""
    return and_(stats.c.source_id == t.c.source_id, stats.c.status == t.c.status,
                stats.c.side_code.is_not_distinct_from(t.c.side_code), stats.c.layer.is_not_distinct_from(t.c.layer))


def stale(age_days: ColumnElement[Any], median_gap: ColumnElement[Any]) -> ColumnElement[bool]:
    """Whether an observation this many days old is stale for a series with this median gap."""
    threshold = func.greatest(func.coalesce(median_gap * 2, 0), STALE_MIN_DAYS)
    return case((age_days > threshold, True), else_=False)
