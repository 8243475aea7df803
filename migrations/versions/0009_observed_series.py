"""Observed series: one row per claim series, with its rhythm kept at write time.

Two reads grew with the length of the history (measured on 800 replicated days):

- "each series' latest observation on or before D" sorted every observation up to D (DISTINCT ON);
- the staleness of an observation needs its series' median gap between observation days, which every
  request recomputed with a window over all observations.

Here each series gets a row in ``observed_series`` (first and last observation day, how many, median gap,
over the current observations), and every observation its ``series_id``. The latest observation is then one
backward index probe per series (``ix_observations_series_id_day``), and the rhythm a row read. The trigger
of migration 0008 records the series when it first observes it and refreshes the rhythm of every series a
statement touched, in the same transaction.

Revision ID: 0009
Revises: 0008
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SERIES_MATCH = """source_id = p_source AND side_code IS NOT DISTINCT FROM p_side AND status = p_status
                  AND layer IS NOT DISTINCT FROM p_layer"""

FUNCTIONS = [
    # A series' rhythm over its current observations (no observation left: count 0, days and gap NULL).
    """
    CREATE OR REPLACE FUNCTION frontline_rhythm(p_series integer) RETURNS void LANGUAGE sql AS $$
        UPDATE observed_series s SET first_observed = r.first_observed, last_observed = r.last_observed,
                                     observations = r.observations, median_gap_days = r.median_gap_days
        FROM (SELECT min(day) AS first_observed, max(day) AS last_observed, count(*) AS observations,
                     percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap_days
              FROM (SELECT observed_on AS day, observed_on - lag(observed_on) OVER (ORDER BY observed_on) AS gap
                    FROM observations WHERE series_id = p_series AND superseded_at IS NULL) g) r
        WHERE s.id = p_series
    $$
    """,
    # As in 0008, and the observation names its series (recorded on first sight).
    f"""
    CREATE OR REPLACE FUNCTION frontline_observe(p_source integer, p_side text, p_status text, p_layer text,
                                                 p_day date, p_at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        ids bigint[];
        whole geometry;
        made bigint;
        sid integer;
    BEGIN
        DELETE FROM observations WHERE {SERIES_MATCH} AND observed_on = p_day AND superseded_at IS NULL
            AND recorded_at >= p_at;
        UPDATE observations SET superseded_at = p_at WHERE {SERIES_MATCH} AND observed_on = p_day
            AND superseded_at IS NULL;
        SELECT array_agg(id ORDER BY id) INTO ids FROM control_areas
            WHERE {SERIES_MATCH} AND lower(valid) = p_day AND recorded_at <= p_at
              AND (superseded_at IS NULL OR superseded_at > p_at);
        IF ids IS NULL THEN
            RETURN;  -- retracted: nothing is current
        END IF;
        IF cardinality(ids) = 1 THEN
            SELECT geom INTO whole FROM control_areas WHERE id = ids[1];
        ELSE
            BEGIN
                SELECT ST_Multi(ST_CollectionExtract(ST_Union(geom), 3)) INTO whole
                    FROM control_areas WHERE id = ANY (ids);
            EXCEPTION WHEN internal_error THEN  -- a GEOS topology error: unite the repaired shapes
                SELECT ST_Multi(ST_CollectionExtract(ST_Union(ST_MakeValid(geom)), 3)) INTO whole
                    FROM control_areas WHERE id = ANY (ids);
            END;
        END IF;
        INSERT INTO observed_series (source_id, side_code, status, layer)
            VALUES (p_source, p_side, p_status, p_layer) ON CONFLICT DO NOTHING;
        SELECT id INTO sid FROM observed_series WHERE {SERIES_MATCH};
        INSERT INTO observations (series_id, source_id, side_code, status, layer, observed_on, area_ids, recorded_at)
            VALUES (sid, p_source, p_side, p_status, p_layer, p_day, ids, p_at) RETURNING id INTO made;
        INSERT INTO observation_shapes (observation_id, ground, geom) VALUES (made, '', whole);
        INSERT INTO observation_shapes (observation_id, ground, geom)
            SELECT made, g.key, frontline_cut(whole, g.geom) FROM frontline_grounds() g;
    END
    $$
    """,
    # As in 0008, then the rhythm of every series the statement touched.
    """
    CREATE OR REPLACE FUNCTION frontline_observe_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        c record;
    BEGIN
        FOR c IN SELECT source_id, side_code, status, layer, lower(valid) AS day,
                        max(CASE WHEN TG_OP = 'INSERT' THEN recorded_at ELSE superseded_at END) AS at
                 FROM changed GROUP BY 1, 2, 3, 4, 5 LOOP
            PERFORM frontline_observe(c.source_id, c.side_code, c.status, c.layer, c.day, c.at);
        END LOOP;
        PERFORM frontline_rhythm(s.id) FROM observed_series s
            WHERE EXISTS (SELECT 1 FROM changed t WHERE t.source_id = s.source_id AND t.status = s.status
                          AND t.side_code IS NOT DISTINCT FROM s.side_code AND t.layer IS NOT DISTINCT FROM s.layer);
        RETURN NULL;
    END
    $$
    """,
]


def upgrade() -> None:
    op.create_table(
        "observed_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("side_code", sa.String(length=8), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("layer", sa.Text(), nullable=True),
        sa.Column("first_observed", sa.Date(), nullable=True),
        sa.Column("last_observed", sa.Date(), nullable=True),
        sa.Column("observations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("median_gap_days", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["side_code"], ["sides.code"], name=op.f("fk_observed_series_side_code_sides")),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_observed_series_source_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observed_series")),
    )
    op.create_index("ux_observed_series_series", "observed_series", ["source_id", "side_code", "status", "layer"],
                    unique=True, postgresql_nulls_not_distinct=True)
    op.add_column("observations", sa.Column("series_id", sa.Integer(), nullable=True))
    op.execute("INSERT INTO observed_series (source_id, side_code, status, layer) "
               "SELECT DISTINCT source_id, side_code, status, layer FROM observations")
    op.execute("UPDATE observations o SET series_id = s.id FROM observed_series s WHERE s.source_id = o.source_id "
               "AND s.status = o.status AND s.side_code IS NOT DISTINCT FROM o.side_code "
               "AND s.layer IS NOT DISTINCT FROM o.layer")
    op.alter_column("observations", "series_id", nullable=False)
    op.create_foreign_key(op.f("fk_observations_series_id_observed_series"), "observations", "observed_series",
                          ["series_id"], ["id"])
    op.create_index("ix_observations_series_id_day", "observations", ["series_id", "observed_on"])
    for statement in FUNCTIONS:
        op.execute(statement)
    op.execute("SELECT frontline_rhythm(id) FROM observed_series")


def downgrade() -> None:
    spec = importlib.util.spec_from_file_location("observations_0008", Path(__file__).with_name("0008_observations.py"))
    assert spec is not None and spec.loader is not None
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    for statement in previous.FUNCTIONS:
        if "frontline_observe" in statement:
            op.execute(statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute("DROP FUNCTION frontline_rhythm(integer)")
    op.drop_index("ix_observations_series_id_day", table_name="observations")
    op.drop_constraint(op.f("fk_observations_series_id_observed_series"), "observations", type_="foreignkey")
    op.drop_column("observations", "series_id")
    op.drop_index("ux_observed_series_series", table_name="observed_series")
    op.drop_table("observed_series")
