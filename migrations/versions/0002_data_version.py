"""Data version: a sequence every write to a history table advances.

Responses are cached and tagged (ETag) by this version, so a write from any process (the CLI importer, another
server) invalidates them. A sequence, not a row, so concurrent writers never wait on each other; a rolled-back
write may advance it too, which only costs a cache miss.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# History tables, and the reference tables whose names and colours appear in responses.
TABLES = ("control_areas", "places", "lines", "regions", "events", "reported_figures", "sources", "sides")


def upgrade() -> None:
    op.execute("CREATE SEQUENCE data_version")
    op.execute("""
        CREATE FUNCTION frontline_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM nextval('data_version');
            RETURN NULL;
        END
        $$;
    """)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION frontline_bump_data_version()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS frontline_bump_data_version()")
    op.execute("DROP SEQUENCE IF EXISTS data_version")
