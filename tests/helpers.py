"""What the tests share: shapes and GeoJSON builders, row builders, reference areas, API checks, tokens, a
migrated and seeded app, live servers, temporary directories and the browser recorder.

A plain module, imported by test modules and conftests alike; fixtures stay in the conftests.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, create_engine, text

from app.auth import create_token
from app.db.engine import make_engine
from app.db.models import claim_key, series_key
from app.main import create_app
from app.services.importer import discover, import_file
from app.services.migrate import upgrade
from app.services.profiles import load_profile
from app.services.seed import seed
from app.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Dialog, Page, Request

# -- shapes and files -------------------------------------------------------------------------------------------

# A ~10 km square just north of Sudzha.
SQUARE = [[35.2, 51.2], [35.35, 51.2], [35.35, 51.29], [35.2, 51.29], [35.2, 51.2]]
# The seed's illustrative series (source `example`, layer = the source whose figures each illustrates): key → title.
EXAMPLE_SERIES = {
    "example/-/unknown/deepstatemap": "Example: DeepStateMap's grey zone, drawn to its figure",
    "example/RU/assessed/isw": "Example: ISW's assessed Russian advances, drawn to ISW's totals",
    "example/RU/claimed/ru-mod-tass": "Example: Russian MoD claims of ground retaken (size illustrative too)",
    "example/UA/assessed/deepstatemap": "Example: DeepStateMap's Ukrainian-held ground, drawn to its figure",
    "example/UA/claimed/syrskyi": "Example: Syrskyi's claimed area, drawn to his figures",
}
SYRSKYI_EXAMPLE = "example/UA/claimed/syrskyi"
# The editors' Sudzha (geodata/places.geojson), inside the first case's Kursk oblast, RU territory by default.
SUDZHA = (35.271, 51.191)
CASE = "kursk-incursion"
SHARED_DATA = Path(os.environ.get("FRONTLINE_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))
DOCS = PROJECT_ROOT / "docs"


def feature(coords: Any, gtype: str = "Polygon", **properties: Any) -> dict[str, Any]:
    """A GeoJSON Feature (no geometry when ``coords`` is None)."""
    geometry = None if coords is None else {"type": gtype, "coordinates": coords}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path: Path, *features: dict[str, Any]) -> Path:
    """A FeatureCollection of ``features`` written to ``path``."""
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def around(lon: float, lat: float, radius: float = 0.03) -> Polygon:
    """A disc of ``radius`` degrees (0.03: about 2–3 km) around a point: an area that covers one town alone."""
    return Point(lon, lat).buffer(radius, quad_segs=16)


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or a skip with the reason when the folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the third-party files in ../shared/data are needed for this test")
    return path


def new_temp_dir(prefix: str) -> Path:
    """A temporary directory the unprivileged database user can traverse (pytest's own tmp is private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


# -- reference areas, independent of PostGIS --------------------------------------------------------------------

GEOD = Geod(ellps="WGS84")


def km2(geometry: BaseGeometry) -> float:
    """pyproj's geodesic area of a geometry on the WGS84 ellipsoid, in km²."""
    return abs(GEOD.geometry_area_perimeter(geometry)[0]) / 1e6


def ring_km2(ring: list[list[float]]) -> float:
    """The geodesic area of the polygon a ring bounds, in km²."""
    return km2(Polygon(ring))


def km_from_line(line: BaseGeometry, points: Iterable[tuple[float, float]], step: float = 0.002) -> list[float]:
    """pyproj's geodesic distance (km) from each lon/lat point to a line densified every ``step`` degrees."""
    parts = getattr(line, "geoms", [line])
    xs, ys = (np.concatenate(axis) for axis in zip(*(part.segmentize(step).xy for part in parts), strict=True))
    found = []
    for lon, lat in points:
        distances = GEOD.inv(np.full(xs.shape, lon), np.full(ys.shape, lat), xs, ys)[2]
        found.append(float(distances.min()) / 1000)
    return found


def pyproj_km2(path: Path) -> float:
    """The summed geodesic area of a GeoJSON file's features (null geometries skipped), in km²."""
    features = json.loads(path.read_text())["features"]
    return sum(km2(shape(f["geometry"])) for f in features if f["geometry"])


def import_folder(conn: Connection, folder: str, profile: str) -> int:
    """Import every file of ../shared/data/<folder> with a shipped profile; each must be imported (not unchanged
    or rejected). Returns how many files that was (skips when the folder is absent)."""
    plan = load_profile(profile)
    files = discover([shared_data(folder)])
    outcomes = {path.name: import_file(conn, path, plan).outcome for path in files}
    assert set(outcomes.values()) == {"imported"}, outcomes
    return len(files)


# -- rows -------------------------------------------------------------------------------------------------------

def count(conn: Connection, table: str = "control_areas") -> int:
    """The number of rows (every version) in ``table``."""
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def add_control_area(conn: Connection, key: str = "test-area", *, source: str = "isw", side: str | None = "UA",
                     status: str = "assessed", day: date | str = "2024-09-01", valid: str | None = None,
                     coords: list[list[float]] = SQUARE, geometry: BaseGeometry | None = None,
                     layer: str | None = "test-layer", name: str | None = None,
                     properties: dict[str, Any] | None = None, content_hash: str = "h",
                     recorded_at: datetime | None = None, returning: str = "id") -> Any:
    """Insert one control-area version straight into the table (no write path), and its series' row if the
    series is new (as every write does); return ``returning``.

    ``valid`` is a daterange literal such as ``[2024-09-01,2024-09-05)``; without it the area is valid on
    ``day`` alone. The geometry is ``geometry`` if given, else the polygon ``coords`` bounds. Columns left at
    None (``layer``, ``name``, ``properties``, ``recorded_at``) get the table's defaults.
    """
    if valid is None:
        first = date.fromisoformat(day) if isinstance(day, str) else day
        valid = f"[{first},{first + timedelta(days=1)})"
    columns = {"key": ":key", "source_id": "(SELECT id FROM sources WHERE slug = :source)",
               "content_hash": ":content_hash", "side_code": ":side", "status": ":status",
               "valid": "CAST(:valid AS daterange)", "geom": "ST_Multi(ST_GeomFromText(:wkt, 4326))"}
    optional = {"layer": layer, "name": name, "recorded_at": recorded_at,
                "properties": None if properties is None else json.dumps(properties)}
    columns |= {column: "CAST(:properties AS jsonb)" if column == "properties" else f":{column}"
                for column, value in optional.items() if value is not None}
    sql = (f"INSERT INTO control_areas ({', '.join(columns)}) VALUES ({', '.join(columns.values())}) "
           f"RETURNING {returning}")
    params = {"key": key, "source": source, "content_hash": content_hash, "side": side, "status": status,
              "valid": valid, "wkt": (geometry or Polygon(coords)).wkt, **optional}
    found = conn.execute(text(sql), params).scalar_one()
    # Every claim has its series, as the write path (record_versions) guarantees.
    conn.execute(text(
        "INSERT INTO series (key, source_id, side_code, status, layer) "
        "SELECT :series, id, :side, :status, :layer FROM sources WHERE slug = :source ON CONFLICT (key) DO NOTHING"),
        {"series": series_key(source, side, status, layer), "source": source, "side": side, "status": status,
         "layer": layer})
    return found


def add_observations(conn: Connection, source: str, side: str | None, status: str, layer: str | None,
                     days: list[date], **kwargs: Any) -> str:
    """One control area of a series on each of ``days`` (keys as the importer makes them); return the series key."""
    for day in days:
        add_control_area(conn, claim_key(source, side, status, layer, day), source=source, side=side,
                         status=status, layer=layer, day=day, **kwargs)
    return series_key(source, side, status, layer)


def every(first: date, count: int, step_days: int = 1) -> list[date]:
    """``count`` days from ``first``, ``step_days`` apart."""
    return [first + timedelta(days=i * step_days) for i in range(count)]


def prefer(conn: Connection, series: str, over: str) -> None:
    """Make ``over`` yield to ``series`` (its ``same_ground_as``): left out by default while ``series`` exists."""
    conn.execute(text("UPDATE series SET same_ground_as = :series WHERE key = :over"), {"series": series, "over": over})


def add_place(conn: Connection, key: str, name: str, lon: float = 35.25, lat: float = 51.2,
              kind: str = "village", source: str = "frontline-editors") -> None:
    """Insert one place version straight into the table (no write path)."""
    conn.execute(text(
        "INSERT INTO places (key, source_id, content_hash, name, kind, geom) "
        "SELECT :key, id, 'h', :name, :kind, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) "
        "FROM sources WHERE slug = :source"),
        {"key": key, "name": name, "kind": kind, "lon": lon, "lat": lat, "source": source})


# -- the API ----------------------------------------------------------------------------------------------------

def problem(response: Any, status: int, parameter: str | None = None) -> dict[str, Any]:
    """The body of an application/problem+json answer with ``status`` (naming ``parameter``, when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"], body
    if parameter:
        assert body["parameter"] == parameter, body
    return body


def rows(client: TestClient, url: str) -> list[dict[str, Any]]:
    """The ``rows`` of a 200 JSON answer."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["rows"]
    return found


def case_ground(client: TestClient, key: str = CASE) -> BaseGeometry:
    """A case's ground as /cases?f=geojson gives it (5 decimals), with Shapely."""
    response = client.get("/cases?f=geojson")
    assert response.status_code == 200, response.text
    found = {f["id"]: shape(f["geometry"]) for f in response.json()["features"]}
    return found[key]


def bearer(conn: Connection, settings: Settings, name: str, scope: str) -> dict[str, str]:
    """The Authorization header of a new token named ``name`` with ``scope``."""
    return {"Authorization": f"Bearer {create_token(conn, settings.secret_key, name, scope)}"}


@contextmanager
def savepoint(conn: Connection) -> Iterator[Connection]:
    """A write's transaction inside the test's: it rolls back alone when the write fails."""
    with conn.begin_nested():
        yield conn


@contextmanager
def client_on(conn: Connection, settings: Settings, engine: Engine, **overrides: Any) -> Iterator[TestClient]:
    """A TestClient whose app answers from the test's transaction ``conn``, with settings ``overrides``.

    Its writes are never committed, so no NOTIFY reaches a version watcher: the app asks the database.
    """
    app = create_app(settings.model_copy(update={"watch_writes": False, **overrides}), engine)
    app.state.connect = lambda: nullcontext(conn)
    app.state.begin = lambda: savepoint(conn)
    with TestClient(app) as test_client:
        yield test_client


# -- a migrated, seeded app and live servers --------------------------------------------------------------------

@dataclass(frozen=True)
class SeededApp:
    """An app over a migrated database seeded in a committed transaction; its engine; a write token if asked."""

    app: FastAPI
    engine: Engine
    token: str | None


def seeded_app(settings: Settings, writer: str | None = None) -> SeededApp:
    """Migrate the settings' database, seed it (committed), make a write token named ``writer``, build the app.

    The caller disposes of the engine.
    """
    upgrade(settings)
    engine = make_engine(settings)
    with engine.begin() as conn:
        seed(conn, settings.geodata_dir)
        token = create_token(conn, settings.secret_key, writer, "write") if writer else None
    return SeededApp(create_app(settings, engine), engine, token)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: FastAPI, log_level: str = "warning") -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port of 127.0.0.1 in a thread; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class LiveServer:
    """A running server's base URL and the URL of its database."""

    url: str
    database_url: str


