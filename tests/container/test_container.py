"""The container files, checked without Docker (our machines have none): their structure, and that the image's
entrypoint runs the same prestart as `make run` (migrate, then seed) before the command."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from app.settings import PROJECT_ROOT

ROOT = PROJECT_ROOT


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_dockerfile_is_multi_stage_with_dependencies_before_the_code() -> None:
    build, final = stages()[0], stages()[-1]
    assert len(stages()) >= 2 and build[0][1].endswith("AS build")
    copies = [args for word, args in build if word == "COPY"]
    dependency_copy = next(i for i, c in enumerate(copies) if "pyproject.toml" in c)
    code_copy = next(i for i, c in enumerate(copies) if c.startswith("app "))
    assert dependency_copy < code_copy, "dependencies must be installed in a layer before the code is copied"
    runs = [i for i, (word, args) in enumerate(build) if word == "RUN" and "pip install" in args]
    assert len(runs) >= 2, "one install for the dependencies, one for the code"
    assert any(word == "COPY" and args.startswith("--from=build") for word, args in final)


def test_final_image_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    final = stages()[-1]
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = [args for word, args in final if word == "HEALTHCHECK"]
    assert health and "/healthz" in health[0]
    entrypoint = [args for word, args in final if word == "ENTRYPOINT"]
    assert entrypoint and "docker-entrypoint.sh" in entrypoint[0]


def test_every_file_the_image_copies_exists_and_is_not_docker_ignored() -> None:
    ignored = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip()]
    for word, args in instructions():
        if word != "COPY" or args.startswith("--from"):
            continue
        for source in args.split()[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"{source} is in .dockerignore"


def test_the_package_ships_its_data_files() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["app"]
    for folder in ("profiles", "static", "templates"):
        for path in (ROOT / "app" / folder).iterdir():
            relative = path.relative_to(ROOT / "app").as_posix()
            assert any(fnmatch.fnmatch(relative, g) for g in globs), f"app/{relative} would be missing from the image"


def test_compose_runs_postgis_and_the_app_once_the_database_is_healthy() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    db, app = compose["services"]["db"], compose["services"]["app"]
    assert db["image"].startswith("postgis/postgis:") and "healthcheck" in db
    assert app["build"] == "." and app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "@db:5432/" in app["environment"]["DATABASE_URL"]
    assert all(port.startswith("127.0.0.1:") for port in app["ports"]), "publish on loopback only"


def test_entrypoint_runs_the_same_prestart_as_make_run(database_factory) -> None:  # type: ignore[no-untyped-def]
    run_recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert run_recipe and "frontline prestart" in run_recipe.group(1)
    assert "frontline prestart" in (ROOT / "docker-entrypoint.sh").read_text()
    url = database_factory()
    env = {**os.environ, "DATABASE_URL": url, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["sh", str(ROOT / "docker-entrypoint.sh"), "echo", "then the command runs"],
                            env=env, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("then the command runs")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert conn.execute(text("SELECT count(*) FROM places WHERE key = 'sudzha'")).scalar_one() == 1
    engine.dispose()
