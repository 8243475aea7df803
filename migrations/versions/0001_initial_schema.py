"""Initial schema: sides, sources, imports and the append-only history tables.

History tables get a trigger that makes them append-only: DELETE is refused, and UPDATE may only close a
current version (set superseded_at once). Generated first with `alembic revision --autogenerate` and
GeoAlchemy2's helpers, then reviewed by hand.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 10:51:47.058867
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

HISTORY_TABLES = ("control_areas", "places", "lines", "regions", "events", "reported_figures")

APPEND_ONLY = """
CREATE FUNCTION frontline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% is append-only: rows are never deleted (row id %)', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.superseded_at IS NOT NULL
       OR NEW.superseded_at IS NULL
       -- Generated columns (area_km2, length_km) are not yet computed in NEW; they follow from geom.
       OR (to_jsonb(NEW) - '{superseded_at,area_km2,length_km}'::text[])
          IS DISTINCT FROM (to_jsonb(OLD) - '{superseded_at,area_km2,length_km}'::text[]) THEN
        RAISE EXCEPTION '% is append-only: a version may only be closed, once, by setting superseded_at (row id %)',
            TG_TABLE_NAME, OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('sides',
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('color', sa.String(length=7), nullable=False),
    sa.CheckConstraint("color ~ '^#[0-9a-fA-F]{6}$'", name=op.f('ck_sides_color_hex')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_sides'))
    )
    op.create_table('sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('side_code', sa.String(length=8), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('government', 'military', 'osint', 'media', 'academic', 'reference')", name=op.f('ck_sources_kind')),
    sa.ForeignKeyConstraint(['side_code'], ['sides.code'], name=op.f('fk_sources_side_code_sides')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sources')),
    sa.UniqueConstraint('slug', name=op.f('uq_sources_slug'))
    )
    op.create_table('imports',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('features', sa.Integer(), nullable=False),
    sa.Column('repaired', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_imports_source_id_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports')),
    sa.UniqueConstraint('content_hash', name=op.f('uq_imports_content_hash'))
    )
    op.create_geospatial_table('control_areas',
    sa.Column('side_code', sa.String(length=8), nullable=True),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('valid', postgresql.DATERANGE(), nullable=False),
    sa.Column('layer', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('area_km2', sa.Double(), sa.Computed('ST_Area(geom::geography) / 1e6', persisted=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('claimed', 'assessed', 'confirmed', 'contested', 'unknown')", name=op.f('ck_control_areas_status')),
    sa.CheckConstraint("side_code IS NOT NULL OR status IN ('contested', 'unknown')", name=op.f('ck_control_areas_side_unless_unheld')),
    sa.CheckConstraint('NOT isempty(valid) AND lower(valid) IS NOT NULL', name=op.f('ck_control_areas_valid_has_start')),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_control_areas_import_id_imports')),
    sa.ForeignKeyConstraint(['side_code'], ['sides.code'], name=op.f('fk_control_areas_side_code_sides')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_control_areas_source_id_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_control_areas'))
    )
    op.create_index('ix_control_areas_current_key', 'control_areas', ['key'], unique=False, postgresql_where=sa.text('superseded_at IS NULL'))
    op.create_geospatial_index('ix_control_areas_geom', 'control_areas', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_control_areas_valid', 'control_areas', ['valid'], unique=False, postgresql_using='gist')
    op.create_geospatial_table('events',
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('side_code', sa.String(length=8), nullable=True),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('claimed', 'assessed', 'confirmed', 'contested', 'unknown')", name=op.f('ck_events_status')),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_events_import_id_imports')),
    sa.ForeignKeyConstraint(['side_code'], ['sides.code'], name=op.f('fk_events_side_code_sides')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_events_source_id_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_index('ix_events_current_key', 'events', ['key'], unique=False, postgresql_where=sa.text('superseded_at IS NULL'))
    op.create_geospatial_index('ix_events_geom', 'events', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_events_occurred_on', 'events', ['occurred_on'], unique=False)
    op.create_geospatial_table('lines',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('side_code', sa.String(length=8), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('valid', postgresql.DATERANGE(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTILINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('length_km', sa.Double(), sa.Computed('ST_Length(geom::geography) / 1e3', persisted=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_lines_import_id_imports')),
    sa.ForeignKeyConstraint(['side_code'], ['sides.code'], name=op.f('fk_lines_side_code_sides')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_lines_source_id_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lines'))
    )
    op.create_index('ix_lines_current_key', 'lines', ['key'], unique=False, postgresql_where=sa.text('superseded_at IS NULL'))
    op.create_geospatial_index('ix_lines_geom', 'lines', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('places',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('alt_names', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('valid', postgresql.DATERANGE(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_places_import_id_imports')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_places_source_id_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_places'))
    )
    op.create_index('ix_places_current_key', 'places', ['key'], unique=False, postgresql_where=sa.text('superseded_at IS NULL'))
    op.create_geospatial_index('ix_places_geom', 'places', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('regions',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('local_name', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('area_km2', sa.Double(), sa.Computed('ST_Area(geom::geography) / 1e6', persisted=True), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_regions_import_id_imports')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_regions_source_id_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regions'))
    )
    op.create_index('ix_regions_current_key', 'regions', ['key'], unique=False, postgresql_where=sa.text('superseded_at IS NULL'))
    op.create_geospatial_index('ix_regions_geom', 'regions', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('reported_figures',
    sa.Column('refers_to', sa.Date(), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('side_code', sa.String(length=8), nullable=True),
    sa.Column('region_key', sa.Text(), nullable=True),
    sa.Column('metric', sa.Text(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('unit', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('quote', sa.Text(), nullable=True),
    sa.Column('published_in', sa.Text(), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('claimed', 'assessed', 'confirmed', 'contested', 'unknown')", name=op.f('ck_reported_figures_status')),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_reported_figures_import_id_imports')),
    sa.ForeignKeyConstraint(['side_code'], ['sides.code'], name=op.f('fk_reported_figures_side_code_sides')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_reported_figures_source_id_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reported_figures'))
    )
    op.create_index('ix_reported_figures_current_key', 'reported_figures', ['key'], unique=False, postgresql_where=sa.text('superseded_at IS NULL'))
    op.create_index('ix_reported_figures_refers_to', 'reported_figures', ['refers_to'], unique=False)
    op.execute(APPEND_ONLY)
    for table in HISTORY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION frontline_append_only()"
        )


def downgrade() -> None:
    for table in HISTORY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS frontline_append_only()")
    op.drop_index('ix_reported_figures_refers_to', table_name='reported_figures')
    op.drop_index('ix_reported_figures_current_key', table_name='reported_figures', postgresql_where=sa.text('superseded_at IS NULL'))
    op.drop_table('reported_figures')
    op.drop_geospatial_index('ix_regions_geom', table_name='regions', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_regions_current_key', table_name='regions', postgresql_where=sa.text('superseded_at IS NULL'))
    op.drop_geospatial_table('regions')
    op.drop_geospatial_index('ix_places_geom', table_name='places', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_places_current_key', table_name='places', postgresql_where=sa.text('superseded_at IS NULL'))
    op.drop_geospatial_table('places')
    op.drop_geospatial_index('ix_lines_geom', table_name='lines', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_lines_current_key', table_name='lines', postgresql_where=sa.text('superseded_at IS NULL'))
    op.drop_geospatial_table('lines')
    op.drop_index('ix_events_occurred_on', table_name='events')
    op.drop_geospatial_index('ix_events_geom', table_name='events', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_events_current_key', table_name='events', postgresql_where=sa.text('superseded_at IS NULL'))
    op.drop_geospatial_table('events')
    op.drop_index('ix_control_areas_valid', table_name='control_areas', postgresql_using='gist')
    op.drop_geospatial_index('ix_control_areas_geom', table_name='control_areas', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_control_areas_current_key', table_name='control_areas', postgresql_where=sa.text('superseded_at IS NULL'))
    op.drop_geospatial_table('control_areas')
    op.drop_table('imports')
    op.drop_table('sources')
    op.drop_table('sides')
