"""What the tests share: shapes and GeoJSON builders, row builders, reference areas, API checks, tokens, a
migrated and seeded app, live servers, temporary directories and the browser recorder.

A plain module, imported by test modules and conftests alike; fixtures stay in the conftests.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, text

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
    """docs/<name> at 1280×800, only with FRONTLINE_SCREENSHOTS=1 (so a test run never rewrites tracked files)."""
    if os.environ.get("FRONTLINE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name))
