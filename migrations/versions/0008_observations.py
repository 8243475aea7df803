"""Observations: each claim series' polygons of a day, united, measured and cut at write time.

Every research answer used to repeat the same work per request: union a series' polygons for a day, measure
the union on the ellipsoid, cut it to a region or case, simplify it for display. Here the database does it
once, when control areas are written, in the same transaction (see app/db/observed.py, docs/precompute.md):

- ``observations``: one row per series and observation day and version of that day's polygons. A statement
  that inserts or closes control areas closes the day's current observation at the change's own timestamp and
  records the new one (none after a retraction), so ``known_at`` reads the observation that was current then.
  A version made and replaced inside one transaction was never visible to anyone and is dropped.
- ``observation_shapes``: per observation, the union (``ground = ''``) and its cut to every current region and
  case, with geodesic area and GeoJSON (full, and simplified for three zoom bands) as generated columns.
  Inserting, closing or re-drawing a region, or changing a case's geometry, re-cuts that ground.

The existing history is replayed event by event, so earlier versions are reproduced too.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

METRES_PER_DEGREE = 111_320.0
SERIES_MATCH = """source_id = p_source AND side_code IS NOT DISTINCT FROM p_side AND status = p_status
                  AND layer IS NOT DISTINCT FROM p_layer"""

FUNCTIONS = [
    # The grounds figures are cut to: current regions, and cases whose key no region has (as region_geom).
    """
    CREATE FUNCTION frontline_grounds() RETURNS TABLE (key text, geom geometry) LANGUAGE sql STABLE AS $$
        SELECT r.key, r.geom FROM regions r WHERE r.superseded_at IS NULL
        UNION ALL
        SELECT c.key, c.geom FROM cases c WHERE NOT EXISTS (
            SELECT 1 FROM regions r WHERE r.key = c.key AND r.superseded_at IS NULL)
    $$
    """,
    # A shape cut to a ground: empty where it does not reach, itself where it lies inside.
    """
    CREATE FUNCTION frontline_cut(whole geometry, ground geometry) RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN NOT ST_Intersects(whole, ground) THEN ST_GeomFromText('MULTIPOLYGON EMPTY', 4326)
                    WHEN ST_CoveredBy(whole, ground) THEN whole
                    ELSE ST_Multi(ST_CollectionExtract(ST_Intersection(whole, ground), 3)) END
    $$
    """,
    # One series' observation of one day as it stands at p_at: close the current one, record the new one.
    f"""
    CREATE FUNCTION frontline_observe(p_source integer, p_side text, p_status text, p_layer text, p_day date,
                                      p_at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        ids bigint[];
        whole geometry;
        made bigint;
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
        INSERT INTO observations (source_id, side_code, status, layer, observed_on, area_ids, recorded_at)
            VALUES (p_source, p_side, p_status, p_layer, p_day, ids, p_at) RETURNING id INTO made;
        INSERT INTO observation_shapes (observation_id, ground, geom) VALUES (made, '', whole);
        INSERT INTO observation_shapes (observation_id, ground, geom)
            SELECT made, g.key, frontline_cut(whole, g.geom) FROM frontline_grounds() g;
    END
    $$
    """,
    # After a statement on control_areas: every series and day it touched, at the change's timestamp.
    """
    CREATE FUNCTION frontline_observe_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        c record;
    BEGIN
        FOR c IN SELECT source_id, side_code, status, layer, lower(valid) AS day,
                        max(CASE WHEN TG_OP = 'INSERT' THEN recorded_at ELSE superseded_at END) AS at
                 FROM changed GROUP BY 1, 2, 3, 4, 5 LOOP
            PERFORM frontline_observe(c.source_id, c.side_code, c.status, c.layer, c.day, c.at);
        END LOOP;
        RETURN NULL;
    END
    $$
    """,
    # Re-cut every observation's shape to one ground (after a region or case changed).
    """
    CREATE FUNCTION frontline_recut(p_ground text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM observation_shapes WHERE ground = p_ground;
        INSERT INTO observation_shapes (observation_id, ground, geom)
            SELECT s.observation_id, g.key, frontline_cut(s.geom, g.geom)
            FROM observation_shapes s JOIN frontline_grounds() g ON g.key = p_ground WHERE s.ground = '';
    END
    $$
    """,
    """
    CREATE FUNCTION frontline_recut_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM frontline_recut(CASE WHEN TG_OP = 'DELETE' THEN OLD.key ELSE NEW.key END);
        RETURN NULL;
    END
    $$
    """,
]

TRIGGERS = [
    "CREATE TRIGGER control_areas_observe_insert AFTER INSERT ON control_areas REFERENCING NEW TABLE AS changed "
    "FOR EACH STATEMENT EXECUTE FUNCTION frontline_observe_changes()",
    "CREATE TRIGGER control_areas_observe_update AFTER UPDATE ON control_areas REFERENCING NEW TABLE AS changed "
    "FOR EACH STATEMENT EXECUTE FUNCTION frontline_observe_changes()",
    "CREATE TRIGGER regions_recut AFTER INSERT OR UPDATE ON regions "
    "FOR EACH ROW EXECUTE FUNCTION frontline_recut_changed()",
    "CREATE TRIGGER cases_recut_insert AFTER INSERT OR DELETE ON cases "
    "FOR EACH ROW EXECUTE FUNCTION frontline_recut_changed()",
    "CREATE TRIGGER cases_recut_update AFTER UPDATE ON cases FOR EACH ROW "
    "WHEN (OLD.geom IS DISTINCT FROM NEW.geom OR OLD.key IS DISTINCT FROM NEW.key) "
    "EXECUTE FUNCTION frontline_recut_changed()",
]

# Replays the history: every series and day, at each time its polygons changed, in time order.
BACKFILL = """
DO $$
DECLARE
    e record;
BEGIN
    FOR e IN SELECT DISTINCT source_id, side_code, status, layer, lower(valid) AS day, t AS at
             FROM control_areas, LATERAL (VALUES (recorded_at), (superseded_at)) AS events (t)
             WHERE t IS NOT NULL ORDER BY at LOOP
        PERFORM frontline_observe(e.source_id, e.side_code, e.status, e.layer, e.day, e.at);
    END LOOP;
END
$$
"""


def _display(metres: int) -> sa.Computed:
    tolerance = metres / METRES_PER_DEGREE
    return sa.Computed(f"ST_AsGeoJSON(ST_ForcePolygonCCW(ST_SimplifyPreserveTopology(geom, {tolerance!r})), 5)",
                       persisted=True)


def upgrade() -> None:
    op.create_table(
        "observations",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("side_code", sa.String(length=8), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("layer", sa.Text(), nullable=True),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("area_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["side_code"], ["sides.code"], name=op.f("fk_observations_side_code_sides")),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_observations_source_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
    )
    op.create_index("ix_observations_series_day", "observations",
                    ["source_id", "status", "side_code", "layer", "observed_on"])
    op.create_index("ix_observations_current", "observations", ["observed_on"],
                    postgresql_where=sa.text("superseded_at IS NULL"))
    op.create_geospatial_table(
        "observation_shapes",
        sa.Column("observation_id", sa.BigInteger(), nullable=False),
        sa.Column("ground", sa.Text(), nullable=False),
        sa.Column("geom", Geometry(geometry_type="MULTIPOLYGON", srid=4326, dimension=2, spatial_index=False,
                                   from_text="ST_GeomFromEWKT", name="geometry", nullable=False), nullable=False),
        sa.Column("area_km2", sa.Double(), sa.Computed("ST_Area(geom::geography) / 1e6", persisted=True),
                  nullable=False),
        sa.Column("geojson", sa.Text(), sa.Computed("ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 7)", persisted=True),
                  nullable=True),
        sa.Column("geojson_40m", sa.Text(), _display(40), nullable=True),
        sa.Column("geojson_150m", sa.Text(), _display(150), nullable=True),
        sa.Column("geojson_1000m", sa.Text(), _display(1000), nullable=True),
        sa.Column("vertices", sa.Integer(), sa.Computed("ST_NPoints(geom)", persisted=True), nullable=False),
        sa.ForeignKeyConstraint(["observation_id"], ["observations.id"], ondelete="CASCADE",
                                name=op.f("fk_observation_shapes_observation_id_observations")),
        sa.PrimaryKeyConstraint("observation_id", "ground", name=op.f("pk_observation_shapes")),
    )
    op.create_index("ix_observation_shapes_ground", "observation_shapes", ["ground"])
    for statement in FUNCTIONS + TRIGGERS:
        op.execute(statement)
    op.execute(BACKFILL)


def downgrade() -> None:
    for table, trigger in (("control_areas", "control_areas_observe_insert"),
                           ("control_areas", "control_areas_observe_update"), ("regions", "regions_recut"),
                           ("cases", "cases_recut_insert"), ("cases", "cases_recut_update")):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for function in ("frontline_recut_changed()", "frontline_recut(text)", "frontline_observe_changes()",
                     "frontline_observe(integer, text, text, text, date, timestamptz)",
                     "frontline_cut(geometry, geometry)", "frontline_grounds()"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_table("observation_shapes")
    op.drop_table("observations")
