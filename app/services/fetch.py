"""Fetch public archives into a local cache and import them with their profiles (`frontline fetch`).

The catalogue (``app/archives/archives.toml``) says where each archive lives and how to find its files: by
date ("dated": one raw file per day, a 404 is a day the archive does not have) or by listing a directory
("listed": GitHub's contents API, or a mirror's directory index). Files are cached under
``FRONTLINE_DATA_DIR/archives/<name>/`` at their paths in the repository, so a second run downloads nothing.

Each download goes to a ``.part`` file that is renamed into place only once it is whole and parses as GeoJSON
(and matches the size and git blob hash the listing gave): an interrupted run leaves no partial file. Each file
is then imported in its own transaction (the importer's), so it leaves no partial import either; the next run
finishes the job. 5xx answers and timeouts are retried with backoff; a host that cannot be reached at all stops
the run at once with ``Unreachable`` naming the host and the cause.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from app.errors import FrontlineError, InvalidParameter
from app.services.importer import FileReport, import_paths
from app.services.profiles import load_profile

CATALOGUE = Path(__file__).resolve().parent.parent / "archives" / "archives.toml"
GITHUB_RAW = "https://raw.githubusercontent.com"
GITHUB_API = "https://api.github.com"
TIMEOUT = httpx.Timeout(30.0, connect=4.0)  # a host that does not answer is known within the 10 s promised
RECHECK_MISSING_DAYS = 7  # a dated archive may publish a day late: recent missing days are asked again


class Unreachable(FrontlineError):
    """The archive's host cannot be reached at all (no network, DNS, refused, gone): nothing was written."""

    status_code = 503
    title = "Archive unreachable"


class Archive(BaseModel):
    """One public archive: where it lives, what it holds, its terms, and the profile that imports it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    holds: str
    repository: str
    ref: str = "main"
    licence: str
    profile: str
    transport: Literal["dated", "listed"]
    directory: str
    file: str  # dated: a strftime-style template with {day}; listed: a regex with a `day` or `unix` group
    first_day: date | None = None

    @property
    def home(self) -> str:
        """The repository's page."""
        return f"https://github.com/{self.repository}"

    def day_of(self, name: str) -> date | None:
        """The day a listed file describes, from its name (None when the name is not one of its files)."""
        match = re.match(self.file, name)
        if match is None:
            return None
        groups = match.groupdict()
        if groups.get("unix"):
            return datetime.fromtimestamp(int(groups["unix"]), UTC).date()
        return date.fromisoformat(groups["day"]) if groups.get("day") else None


def catalogue() -> dict[str, Archive]:
    """The shipped archives, by name."""
    data = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    return {a["name"]: Archive(**a) for a in data["archive"]}


def archives_named(names: list[str]) -> list[Archive]:
    """The archives asked for, or 400 naming the known ones."""
    known = catalogue()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidParameter(f"no archive {', '.join(unknown)}; archives are {', '.join(known)}",
                               parameter="archive")
    return [known[n] for n in names]


@dataclass(frozen=True)
class Remote:
    """A file of an archive: its path in the repository, the day it describes, where to get it, what to expect."""

    path: str
    day: date
    url: str
    size: int | None = None
    sha: str | None = None  # git blob hash, when the listing gives one


@dataclass
class FetchReport:
    """What one archive's fetch did, file by file."""

    archive: str
    files: int = 0  # in the range asked
    cached: int = 0  # there before this run
    downloaded: list[str] = field(default_factory=list)
    bytes: int = 0
    missing: list[str] = field(default_factory=list)  # 404: days the archive does not have
    retried: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # "path: reason"
    failed: list[str] = field(default_factory=list)  # gave up after retries: "path: reason"
    paths: list[Path] = field(default_factory=list)  # every cached file in the range, for the import


class Listener(Protocol):
    """Progress of a fetch (the CLI draws a bar of files and bytes)."""

    def planned(self, archive: str, files: int, total_bytes: int | None) -> None:
        """The files about to be downloaded."""

    def advanced(self, nbytes: int) -> None:
        """Bytes received."""

    def done(self, path: str, outcome: str) -> None:
        """One file finished: downloaded, missing, rejected or failed."""


class _Retryable(Exception):
    """A 5xx or a timeout: worth asking again."""


def cache_dir(data_dir: Path, archive: Archive) -> Path:
    """Where an archive's files are cached."""
    return data_dir / "archives" / archive.name


