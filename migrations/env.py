"""Alembic environment: Frontline's metadata, GeoAlchemy2's helpers for spatial columns and indexes."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine

from app.db.engine import database_url
from app.db.models import Base
from app.settings import Settings

config = context.config


def _configure(connection):
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )


def run_migrations_online() -> None:
    # A caller (tests, `frontline migrate`) may hand over an open connection.
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    # `frontline migrate` hands over the URL; plain `alembic upgrade head` reads the same settings.
    engine = create_engine(config.attributes.get("url") or database_url(Settings()))
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `frontline migrate`.")
run_migrations_online()
