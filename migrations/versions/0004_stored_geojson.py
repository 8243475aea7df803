"""Store each version's GeoJSON geometry, written by PostGIS once, when the row is inserted.

A version's geometry never changes (history is append-only), so serialising it on every read — about 0.9 ms
for a 3,000-vertex DeepState day — is wasted work. RFC 7946: exterior rings counter-clockwise, 7 decimals.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("control_areas", "places", "lines", "regions", "events")
GENERATED = "'{superseded_at,area_km2,length_km,geojson}'::text[]"


def _append_only(generated: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION frontline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION '% is append-only: rows are never deleted (row id %)', TG_TABLE_NAME, OLD.id
                    USING ERRCODE = 'restrict_violation';
            END IF;
            -- Generated columns are not yet computed in NEW; they follow from the columns compared.
            IF OLD.superseded_at IS NOT NULL
               OR NEW.superseded_at IS NULL
               OR (to_jsonb(NEW) - {generated}) IS DISTINCT FROM (to_jsonb(OLD) - {generated}) THEN
                RAISE EXCEPTION '% is append-only: a version may only be closed, once, by setting superseded_at '
                    '(row id %)', TG_TABLE_NAME, OLD.id USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END
        $$;
    """


def upgrade() -> None:
    op.execute(_append_only(GENERATED))
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ADD COLUMN geojson text "
                   "GENERATED ALWAYS AS (ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 7)) STORED")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN geojson")
    op.execute(_append_only("'{superseded_at,area_km2,length_km}'::text[]"))