# -- the browser ------------------------------------------------------------------------------------------------

@dataclass
class Recorder:
    """What a page did: console errors, page errors, request URLs, dialogs."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Record what ``page`` does from now on."""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{error.name}: {error.message}"))
        page.on("request", self._request)
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} (at {message.location.get('url')})")

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def problems(self) -> str:
        """The errors and dialogs, for an assertion's message."""
        return f"page errors: {self.page_errors}; console errors: {self.console_errors}; dialogs: {self.dialogs}"


def screenshot(page: Page, name: str) -> None:
    """docs/<name> at the page's size, only with FRONTLINE_SCREENSHOTS=1 (a test run never rewrites tracked files)."""
    if os.environ.get("FRONTLINE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name))


# -- a mirror of the public archives (frontline fetch) ----------------------------------------------------------

# Where each archive keeps its files in its repository, and so on a mirror and in the cache.
DAILY_DIR, RAW_DIR, ISW_DIR = "data", "geojsons", "docs/data/kursk_geojson"
# Synthetic days: deepstate-daily lacks 2024-08-03 (a 404, as the real collector's gaps); one publication of
# deepstate-raw and one ISW layer lie outside the first run's window (2024-08-01 to 2025-04-30).
DAILY_DAYS = [date(2024, 8, 1), date(2024, 8, 2), date(2024, 8, 4), date(2024, 8, 5)]
RAW_TIMES = [1721001600, 1723150336, 1724184993, 1725222208]  # 2024-07-15, 08-08, 08-20, 09-01 (UTC)
ISW_DAYS = [date(2024, 9, 11), date(2024, 9, 13), date(2024, 10, 1), date(2025, 8, 20)]
# Control areas each synthetic file makes with its archive's profile (points and other territories are skipped).
ROWS_PER_FILE = {"deepstate-daily": 1, "deepstate-raw": 4, "isw-kursk": 2}
PROFILE_OF = {"deepstate-daily": "deepstate-daily", "deepstate-raw": "deepstate-raw", "isw-kursk": "isw-kursk"}


def daily_path(day: date) -> str:
    """A deepstate-daily file's path in its repository."""
    return f"{DAILY_DIR}/deepstatemap_data_{day:%Y%m%d}.geojson"


def raw_path(unix: int) -> str:
    """A deepstate-raw publication's path in its repository."""
    return f"{RAW_DIR}/{unix}.geojson"


def isw_path(day: date) -> str:
    """An ISW Kursk layer's path in its repository."""
    return f"{ISW_DIR}/{day.isoformat()}.geojson"


def square(lon: float, lat: float, size: float = 0.1) -> list[list[float]]:
    """A closed ring of a ``size``-degree square with its south-west corner at lon/lat."""
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def daily_snapshot(n: int) -> dict[str, Any]:
    """A DeepStateMap daily snapshot as cyterat/deepstate-map-data keeps it: one MultiPolygon, no properties
    (the ``n``th day's square a little wider, so no two files are alike)."""
    ring = [[SQUARE[0][0], SQUARE[0][1]], [SQUARE[1][0] + 0.01 * n, SQUARE[1][1]],
            [SQUARE[2][0] + 0.01 * n, SQUARE[2][1]], [SQUARE[3][0], SQUARE[3][1]], [SQUARE[0][0], SQUARE[0][1]]]
    return {"type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
            "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "MultiPolygon",
                                                                             "coordinates": [[ring]]}}]}


