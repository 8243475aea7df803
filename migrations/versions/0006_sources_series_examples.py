"""Sources carry their terms and attribution; claim series become named things; examples get a source of their own.

- ``sources.terms`` and ``sources.attribution``; the kind ``example``.
- ``series``: one row per claim series (source, side, status, layer) with a title and, for a series that
  describes the same ground as another of its source, the key of the preferred one. Filled here from the
  current control areas; kept current by every later write of control areas.
- The source ``example``: the seed's illustrative shapes move to it (the seed adds them there). Illustrative
  rows stored under real sources' slugs by earlier versions are closed (history keeps them), so they no longer
  count as those sources' data.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from app.db.ddl import reference_table_setup

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('government', 'military', 'osint', 'media', 'academic', 'reference')"
NEW_KINDS = "kind IN ('government', 'military', 'osint', 'media', 'academic', 'reference', 'example')"


def upgrade() -> None:
    op.add_column("sources", sa.Column("terms", sa.Text(), nullable=True))
    op.add_column("sources", sa.Column("attribution", sa.Text(), nullable=True))
    op.drop_constraint(op.f("ck_sources_kind"), "sources", type_="check")
    op.create_check_constraint(op.f("ck_sources_kind"), "sources", NEW_KINDS)
    op.create_table(
        "series",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("side_code", sa.String(length=8), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("layer", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("same_ground_as", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["side_code"], ["sides.code"], name=op.f("fk_series_side_code_sides")),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_series_source_id_sources")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_series")),
    )
    for statement in reference_table_setup("series"):
        op.execute(statement)
    op.execute("""
        INSERT INTO sources (slug, name, kind, notes)
        VALUES ('example', 'Example (illustrative shapes)', 'example',
                'Shapes drawn by Frontline to illustrate reported figures; no source''s map. Left out of every '
                'answer unless asked for with source=example.')
        ON CONFLICT (slug) DO NOTHING
    """)
    op.execute("""
        UPDATE control_areas SET superseded_at = clock_timestamp()
        WHERE superseded_at IS NULL AND (properties->>'illustrative')::boolean
          AND source_id <> (SELECT id FROM sources WHERE slug = 'example')
    """)
    op.execute("""
        INSERT INTO series (key, source_id, side_code, status, layer)
        SELECT DISTINCT s.slug || '/' || coalesce(a.side_code, '-') || '/' || a.status || '/' || coalesce(a.layer, '-'),
               a.source_id, a.side_code, a.status, a.layer
        FROM control_areas a JOIN sources s ON s.id = a.source_id
        WHERE a.superseded_at IS NULL
        ON CONFLICT (key) DO NOTHING
    """)


def downgrade() -> None:
    op.drop_table("series")
    op.execute("DELETE FROM sources WHERE slug = 'example' AND NOT EXISTS "
               "(SELECT 1 FROM control_areas WHERE source_id = sources.id)")
    op.drop_constraint(op.f("ck_sources_kind"), "sources", type_="check")
    op.create_check_constraint(op.f("ck_sources_kind"), "sources", OLD_KINDS)
    op.drop_column("sources", "attribution")
    op.drop_column("sources", "terms")
