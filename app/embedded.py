"""A private PostgreSQL + PostGIS cluster that Frontline starts itself in its data directory.

The cluster listens on a Unix socket inside the data directory only (no TCP port), so several instances can
run side by side and nothing is exposed on the network. initdb and pg_ctl refuse to run as root, so when the
process is root the cluster belongs to an unprivileged system user (created if missing).
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from app.errors import EmbeddedDatabaseError

DB_NAME = "frontline"
DB_ROLE = "frontline"
# A Unix socket path is limited to 107 bytes; ".s.PGSQL.5432" takes 14 of them.
_MAX_SOCKET_DIR = 90


def find_bindir() -> Path:
    """The directory of the newest installed PostgreSQL server binaries (initdb, pg_ctl, postgres)."""
    override = os.environ.get("FRONTLINE_PG_BINDIR")
    candidates = [override] if override else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    if not override and (initdb := shutil.which("initdb")):
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise EmbeddedDatabaseError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found: install the 'postgresql' and "
        "'postgresql-<version>-postgis-3' packages (`make run` does), or set DATABASE_URL to a PostGIS database."
    )


def check_postgis(bindir: Path) -> None:
    """Refuse early, and clearly, when the PostGIS extension is not installed for this PostgreSQL."""
    sharedir = subprocess.run(
        [str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False
    ).stdout.strip() if (bindir / "pg_config").exists() else f"/usr/share/postgresql/{bindir.parent.name}"
    if not Path(sharedir, "extension", "postgis.control").exists():
        raise EmbeddedDatabaseError(
            f"PostGIS is not installed for the PostgreSQL in {bindir}: install "
            f"'postgresql-{bindir.parent.name}-postgis-3' (`make run` does)."
        )


@dataclass
class ClusterStatus:
    """What `frontline db status` reports."""

    running: bool
    pid: int | None
    pgdata: Path
    url: str
    log: Path


class EmbeddedCluster:
    """The cluster under ``<data_dir>/postgres``: init once, start or reuse, stop."""

    def __init__(self, data_dir: Path, os_user: str = "frontline", fsync: bool = True,
                 tcp_port: int | None = None) -> None:
        self.root = Path(data_dir).resolve() / "postgres"
        self.pgdata = self.root / "data"
        self.log = self.root / "postgres.log"
        self.os_user = os_user if os.geteuid() == 0 else None
        self.fsync = fsync
        self.tcp_port = tcp_port  # also listen on 127.0.0.1:tcp_port (set when the cluster is first created)
        self.socket_dir = self.root / "run"
        if len(str(self.socket_dir)) > _MAX_SOCKET_DIR:
            digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
            self.socket_dir = Path(tempfile.gettempdir()) / f"frontline-{digest}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's database, over its private socket."""
        port = f"&port={self.tcp_port}" if self.tcp_port else ""
        return f"postgresql+psycopg://{DB_ROLE}@/{DB_NAME}?host={self.socket_dir}{port}"

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> str:
        """Start the cluster (initialising it on first use); return 'created', 'started' or 'reused'."""
        bindir = find_bindir()
        check_postgis(bindir)
        created = self._init(bindir)
        if self._running(bindir):
            self._ensure_database()
            return "reused"
        self._clear_stale_pid()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.socket_dir)
        result = self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.log), "-w", "-t", "60", "start"]
        )
        if result.returncode != 0:
            raise EmbeddedDatabaseError(
                f"pg_ctl could not start the cluster in {self.pgdata}: {result.stderr.strip() or result.stdout.strip()}"
                f"\n--- last lines of {self.log} ---\n{self._log_tail()}"
            )
        self._ensure_database()
        return "created" if created else "started"

    def stop(self) -> bool:
        """Stop the cluster if it runs; return whether it was running."""
        bindir = find_bindir()
        if not self.pgdata.joinpath("PG_VERSION").exists() or not self._running(bindir):
            return False
        result = self._run([str(bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])
        if result.returncode != 0:
            raise EmbeddedDatabaseError(f"pg_ctl could not stop the cluster: {result.stderr.strip()}")
        return True

    def make_standby(self, data_dir: Path) -> EmbeddedCluster:
        """A streaming standby of this running cluster under ``data_dir`` (``pg_basebackup -R``: a base backup
        that follows this cluster's WAL), on a socket of its own; start it with ``start()``. A local replica to
        try ``DATABASE_READ_URL`` with, and the suite's."""
        standby = EmbeddedCluster(data_dir, self.os_user or "frontline", self.fsync)
        standby.root.mkdir(parents=True, exist_ok=True)
        standby._chown(standby.root)
        # -c fast: checkpoint at once (a spread one kept the copy waiting for 90 s).
        result = self._run([str(find_bindir() / "pg_basebackup"), "-D", str(standby.pgdata), "-R", "-X", "stream",
                            "-c", "fast", "-h", str(self.socket_dir), "-p", str(self.tcp_port or 5432), "-U", DB_ROLE])
        if result.returncode != 0:
            raise EmbeddedDatabaseError(f"pg_basebackup could not copy {self.pgdata}: {result.stderr.strip()}")
        with standby.pgdata.joinpath("postgresql.auto.conf").open("a") as conf:  # later lines win
            conf.write(f"listen_addresses = ''\nport = 5432\nunix_socket_directories = '{standby.socket_dir}'\n")
        return standby

    def status(self) -> ClusterStatus:
        """Whether the cluster runs, with its pid, directory and URL."""
        running = self.pgdata.joinpath("PG_VERSION").exists() and self._running(find_bindir())
        return ClusterStatus(running, self._pid() if running else None, self.pgdata, self.url, self.log)

    # -- internals -------------------------------------------------------------------------------------

    def _init(self, bindir: Path) -> bool:
        if self.pgdata.joinpath("PG_VERSION").exists():
            return False
        if self.os_user:
            ensure_os_user(self.os_user)
        self.root.mkdir(parents=True, exist_ok=True)
        self._chown(self.root)
        self._check_reachable()
        result = self._run(
            [str(bindir / "initdb"), "-D", str(self.pgdata), "-U", DB_ROLE, "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-instructions"]
        )
        if result.returncode != 0:
            raise EmbeddedDatabaseError(f"initdb failed in {self.pgdata}: {result.stderr.strip()}")
        settings = {
            "listen_addresses": "'127.0.0.1'" if self.tcp_port else "''",
            "port": str(self.tcp_port or 5432),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "on" if self.fsync else "off",
            "synchronous_commit": "on" if self.fsync else "off",
            "full_page_writes": "on" if self.fsync else "off",
            "max_connections": "50",
        }
        with self.pgdata.joinpath("postgresql.auto.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        return True

    def _running(self, bindir: Path) -> bool:
        result = self._run([str(bindir / "pg_ctl"), "-D", str(self.pgdata), "status"])
        return result.returncode == 0 and self._pid_is_postgres(self._pid())

    def _pid(self) -> int | None:
        try:
            return int(self.pgdata.joinpath("postmaster.pid").read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    @staticmethod
    def _pid_is_postgres(pid: int | None) -> bool:
        if pid is None:
            return False
        try:
            return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def _clear_stale_pid(self) -> None:
        """After a crash postmaster.pid remains; its pid may since belong to another process."""
        pidfile = self.pgdata / "postmaster.pid"
        if pidfile.exists() and not self._pid_is_postgres(self._pid()):
            pidfile.unlink()

    def _ensure_database(self) -> None:
        with psycopg.connect(host=str(self.socket_dir), port=self.tcp_port or 5432, user=DB_ROLE, dbname="postgres",
                             autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def _check_reachable(self) -> None:
        if self.os_user and self._run(["test", "-w", str(self.root)]).returncode != 0:
            raise EmbeddedDatabaseError(
                f"The database user '{self.os_user}' cannot write {self.root} (a parent directory is private, "
                "such as /root): set FRONTLINE_DATA_DIR to a directory it can reach, e.g. /var/lib/frontline."
            )

    def _chown(self, path: Path) -> None:
        if self.os_user:
            shutil.chown(path, self.os_user, self.os_user)
            path.chmod(0o700)

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C"}
        return subprocess.run(
            cmd, capture_output=True, text=True, check=False, env=env, cwd="/",
            user=self.os_user, group=self.os_user, extra_groups=[] if self.os_user else None,
        )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def ensure_os_user(name: str) -> None:
    """Create the unprivileged system user that owns the cluster when running as root."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        result = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise EmbeddedDatabaseError(f"could not create the system user '{name}': {result.stderr.strip()}") from None
