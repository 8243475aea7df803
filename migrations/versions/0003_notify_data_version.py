"""Announce data-version changes with NOTIFY, so servers invalidate caches without polling.

NOTIFY is transactional: listeners hear of a write when it commits, never of one rolled back. Several writes
in one transaction are delivered as one notification.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE OR REPLACE FUNCTION frontline_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM nextval('data_version');
            PERFORM pg_notify('frontline_data_version', '');
            RETURN NULL;
        END
        $$;
    """)


def downgrade() -> None:
    op.execute("""
        CREATE OR REPLACE FUNCTION frontline_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM nextval('data_version');
            RETURN NULL;
        END
        $$;
    """)
