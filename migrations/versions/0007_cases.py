"""Cases: the ground a question is about, drawn by the maps and clipped to by the figures.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from app.db.ddl import reference_table_setup

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _jsonb(name: str, default: str) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text(f"'{default}'::jsonb"),
                     nullable=False)


def upgrade() -> None:
    op.create_geospatial_table(
        "cases",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("geom", Geometry(geometry_type="MULTIPOLYGON", srid=4326, dimension=2, spatial_index=False,
                                   from_text="ST_GeomFromEWKT", name="geometry", nullable=False), nullable=False),
        sa.Column("area_km2", sa.Double(), sa.Computed("ST_Area(geom::geography) / 1e6", persisted=True),
                  nullable=False),
        _jsonb("view", "{}"), _jsonb("key_places", "[]"), _jsonb("territory", "{}"), _jsonb("recipe", "{}"),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cases")),
    )
    op.create_geospatial_index("ix_cases_geom", "cases", ["geom"], unique=False, postgresql_using="gist",
                               postgresql_ops={})
    for statement in reference_table_setup("cases"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_geospatial_index("ix_cases_geom", table_name="cases", postgresql_using="gist", column_name="geom")
    op.drop_geospatial_table("cases")
