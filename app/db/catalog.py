"""Sources and claim series as named things: who publishes, what each series is, how often it is observed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Numeric, cast, func, or_, select

from app.db.asof import Filters, series_title_of, short_title_of
from app.db.models import series, sources
from app.db.observed import observations
from app.db.rhythm import same_series, series_stats


def series_rows(conn: Connection, filters: Filters) -> list[dict[str, Any]]:
    """Every claim series the filters admit, with its title, rhythm and whether it is preferred."""
    stats = series_stats(filters.where(observations))
    others = series.alias("others")
    preferred = or_(series.c.same_ground_as.is_(None), series.c.same_ground_as.not_in(select(others.c.key)))
    stmt = (select(series.c.key.label("id"), series_title_of(series.c.side_code, series.c.status, series.c.layer)
                   .label("title"), short_title_of(series.c.side_code, series.c.status, series.c.layer)
                   .label("short_title"), sources.c.slug.label("source"), sources.c.name.label("source_name"),
                   series.c.side_code.label("side"),
                   series.c.status, series.c.layer, stats.c.first_observed, stats.c.last_observed,
                   stats.c.observations,
                   func.round(cast(stats.c.median_gap_days, Numeric), 1).label("median_gap_days"),
                   preferred.label("preferred"), series.c.same_ground_as, series.c.notes)
            .select_from(series.join(sources, sources.c.id == series.c.source_id)
                         .join(stats, same_series(stats, series)))
            .order_by(sources.c.slug, series.c.key))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def source_rows(conn: Connection) -> list[dict[str, Any]]:
    """Every source: what it is, its terms and attribution, its series and the days it was observed."""
    stats = series_stats()
    per_source = (select(stats.c.source_id, func.count().label("series"),
                         func.min(stats.c.first_observed).label("first_observed"),
                         func.max(stats.c.last_observed).label("last_observed"))
                  .group_by(stats.c.source_id).subquery("per_source"))
    stmt = (select(sources.c.slug, sources.c.name, sources.c.kind, sources.c.url, sources.c.terms,
                   sources.c.attribution, sources.c.side_code.label("affiliation"),
                   func.coalesce(per_source.c.series, 0).label("series"), per_source.c.first_observed,
                   per_source.c.last_observed)
            .select_from(sources.outerjoin(per_source, per_source.c.source_id == sources.c.id))
            .order_by(sources.c.slug))
    return [dict(r._mapping) for r in conn.execute(stmt)]
