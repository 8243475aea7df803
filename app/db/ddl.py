"""The per-table setup every history table needs, for migrations to apply in one call.

Autogenerate writes a history table's columns, indexes and generated columns (``geojson``, ``area_km2``) from
its model; what it cannot see are the triggers: append-only (migrations 0001 and 0004: DELETE refused, UPDATE
may only close a version) and the data version that invalidates caches (migrations 0002 and 0003). A migration
that adds a history table calls ``history_table_setup`` after ``create_table``, and ``history_table_teardown``
in its downgrade; the trigger functions themselves exist since those migrations.
"""

from __future__ import annotations


def history_table_setup(table: str) -> list[str]:
    """The statements that make ``table`` append-only and make its writes advance the data version."""
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION frontline_append_only()",
        f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION frontline_bump_data_version()",
    ]


def reference_table_setup(table: str) -> list[str]:
    """For a reference table whose rows appear in responses (like sources): writes advance the data version."""
    return [history_table_setup(table)[1]]


def history_table_teardown(table: str) -> list[str]:
    """The statements that undo ``history_table_setup`` (for a downgrade)."""
    return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}"]
