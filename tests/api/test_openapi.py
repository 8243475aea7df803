"""The OpenAPI document tells the truth: parameter types, formats, enums and patterns, and the shape of the
JSON answers, so that generated requests reach real items and generated checks mean something."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db.features import COLLECTIONS
from app.db.models import STATUSES
from app.main import create_app
from app.openapi import as_openapi_30
from app.settings import Settings

# JSON answers without a response schema here: documents whose own standards define them (the landing page,
# conformance, the OpenAPI document, queryables as JSON Schema) and the health check.
UNDESCRIBED = {"/api", "/conformance", "/", "/collections/{collection_id}/queryables", "/healthz"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document as /api serves it (it depends on the code, not on the data)."""
    return as_openapi_30(create_app(Settings(database_url="postgresql+psycopg://unused@/unused")).openapi())


def parameters(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p["schema"] for ops in document["paths"].values() for op in ops.values()
            for p in op.get("parameters", []) if p["name"] == name]


@pytest.mark.parametrize("name", ["date", "from", "to", "start", "end"])
def test_days_are_dates(document: dict[str, Any], name: str) -> None:
    found = parameters(document, name)
    assert found and all(s.get("format") == "date" for s in found), found


def test_instants_are_date_times(document: dict[str, Any]) -> None:
    found = parameters(document, "known_at") + parameters(document, "since")
    assert found and all(s.get("format") == "date-time" for s in found)


def test_every_output_format_is_an_enum(document: dict[str, Any]) -> None:
    found = parameters(document, "f")
    assert len(found) > 10 and all(s.get("enum") for s in found)


def test_status_and_side_lists_have_patterns_that_admit_exactly_them(document: dict[str, Any]) -> None:
    statuses = parameters(document, "status")
    assert statuses and all("pattern" in s for s in statuses)
    pattern = re.compile(statuses[0]["pattern"])
    assert all(pattern.match(s) for s in STATUSES) and pattern.match("claimed,assessed")
    assert not pattern.match("held") and not pattern.match("claimed,")
    sides = parameters(document, "side")
    assert sides and all(re.match(s["pattern"], "UA,RU") and not re.match(s["pattern"], "ua") for s in sides)


def test_collection_ids_are_an_enum_of_the_collections(document: dict[str, Any]) -> None:
    found = parameters(document, "collection_id")
    assert found and all(s.get("enum") == list(COLLECTIONS) for s in found)


def test_integer_parameters_are_bounded(document: dict[str, Any]) -> None:
    integers = [(p["name"], p["schema"]) for ops in document["paths"].values() for op in ops.values()
                for p in op.get("parameters", []) if p["schema"].get("type") == "integer"]
    assert integers and all("minimum" in s and "maximum" in s for _, s in integers), integers


def test_json_answers_have_schemas(document: dict[str, Any]) -> None:
    missing = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            content = op.get("responses", {}).get("200", {}).get("content", {})
            if method == "get" and "application/json" in content and path not in UNDESCRIBED:
                if not content["application/json"].get("schema"):
                    missing.append(path)
    assert missing == []


def test_a_described_answer_matches_its_schema(client: TestClient, document: dict[str, Any]) -> None:
    """The area answer has the members its schema requires (schemathesis checks every answer it makes)."""
    schema = document["components"]["schemas"]["Area"]
    body = client.get("/stats/area", params={"date": "2024-09-01", "source": "example"}).json()
    assert set(schema["required"]) <= set(body) and body["rows"]
    row_schema = document["components"]["schemas"]["AreaRow"]
    assert set(row_schema["required"]) <= set(body["rows"][0])