def raw_publication(n: int) -> dict[str, Any]:
    """A DeepStateMap full publication in miniature: UA-held ground near Sudzha (blue 'Liberated' in Kursk
    oblast), liberated and occupied ground in Ukraine, a grey zone, a unit (a point) and another territory."""
    grow = 0.01 * n
    features = [
        feature([square(35.2, 51.2, 0.1 + grow)], name="Звільнено /// Liberated /// geoJSON.status.dismissed",
                fill="#01579b", stroke="#01579b"),
        feature([square(36.6, 49.6)], name="Звільнено /// Liberated 25.03 /// geoJSON.status.dismissed\n",
                fill="#0f9d58"),
        feature([square(37.1, 48.2, 0.2 + grow)], name="Окуповано /// Occupied /// geoJSON.status.occupied",
                fill="#a52714"),
        feature([square(35.35, 51.2, 0.05)], name="Статус невідомий\u00a0/// Unknown status /// geoJSON.status.unknown",
                fill="#bcaaa4"),
        feature([35.27, 51.19], "Point", name="Unit /// geoJSON.units.unit"),
        feature([square(29.4, 46.8)], name="Придністров'я /// Transnistria /// geoJSON.territories.transnistria"),
    ]
    return {"type": "FeatureCollection", "features": features}


