"""Short series titles and a case's featured series, for maps that read at a glance (issue 22).

- ``series.short_title``: at most 40 characters, shown in a map's layer list under its source's name (the full
  title stays in tooltips, tables and ``/series``). Null: the title, shortened, stands in.
- ``cases.featured``: the series keys a case is about, in order; its maps show them at first and offer their
  front lines, and list every other series switched off.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("series", sa.Column("short_title", sa.Text(), nullable=True))
    op.create_check_constraint(op.f("ck_series_short_title_length"), "series",
                                "char_length(short_title) BETWEEN 1 AND 40")
    op.add_column("cases", sa.Column("featured", postgresql.JSONB(astext_type=sa.Text()),
                                     server_default=sa.text("'[]'::jsonb"), nullable=False))


def downgrade() -> None:
    op.drop_column("cases", "featured")
    op.drop_constraint(op.f("ck_series_short_title_length"), "series", type_="check")
    op.drop_column("series", "short_title")
