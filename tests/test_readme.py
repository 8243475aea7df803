"""The README documents every setting and environment variable the code reads."""

from __future__ import annotations

import re

from pydantic import AliasChoices

from app.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text()
CONFIG_TABLE = README[README.index("## Configuration"):].split("\n## ", 1)[0]


def test_every_setting_is_in_the_configuration_table() -> None:
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias  # DATABASE_URL, DATABASE_READ_URL: the names other tools use
        variable = str(alias.choices[0]) if isinstance(alias, AliasChoices) else f"FRONTLINE_{name.upper()}"
        assert f"`{variable}`" in CONFIG_TABLE, f"{variable} ({field.description}) is not documented"


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    read = set()
    for folder in ("app", "tests", "bench", "notebooks"):
        for path in (PROJECT_ROOT / folder).rglob("*.py*"):
            if path.suffix in (".py", ".ipynb"):
                read |= set(re.findall(r"environ(?:\.get)?\(\s*\\?[\"']([A-Z_]+)", path.read_text()))
                read |= set(re.findall(r"environ\[\\?[\"']([A-Z_]+)", path.read_text()))
    read -= {"PATH", "MEMORY_BODY", "CI"}  # the shell's, and the benchmark's private hand-over to its ASGI app
    assert read, "found no environment variable at all: the pattern is wrong"
    missing = sorted(v for v in read if f"`{v}`" not in CONFIG_TABLE)
    assert not missing, f"not in the README's configuration table: {missing}"
