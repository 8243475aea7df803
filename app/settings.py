"""Configuration from the environment, created once and handed to whoever needs it."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Where the repository's own files (migrations, seed geodata) live.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    """The per-user data directory; as root, /var/lib/frontline.

    As root the embedded cluster runs as an unprivileged user, which cannot reach a directory under /root.
    """
    if os.geteuid() == 0:
        return Path("/var/lib/frontline")
    return Path(platformdirs.user_data_dir("frontline"))


class Settings(BaseSettings):
    """Every setting Frontline reads; each one is an environment variable (see the README's table)."""

    model_config = SettingsConfigDict(env_prefix="FRONTLINE_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "FRONTLINE_DATABASE_URL"),
        description="Any PostgreSQL+PostGIS; when unset, the embedded cluster in the data directory.",
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="Embedded cluster and other state.")
    host: str = Field(default="127.0.0.1", description="Address `frontline serve` binds to.")
    port: int = Field(default=8000, description="Port `frontline serve` binds to.")
    db_os_user: str = Field(
        default="frontline", description="Unprivileged OS user that runs the embedded cluster when started as root."
    )
    cache_mb: int = Field(default=256, ge=0, description="Memory for cached responses (MB); 0 disables.")
    watch_writes: bool = Field(default=True, description=(
        "Listen for writes (PostgreSQL NOTIFY) so cache hits need no database round trip."))
    tile_url: str | None = Field(default=None, description=(
        "Raster tile URL template for the maps' base layer (e.g. a local tile server's .../{z}/{x}/{y}.png); "
        "unset: our own vector layers only, and no request leaves the host."))
    tile_attribution: str | None = Field(default=None, description="Attribution shown for tile_url.")
    map_simplify_m: float = Field(default=150.0, ge=0, le=5000, description=(
        "Default display simplification of map outlines (metres); areas are always from full geometries."))
    profiles_dir: Path | None = Field(default=None, description=(
        "A directory of your own import profiles (*.toml); they shadow shipped profiles of the same name."))
    geodata_dir: Path = Field(default=PROJECT_ROOT / "geodata", description="Seed geodata loaded by `seed`.")
    migrations_dir: Path = Field(default=PROJECT_ROOT / "migrations", description="Alembic scripts.")

    @property
    def uses_embedded_db(self) -> bool:
        """True when no DATABASE_URL was given and the embedded cluster is used."""
        return self.database_url is None