def isw_layer(day: date, n: int) -> dict[str, Any]:
    """An ISW Kursk layer as sdspieg/war-datasets-dashboard exports it: Polygons in 3D with date, the
    publisher's area_km2 and layer_type."""
    def advance(lon: float, size: float) -> dict[str, Any]:
        ring = [[x, y, 0.0] for x, y in square(lon, 51.3, size)]
        return feature([ring], date=day.isoformat(), area_km2=round(ring_km2(square(lon, 51.3, size)) * 1.02, 2),
                       layer_type="kursk_russian_advances")

    return {"type": "FeatureCollection", "features": [advance(34.9, 0.05 + 0.005 * n), advance(35.0, 0.03)]}


#: An archive mirror's content: archive name -> path in the repository -> the file's bytes.
Archives = dict[str, dict[str, bytes]]


def synthetic_archives() -> Archives:
    """The three archives' synthetic files, archive name → repository path → bytes."""
    def encode(data: dict[str, Any]) -> bytes:
        return json.dumps(data, ensure_ascii=False).encode()

    return {
        "deepstate-daily": {daily_path(d): encode(daily_snapshot(n)) for n, d in enumerate(DAILY_DAYS)},
        "deepstate-raw": {raw_path(t): encode(raw_publication(n)) for n, t in enumerate(RAW_TIMES)},
        "isw-kursk": {isw_path(d): encode(isw_layer(d, n)) for n, d in enumerate(ISW_DAYS)},
    }


def write_mirror(root: Path, archives: Archives) -> Path:
    """Lay the archives' files out under ``root`` at their repository paths (as a mirror holds them)."""
    for files in archives.values():
        for path, body in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(body)
    return root


def shared_archives() -> Archives:
    """The real files of ../shared/data at their archives' repository paths (skips when the folder is absent):
    deepstate/ → data/, deepstate-raw/ → geojsons/, isw-kursk/ and isw-kursk-later/ → docs/data/kursk_geojson/."""
    layout = {"deepstate-daily": (["deepstate"], DAILY_DIR), "deepstate-raw": (["deepstate-raw"], RAW_DIR),
              "isw-kursk": (["isw-kursk", "isw-kursk-later"], ISW_DIR)}
    found: dict[str, dict[str, bytes]] = {}
    for archive, (folders, directory) in layout.items():
        found[archive] = {f"{directory}/{path.name}": path.read_bytes()
                          for folder in folders for path in sorted(shared_data(folder).glob("*.geojson"))}
    return found


@dataclass
class Fault:
    """What a mirror does instead of serving a path: ``error`` (HTTP 500, ``times`` times or for ever),
    ``truncated`` (half the file, with a Content-Length to match), ``body`` (another body, e.g. an HTML page),
    ``missing`` (404), ``stall`` (answer only after ``seconds``, ``times`` times)."""

    kind: str
    times: int | None = None
    body: bytes = b""
    seconds: float = 0.0


class _MirrorServer(ThreadingHTTPServer):
    block_on_close = False  # it may be closed from one of its own handler threads ("go away")
    mirror: Mirror


