"""Property-based tests of the whole API from its own OpenAPI document: no 5xx, responses match their schemas.

A bounded number of examples per operation keeps `make test` quick; `make fuzz` runs many more
(FRONTLINE_FUZZ_EXAMPLES). Requests carry a write token, so the write routes' validation is exercised too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from app.settings import Settings
from tests.helpers import seeded_app

EXAMPLES = int(os.environ.get("FRONTLINE_FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def fuzzed(database_factory) -> Iterator[tuple[object, str]]:  # type: ignore[no-untyped-def]
    """The app over a committed, seeded database of its own, and a write token for it."""
    stack = seeded_app(Settings(database_url=database_factory(), watch_writes=False), writer="fuzzer")
    assert stack.token
    yield stack.app, stack.token
    stack.engine.dispose()


def test_no_server_error_and_responses_match_the_schema(fuzzed) -> None:  # type: ignore[no-untyped-def]
    app, token = fuzzed
    schema = schemathesis.openapi.from_asgi("/api", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20, "the OpenAPI document lost its operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                   checks=[not_a_server_error, response_schema_conformance])

        check()