class Fetcher:
    """Downloads archive files into the cache, from the public host or from a mirror."""

    def __init__(self, data_dir: Path, mirror: str | None = None, client: httpx.Client | None = None,
                 attempts: int = 4, backoff: float = 0.5, github: tuple[str, str] = (GITHUB_RAW, GITHUB_API)
                 ) -> None:
        self.data_dir = data_dir
        self.mirror = mirror.rstrip("/") + "/" if mirror else None
        self.github_raw, self.github_api = github  # the public hosts (a test may stand in for them)
        self.client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True,
                                             headers={"User-Agent": "frontline-fetch"})
        self.attempts = attempts
        self.backoff = backoff
        self._retries: list[str] = []

    def url(self, archive: Archive, path: str) -> str:
        """A file's URL: the mirror's, else GitHub's raw host."""
        if self.mirror:
            return urljoin(self.mirror, path)
        return f"{self.github_raw}/{archive.repository}/{archive.ref}/{path}"

    # -- what there is -----------------------------------------------------------------------------------

    def remote_files(self, archive: Archive, since: date, until: date) -> list[Remote]:
        """The archive's files for days in [since, until]."""
        if archive.transport == "dated":
            first = max(since, archive.first_day or since)
            days = (first + timedelta(n) for n in range((until - first).days + 1))
            paths = ((f"{archive.directory}/{archive.file.format(day=d)}", d) for d in days)
            return [Remote(p, d, self.url(archive, p)) for p, d in paths]
        return [r for r in self._listing(archive) if since <= r.day <= until]

    def _listing(self, archive: Archive) -> list[Remote]:
        if self.mirror:
            index = self._get(urljoin(self.mirror, archive.directory + "/")).decode("utf-8", "replace")
            names = {unquote(h.rstrip("/").rsplit("/", 1)[-1]) for h in re.findall(r'href="([^"?#]+)"', index)}
            found = [(n, archive.day_of(n)) for n in sorted(names)]
            return [Remote(f"{archive.directory}/{n}", d, self.url(archive, f"{archive.directory}/{n}"))
                    for n, d in found if d]
        # The git trees API lists a whole branch in one answer (the contents API stops at 1,000 files).
        api = f"{self.github_api}/repos/{archive.repository}/git/trees/{archive.ref}?recursive=1"
        prefix = archive.directory.rstrip("/") + "/"
        entries = [e for e in orjson.loads(self._get(api)).get("tree", [])
                   if e.get("type") == "blob" and e["path"].startswith(prefix) and "/" not in e["path"][len(prefix):]]
        listed = [(e, archive.day_of(e["path"][len(prefix):])) for e in entries]
        return [Remote(e["path"], d, self.url(archive, e["path"]), e.get("size"), e.get("sha"))
                for e, d in listed if d]

    # -- getting it ----------------------------------------------------------------------------------------

    def _get(self, url: str) -> bytes:
        """A body (a listing), with retries on 5xx and timeouts; Unreachable when the host cannot be reached at
        all, or still fails after the retries."""
        try:
            status, body = self._attempt(url, lambda: self._read(url, None))
        except _Retryable as exc:
            raise Unreachable(f"{urlsplit(url).netloc}: {exc} for {url} after {self.attempts} attempts") from None
        if status >= 400:
            raise Unreachable(f"{urlsplit(url).netloc}: HTTP {status} for {url}")
        return body

    def _read(self, url: str, listener: Listener | None) -> tuple[int, bytes]:
        """One GET: its status and whole body (progress counted as it arrives)."""
        with self.client.stream("GET", url) as response:
            if response.status_code >= 400:
                return response.status_code, b""
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if listener:
                    listener.advanced(len(chunk))
            return response.status_code, bytes(body)

    def _attempt(self, url: str, call: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        def once() -> tuple[int, bytes]:
            try:
                status, body = call()
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
                # No answer at all (refused, unresolved, silent): the host is not there, retrying will not help.
                raise Unreachable(f"{urlsplit(url).netloc or url}: {_cause(exc) or 'no answer to connect'}") from None
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                raise _Retryable(_cause(exc)) from None
            if status >= 500:
                raise _Retryable(f"HTTP {status}")
            return status, body

        retrying = Retrying(stop=stop_after_attempt(self.attempts), reraise=True,
                            wait=wait_exponential(multiplier=self.backoff, max=8),
                            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
                            before_sleep=lambda state: self._retries.append(url))
        return retrying(once)

    def fetch(self, archive: Archive, since: date, until: date, listener: Listener | None = None) -> FetchReport:
        """Download what is not yet cached of [since, until] into the cache; report file by file."""
        root = cache_dir(self.data_dir, archive)
        for stale in root.rglob("*.part"):  # left by an interrupted run
            stale.unlink()
        report = FetchReport(archive.name)
        missing = _MissingDays(root, self.mirror or self.github_raw)
        remotes = self.remote_files(archive, since, until)
        report.files = len(remotes)
        wanted = [r for r in remotes if not (root / r.path).exists() and not missing.known(r)]
        report.cached = sum((root / r.path).exists() for r in remotes)
        if listener:
            known_sizes = [r.size for r in wanted]
            listener.planned(archive.name, len(wanted),
                             sum(s for s in known_sizes if s) if all(known_sizes) else None)
        try:
            for remote in wanted:
                outcome = self._download(remote, root / remote.path, report, listener)
                if outcome == "missing":
                    missing.add(remote)
                if listener:
                    listener.done(remote.path, outcome)
        finally:
            missing.save()
        report.paths = sorted(root / r.path for r in remotes if (root / r.path).exists())
        return report

    def _download(self, remote: Remote, target: Path, report: FetchReport, listener: Listener | None) -> str:
        self._retries = []
        try:
            status, body = self._attempt(remote.url, lambda: self._read(remote.url, listener))
        except _Retryable as exc:
            report.failed.append(f"{remote.path}: {exc} after {self.attempts} attempts")
            return "failed"
        if self._retries:
            report.retried.append(f"{remote.path} ({len(self._retries) + 1} attempts)")
        if status == 404:
            report.missing.append(remote.path)
            return "missing"
        if status >= 400:
            report.failed.append(f"{remote.path}: HTTP {status}")
            return "failed"
        problem = check_geojson(body, remote)
        if problem:
            report.rejected.append(f"{remote.path}: {problem}")
            return "rejected"
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        part.write_bytes(body)
        part.replace(target)  # atomic: the cache never holds half a file
        report.downloaded.append(remote.path)
        report.bytes += len(body)
        return "downloaded"


def check_geojson(body: bytes, remote: Remote) -> str | None:
    """Why a downloaded body is not the file expected (size, git hash, GeoJSON), or None."""
    if remote.size is not None and len(body) != remote.size:
        return f"{len(body):,} bytes where the listing says {remote.size:,} (truncated?)"
    if remote.sha is not None:
        blob = hashlib.sha1(b"blob %d\0" % len(body) + body, usedforsecurity=False).hexdigest()
        if blob != remote.sha:
            return "content differs from the listing's git hash"
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return f"not JSON ({exc}): truncated or not GeoJSON"
    if not isinstance(data, dict) or data.get("type") not in ("FeatureCollection", "Feature"):
        return "JSON but not a GeoJSON FeatureCollection"
    return None


class _MissingDays:
    """Days a host answered 404 for, so later runs do not ask it again (except recent days)."""

    def __init__(self, root: Path, host: str) -> None:
        self.path = root / f"missing-{hashlib.sha256(host.encode()).hexdigest()[:12]}.json"
        self.paths: set[str] = set(orjson.loads(self.path.read_bytes())) if self.path.exists() else set()

    def known(self, remote: Remote) -> bool:
        recent = remote.day >= date.today() - timedelta(days=RECHECK_MISSING_DAYS)
        return remote.path in self.paths and not recent

    def add(self, remote: Remote) -> None:
        self.paths.add(remote.path)

    def save(self) -> None:
        if self.paths:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(orjson.dumps(sorted(self.paths)))


def _cause(exc: Exception) -> str:
    """An exception as one short line (httpx nests the OS error)."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def cached_days(data_dir: Path, archive: Archive) -> tuple[int, date | None]:
    """How many files of the archive are cached, and the latest day they describe."""
    root = cache_dir(data_dir, archive) / archive.directory
    days = [d for d in _cached_file_days(root, archive) if d]
    return len(days), max(days) if days else None


def _cached_file_days(root: Path, archive: Archive) -> Iterator[date | None]:
    if not root.is_dir():
        return
    for path in root.iterdir():
        if path.suffix != ".geojson":
            continue
        if archive.transport == "listed":
            yield archive.day_of(path.name)
        else:
            digits = re.search(r"(\d{8})", path.name)
            yield datetime.strptime(digits.group(1), "%Y%m%d").date() if digits else None


@dataclass
class ArchiveRun:
    """One archive's fetch, and the import of its cached files (None with --no-import)."""

    fetched: FetchReport
    imported: list[FileReport] | None = None


def fetch_and_import(engine: Engine | None, fetcher: Fetcher, archives: list[Archive], since: date | None,
                     until: date | None, profiles_dir: Path | None = None, listener: Listener | None = None,
                     on_import: Callable[[FileReport], None] | None = None,
                     runs: list[ArchiveRun] | None = None) -> list[ArchiveRun]:
    """Fetch each archive's files for [since, until] (default: all it has, to today) and import every cached
    one in that range with the archive's profile (files imported before write nothing).

    Each archive's run is appended to ``runs`` as it ends, so a caller still knows what was done when a later
    archive's host turns out unreachable.
    """
    runs = [] if runs is None else runs
    for archive in archives:
        first = since or archive.first_day or date(2014, 2, 20)
        fetched = fetcher.fetch(archive, first, until or date.today(), listener)
        run = ArchiveRun(fetched)
        if engine is not None and fetched.paths:
            profile = load_profile(archive.profile, profiles_dir)
            run.imported = import_paths(engine, fetched.paths, profile, on_import)
        runs.append(run)
    return runs