class _MirrorHandler(SimpleHTTPRequestHandler):
    """python -m http.server's handler (files, directory indexes), with the mirror's faults."""

    server: _MirrorServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are counted in ``Mirror.requests``."""

    def do_GET(self) -> None:
        """Serve, fail or go away, as the mirror says for this path."""
        mirror = self.server.mirror
        path = unquote(urlsplit(self.path).path).lstrip("/")
        action = mirror.arrived(path)
        if action is None:
            super().do_GET()
        elif action.kind == "go-away":
            self._cut_off(path)
        elif action.kind == "error":
            self.send_error(500, "Internal Server Error")
        elif action.kind == "missing":
            self.send_error(404, "File not found")
        elif action.kind == "stall":
            time.sleep(action.seconds)  # the client has given up by now: its end of the socket is closed
            with contextlib.suppress(OSError):
                super().do_GET()
        else:
            body = action.body
            if action.kind == "truncated":
                whole = (mirror.root / path).read_bytes()
                body = whole[: len(whole) // 2]
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if body.startswith(b"<") else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _cut_off(self, path: str) -> None:
        """Announce the whole file, send half of it, and take the whole server down before hanging up."""
        whole = (self.server.mirror.root / path).read_bytes() if (self.server.mirror.root / path).is_file() else b""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(whole)))
        self.end_headers()
        self.wfile.write(whole[: len(whole) // 2])
        self.wfile.flush()
        self.server.shutdown()  # this is a handler thread, not the serving loop's: it waits for that to end
        self.server.server_close()  # nothing listens any more: a retry is refused
        self.close_connection = True


class Mirror:
    """A static HTTP server on 127.0.0.1 over a directory laid out like the archives' repositories, with
    directory indexes as ``python -m http.server`` writes them. It records every request path and injects
    faults per path; ``go_away_after(k)`` cuts the file request after the k-th off half-way and shuts the
    server down (``start()`` brings it back on the same port)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.requests: list[str] = []
        self.faults: dict[str, Fault] = {}
        self.file_limit: int | None = None
        self._lock = threading.Lock()
        self._server: _MirrorServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The mirror's base URL, as `frontline fetch --mirror` takes it."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        """Whether the server listens."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Mirror:
        """Listen (again) on the mirror's port."""
        handler = functools.partial(_MirrorHandler, directory=str(self.root))
        self._server = _MirrorServer(("127.0.0.1", self.port), handler)
        self._server.mirror = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (if it still does)."""
        if self._server is not None and self.running:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        """No faults, no requests recorded, listening."""
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.file_limit = None
        if not self.running:
            self.start()

    def fail(self, path: str, times: int | None = None) -> None:
        """Answer 500 for ``path`` ``times`` times (None: always), then serve it."""
        self.faults[path] = Fault("error", times)

    def truncate(self, path: str) -> None:
        """Serve half of ``path``, with a Content-Length that matches the half."""
        self.faults[path] = Fault("truncated")

    def replace(self, path: str, body: bytes) -> None:
        """Serve ``body`` (200) instead of ``path``'s file."""
        self.faults[path] = Fault("body", body=body)

    def stall(self, path: str, seconds: float, times: int | None = None) -> None:
        """Answer ``path`` only after ``seconds``, ``times`` times (None: always), then at once."""
        self.faults[path] = Fault("stall", times, seconds=seconds)

    def hide(self, path: str) -> None:
        """Answer 404 for ``path``, even if it is listed."""
        self.faults[path] = Fault("missing")

    def go_away_after(self, files: int) -> None:
        """Serve ``files`` file requests, then cut the next one off half-way and shut the server down."""
        self.file_limit = files

    def file_requests(self) -> list[str]:
        """The paths of files asked for (not directory indexes), in order."""
        return [p for p in self.requests if not p.endswith("/")]

    def listings(self) -> list[str]:
        """The directory indexes asked for, in order."""
        return [p for p in self.requests if p.endswith("/")]

    def arrived(self, path: str) -> Fault | None:
        """Record a request; what to do instead of serving it (None: serve it)."""
        with self._lock:
            self.requests.append(path)
            if self.file_limit is not None and not path.endswith("/"):
                if len(self.file_requests()) > self.file_limit:
                    self.file_limit = None
                    return Fault("go-away")
            fault = self.faults.get(path)
            if fault is not None and fault.kind in ("error", "stall") and fault.times is not None:
                if fault.times == 0:
                    return None
                fault.times -= 1
            return fault


@contextmanager
def silent_host() -> Iterator[str]:
    """A base URL on 127.0.0.1 whose port never completes a TCP handshake (its one-slot accept queue is full),
    as a host behind a firewall that drops packets: a connection attempt times out instead of being refused."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(2):
                filler = socket.socket()
                filler.settimeout(0.3)
                try:
                    filler.connect(("127.0.0.1", port))
                except OSError:
                    pass
                fillers.append(filler)
            yield f"http://127.0.0.1:{port}/"
        finally:
            for filler in fillers:
                filler.close()


FRONTLINE = str(Path(sys.executable).parent / "frontline")


@dataclass(frozen=True)
class Store:
    """Where a fetch writes: the database (its URL) and FRONTLINE_DATA_DIR; the command's environment."""

    database_url: str
    data_dir: Path
    env: dict[str, str]

    @classmethod
    def at(cls, database_url: str, data_dir: Path) -> Store:
        """A store, and `frontline`'s environment for it: no fetch on start, a wide terminal (rich wraps
        at the terminal's width, 80 columns when it is not a terminal)."""
        return cls(database_url, data_dir, {**os.environ, "DATABASE_URL": database_url,
                                            "FRONTLINE_DATA_DIR": str(data_dir), "FRONTLINE_FETCH_ON_START": "false",
                                            "COLUMNS": "200"})


@dataclass(frozen=True)
class Ran:
    """A `frontline` command's exit code, output and wall time."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def text(self) -> str:
        """Both outputs with runs of white space made one space (rich wraps long lines to the terminal)."""
        return " ".join(f"{self.stdout}\n{self.stderr}".split())

    def lines(self) -> list[str]:
        """The non-blank lines of stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def frontline(env: dict[str, str], *args: str, timeout: float = 120) -> Ran:
    """Run the `frontline` command as a user would, with ``env``; time it."""
    started = time.perf_counter()
    done = subprocess.run([FRONTLINE, *args], env=env, capture_output=True, text=True, timeout=timeout)
    return Ran(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)


