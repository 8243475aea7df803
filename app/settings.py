"""Configuration from the environment, created once and handed to whoever needs it."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development default of ``secret_key``; production mode refuses it.
DEV_SECRET = "frontline-development-secret-change-me"
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
    database_read_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_READ_URL", "FRONTLINE_DATABASE_READ_URL"),
        description=("Streaming replicas of DATABASE_URL, comma-separated: reads go to them (in turn), writes, "
                     "LISTEN and migrations to DATABASE_URL."))
    replica_lag_wait_s: float = Field(default=2.0, ge=0, le=60, description=(
        "How long a read waits for a replica to replay the data version already served before it reads from "
        "the primary instead."))
    replica_retry_s: float = Field(default=5.0, ge=0.1, le=3600, description=(
        "How long a replica that could not be reached is left out before it is tried again."))
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
    border_drawing_m: float = Field(default=1500.0, ge=0, le=20_000, description=(
        "A piece of a held ground's outline that never gets farther than this from the international border "
        "(metres) is the source's drawing of the border, not front (see docs/frontline.md)."))
    profiles_dir: Path | None = Field(default=None, description=(
        "A directory of your own import profiles (*.toml); they shadow shipped profiles of the same name."))
    geodata_dir: Path = Field(default=PROJECT_ROOT / "geodata", description="Seed geodata loaded by `seed`.")
    migrations_dir: Path = Field(default=PROJECT_ROOT / "migrations", description="Alembic scripts.")

    heavy_queries: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256, description=(
        "Uncached research answers and map pages built at once (default: one per core); more wait."))
    heavy_wait_s: float = Field(default=10.0, ge=0, le=600, description=(
        "How long a request waits for a free slot before a 503 with Retry-After."))
    statement_timeout_s: float = Field(default=30.0, ge=0, le=3600, description=(
        "The API's statements are stopped by PostgreSQL past this many seconds (503 naming the request); 0: none."))
    fetch_on_start: bool = Field(default=True, description=(
        "`prestart` (make run) fetches the Kursk case's public archives when no real claims are stored."))
    fetch_mirror: str | None = Field(default=None, description=(
        "Base URL of a mirror of the public archives, laid out like the repositories (for `fetch` on start)."))

    production: bool = Field(default=False, description=(
        "Production mode: the app refuses to start while secret_key is the development default."))
    secret_key: str = Field(default=DEV_SECRET, min_length=16, description=(
        "Key of the HMAC that API tokens are stored under; set your own (e.g. `openssl rand -hex 32`)."))
    require_read_token: bool = Field(default=False, description="Reads need a token too (default: public).")
    cors_origins: list[str] = Field(default_factory=list, description=(
        "Origins allowed to write from a browser (JSON list); reads are open to every origin."))
    max_body_bytes: int = Field(default=5_000_000, ge=1_000, description="Largest write body accepted (413).")
    max_vertices: int = Field(default=200_000, ge=10, description="Most vertices in one written geometry (413).")

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.production and self.secret_key == DEV_SECRET:
            raise ValueError("FRONTLINE_PRODUCTION is set but FRONTLINE_SECRET_KEY is the development default: "
                             "set a secret of your own")
        return self

    @property
    def uses_embedded_db(self) -> bool:
        """True when no DATABASE_URL was given and the embedded cluster is used."""
        return self.database_url is None
