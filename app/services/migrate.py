"""Run the Alembic migration chain from code (the CLI, the prestart step and the tests use this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from app.db.engine import database_url
from app.settings import Settings


def alembic_config(settings: Settings, connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the project's migrations, optionally on an open connection."""
    config = Config()  # alembic.ini is for the `alembic` command; the app needs only the scripts' location
    config.set_main_option("script_location", str(settings.migrations_dir))
    config.attributes["url"] = database_url(settings)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(settings: Settings, connection: Connection | None = None, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    command.upgrade(alembic_config(settings, connection), revision)