def fetched_series(database_url: str) -> dict[str, int]:
    """Control areas written by profile imports (the fetched archives), per claim series."""
    return dict(_query(database_url, """
        SELECT regexp_replace(a.key, '/[^/]*$', ''), count(*) FROM control_areas a
        JOIN imports i ON i.id = a.import_id WHERE i.options ? 'profile' GROUP BY 1"""))


def imported_files(database_url: str) -> list[tuple[str, str, int]]:
    """Each profile import, sorted: (profile, file name, control areas it wrote); a file imported twice is
    listed twice."""
    return sorted(tuple(row) for row in _query(database_url, """
        SELECT i.options->>'profile', i.file_name, count(a.id) FROM imports i
        LEFT JOIN control_areas a ON a.import_id = i.id WHERE i.options ? 'profile' GROUP BY i.id"""))


def written(database_url: str) -> tuple[int, int]:
    """How many imports and control-area rows the database holds."""
    [row] = _query(database_url, "SELECT (SELECT count(*) FROM imports), (SELECT count(*) FROM control_areas)")
    return row[0], row[1]


def _query(database_url: str, sql: str) -> list[Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def cache_of(data_dir: Path) -> dict[str, set[str]]:
    """Every file under FRONTLINE_DATA_DIR/archives, archive name → paths inside its cache directory."""
    root = data_dir / "archives"
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if path.is_file():
            archive, *rest = path.relative_to(root).parts
            found.setdefault(archive, set()).add("/".join(rest))
    return found


def table_rows(output: str, first: str) -> dict[str, dict[str, str]]:
    """The rows of the rich table whose first column is headed ``first``, by their first cell: column → cell."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"\s*┃\s*{re.escape(first)}\s*┃", line))
    headers = [cell.strip() for cell in lines[start].strip().strip("┃").split("┃")]
    found: dict[str, dict[str, str]] = {}
    for line in lines[start + 2:]:
        if not line.strip().startswith("│"):
            break
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if cells[0]:  # not the continuation of a cell wrapped onto the next line
            found[cells[0]] = dict(zip(headers, cells, strict=True))
    return found


def synthetic_series(archives: dict[str, dict[str, bytes]]) -> dict[str, int]:
    """The control areas per claim series that importing the synthetic ``archives`` writes."""
    daily, raw, isw = (len(archives.get(name, {})) for name in ("deepstate-daily", "deepstate-raw", "isw-kursk"))
    expected = {"deepstatemap/RU/assessed/-": daily, "deepstatemap/UA/assessed/kursk-salient": raw,
                "deepstatemap/UA/assessed/liberated": raw, "deepstatemap/RU/assessed/occupied": raw,
                "deepstatemap/-/unknown/unknown": raw, "isw/RU/assessed/kursk-ru-advances": 2 * isw}
    return {series: rows for series, rows in expected.items() if rows}


def synthetic_imports(archives: dict[str, dict[str, bytes]]) -> list[tuple[str, str, int]]:
    """Each synthetic file imported once, as ``imported_files`` lists it: (profile, file name, control areas)."""
    return sorted((PROFILE_OF[name], path.rsplit("/", 1)[-1], ROWS_PER_FILE[name])
                  for name, files in archives.items() for path in files)


def only(archives: dict[str, dict[str, bytes]], keep: Callable[[str], bool]) -> dict[str, dict[str, bytes]]:
    """The archives' files whose repository path ``keep`` accepts (archives left with none are dropped)."""
    kept = {name: {p: body for p, body in files.items() if keep(p)} for name, files in archives.items()}
    return {name: files for name, files in kept.items() if files}


def copy_of_geodata(settings: Settings, tmp_path: Path) -> Path:
    """A copy of the seed geodata folder to edit (the seed reads whatever folder it is given)."""
    edited = tmp_path / "geodata"
    edited.mkdir()
    for path in settings.geodata_dir.iterdir():
        if path.is_file():
            (edited / path.name).write_bytes(path.read_bytes())
    return edited


def correct_syrskyi_example(conn: Connection) -> None:
    """Correct the seed's Syrskyi example of 2024-08-20 to a small disc at Sudzha, recorded a day after the test's
    transaction began (its now() is fixed, and every seeded row carries it): a later version of the claim."""
    later = conn.execute(text("SELECT now() + interval '1 day'")).scalar_one()
    conn.execute(text("UPDATE control_areas SET superseded_at = :later WHERE key = 'syrskyi-ua-held-2024-08-20'"),
                 {"later": later})
    add_control_area(conn, "syrskyi-ua-held-2024-08-20", source="example", status="claimed", day="2024-08-20",
                     layer="syrskyi", geometry=Point(*SUDZHA).buffer(0.05, quad_segs=8), content_hash="c",
                     recorded_at=later)


# -- map pages as HTML ------------------------------------------------------------------------------------------

def get_json(client: Any, path: str) -> dict[str, Any]:
    """A 200 answer's JSON (an httpx or TestClient ``client``), or a failure that shows the answer."""
    response = client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
    found: dict[str, Any] = response.json()
    return found


def script_config(page: str, call: str = "frontline.page(") -> dict[str, Any]:
    """The JSON object a map page's script hands ``call`` (``frontline.page(map, {...})`` by default; the
    timeline's ``frontline.timeline(map, page, {...})``), read from the page's HTML."""
    config, _ = json.JSONDecoder().raw_decode(page, page.index("{", page.index(call)))
    return dict(config)


# -- the real archive in a live server (browser tests) -----------------------------------------------------------

#: The folders of ../shared/data each shipped profile imports: the whole real archive of the Kursk case.
SHARED_FOLDERS = {"deepstate-daily": ("deepstate",), "deepstate-raw": ("deepstate-raw",),
                  "isw-kursk": ("isw-kursk", "isw-kursk-later")}


def import_shared_archive(engine: Engine) -> dict[str, int]:
    """Import every file of ../shared/data's archives with its shipped profile, as `frontline import --profile`
    does (each file committed; series titles described); each must be imported. Returns the files per profile
    (skips when a folder is absent)."""
    from app.services.importer import import_paths

    imported = {}
    for profile, folders in SHARED_FOLDERS.items():
        reports = import_paths(engine, [shared_data(folder) for folder in folders], load_profile(profile))
        assert {r.outcome for r in reports} == {"imported"}, [(r.path.name, r.error) for r in reports if r.error][:3]
        imported[profile] = len(reports)
    return imported


# -- measuring a map page in the browser (issue 22) ---------------------------------------------------------------

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

#: The sizes issue 22 measures the map pages at: a laptop, and a phone held upright.
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
#: The Leaflet map of a page: the global that folium names map_<random hex>.
LEAFLET_MAP = 'window[Object.keys(window).find(k => k.startsWith("map_"))]'

# What covers the map (the `.folium-map` box): every visible element drawn over it that is not one of the map's
# panes: Leaflet's controls (zoom, scale, attribution, the timeline's slider), and every element outside the map
# that overlaps its box (the legend, the drawer, the empty-store note, search results; the bar or the strip if
# they did). Each box is clipped by the ancestors that clip their content, then to the map; the covered area is
# their union (coordinate compression), reported with each element's own share by the element it belongs to.
_COVERAGE = """() => {
  const map = document.querySelector(".folium-map");
  const m = map.getBoundingClientRect();
  const visible = e => e.checkVisibility({opacityProperty: true, visibilityProperty: true,
                                          checkOpacity: true, checkVisibilityCSS: true});
  function clipped(e) {
    const r = e.getBoundingClientRect();
    let box = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX !== "visible" || s.overflowY !== "visible") {
        const c = a.getBoundingClientRect();
        box = {left: Math.max(box.left, c.left), top: Math.max(box.top, c.top),
               right: Math.min(box.right, c.right), bottom: Math.min(box.bottom, c.bottom)};
      }
    }
    box = {left: Math.max(box.left, m.left), top: Math.max(box.top, m.top),
           right: Math.min(box.right, m.right), bottom: Math.min(box.bottom, m.bottom)};
    return box.right > box.left && box.bottom > box.top ? box : null;
  }
  function owner(e) {
    const control = e.closest(".leaflet-control");
    let top = control;
    if (!top) { top = e; while (top.parentElement && top.parentElement !== document.body) { top = top.parentElement; } }
    return top.id ? "#" + top.id : "." + [...top.classList].filter(c => c !== "leaflet-control").join(".");
  }
  const candidates = [...map.querySelectorAll(".leaflet-control, .leaflet-control *")];
  document.querySelectorAll("body *").forEach(e => {
    if (!map.contains(e) && !e.contains(map)) { candidates.push(e); }
  });
  const boxes = [], parts = {};
  candidates.forEach(e => {
    if (!visible(e)) { return; }
    const box = clipped(e);
    if (!box) { return; }
    boxes.push(box);
    const key = owner(e);
    parts[key] = (parts[key] || []).concat([box]);
  });
  function union(list) {
    const xs = [...new Set(list.flatMap(b => [b.left, b.right]))].sort((a, b) => a - b);
    const ys = [...new Set(list.flatMap(b => [b.top, b.bottom]))].sort((a, b) => a - b);
    let area = 0;
    for (let i = 0; i + 1 < xs.length; i++) {
      for (let j = 0; j + 1 < ys.length; j++) {
        const x = (xs[i] + xs[i + 1]) / 2, y = (ys[j] + ys[j + 1]) / 2;
        if (list.some(b => b.left <= x && x <= b.right && b.top <= y && y <= b.bottom)) {
          area += (xs[i + 1] - xs[i]) * (ys[j + 1] - ys[j]);
        }
      }
    }
    return area;
  }
  const total = m.width * m.height;
  const shares = Object.fromEntries(Object.entries(parts).map(([k, list]) => [k, union(list) / total]));
  return {map: {left: m.left, top: m.top, right: m.right, bottom: m.bottom}, fraction: union(boxes) / total,
          parts: shares};
}"""

# Every visible settlement label on the map, and what it overlaps that it must not: another visible label, another
# settlement's marker, a drawn front line (a segment of a /frontline layer crossing its box).
_LABELS = """() => {
  const map = __MAP__;
  const m = map.getContainer().getBoundingClientRect();
  const markers = [], labels = [], segments = [];
  map.eachLayer(l => {
    if (l instanceof L.CircleMarker && l.getTooltip && l.getTooltip()) {
      const c = map.latLngToContainerPoint(l.getLatLng()), r = l.getRadius();
      markers.push({layer: l, left: m.left + c.x - r, top: m.top + c.y - r, right: m.left + c.x + r,
                    bottom: m.top + c.y + r});
      const e = l.getTooltip().getElement();
      const b = e && e.getBoundingClientRect();
      if (b && e.checkVisibility({visibilityProperty: true, checkVisibilityCSS: true}) &&
          b.right > m.left && b.left < m.right && b.bottom > m.top && b.top < m.bottom) {
        labels.push({layer: l, name: e.textContent, left: b.left, top: b.top, right: b.right, bottom: b.bottom});
      }
    }
    if (l.flFront && l.eachLayer) {
      l.eachLayer(f => {
        let parts = f.getLatLngs ? f.getLatLngs() : [];
        if (parts.length && !Array.isArray(parts[0])) { parts = [parts]; }
        parts.forEach(part => part.forEach((p, i) => {
          if (i === 0) { return; }
          const a = map.latLngToContainerPoint(part[i - 1]), b = map.latLngToContainerPoint(p);
          segments.push([m.left + a.x, m.top + a.y, m.left + b.x, m.top + b.y]);
        }));
      });
    }
  });
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const side = (ax, ay, bx, by, cx, cy) => Math.sign((bx - ax) * (cy - ay) - (by - ay) * (cx - ax));
  function crosses(s, b) {
    const inside = (x, y) => b.left < x && x < b.right && b.top < y && y < b.bottom;
    if (inside(s[0], s[1]) || inside(s[2], s[3])) { return true; }
    const edges = [[b.left, b.top, b.right, b.top], [b.right, b.top, b.right, b.bottom],
                   [b.right, b.bottom, b.left, b.bottom], [b.left, b.bottom, b.left, b.top]];
    const apart = (p, q) => side(p[0], p[1], p[2], p[3], q[0], q[1]) * side(p[0], p[1], p[2], p[3], q[2], q[3]) < 0;
    return edges.some(e => apart(s, e) && apart(e, s));
  }
  const problems = [];
  labels.forEach((a, i) => {
    labels.slice(i + 1).forEach(b => {
      if (meet(a, b)) { problems.push(`${a.name} overlaps the label ${b.name}`); }
    });
    markers.forEach(d => {
      if (d.layer !== a.layer && meet(a, d)) {
        problems.push(`${a.name} overlaps the marker of ${d.layer.getTooltip().getElement().textContent}`);
      }
    });
    if (segments.some(s => crosses(s, a))) { problems.push(`${a.name} is drawn over a front line`); }
  });
  return {zoom: map.getZoom(), shown: labels.map(l => l.name), fronts: segments.length, problems: problems};
}""".replace("__MAP__", LEAFLET_MAP)

# Zoom the map (no animation; asked again each frame, as Leaflet ignores it while a zoom animation runs), then wait
# for the labels' declutter, which runs in the frame after `zoomend`.
_ZOOM_TO = """async (zoom) => {
  const map = __MAP__;
  const frame = () => new Promise(resolve => requestAnimationFrame(resolve));
  for (let i = 0; i < 120 && map.getZoom() !== zoom; i++) {
    map.setZoom(zoom, {animate: false});
    await frame();
  }
  await frame();
  await frame();
  return map.getZoom();
}""".replace("__MAP__", LEAFLET_MAP)


@dataclass(frozen=True)
class Coverage:
    """How much of a map page's map is covered by what is drawn over it: the union's fraction of the map's box,
    each covering element's own fraction (by its top-level element or Leaflet control), and the map's box."""

    fraction: float
    parts: dict[str, float]
    map_box: dict[str, float]

    def __str__(self) -> str:
        shares = ", ".join(f"{name} {share:.1%}" for name, share in sorted(self.parts.items(), key=lambda p: -p[1]))
        return f"{self.fraction:.1%} of the map ({shares})"


def map_coverage(page: Page) -> Coverage:
    """What covers the map of the page as it is now (see ``_COVERAGE``)."""
    found = page.evaluate(_COVERAGE)
    return Coverage(found["fraction"], found["parts"], found["map"])


def label_check(page: Page) -> dict[str, Any]:
    """The map's visible settlement labels (``shown``), the zoom, how many front-line segments are drawn, and every
    overlap a label must not have (``problems``: with another label, another settlement's marker, a front line)."""
    found: dict[str, Any] = page.evaluate(_LABELS)
    return found


def zoom_to(page: Page, zoom: int) -> int:
    """Zoom the page's map to ``zoom`` without animation, once its labels are decluttered; the zoom reached."""
    return int(page.evaluate(_ZOOM_TO, zoom))


def wait_for_front_lines(page: Page, count: int) -> None:
    """Wait until ``count`` front-line layers (/frontline, fetched when shown) hold their line."""
    page.wait_for_function("""(count) => { let drawn = 0;
      __MAP__.eachLayer(l => { if (l.flFront && l.getLayers().length) { drawn += 1; } });
      return drawn >= count; }""".replace("__MAP__", LEAFLET_MAP), arg=count)
