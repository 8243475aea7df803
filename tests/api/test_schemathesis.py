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

from app.auth import create_token
from app.db.engine import make_engine
from app.main import create_app
from app.services.migrate import upgrade
from app.services.seed import seed
from app.settings import Settings

EXAMPLES = int(os.environ.get("FRONTLINE_FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def fuzzed(database_factory) -> Iterator[tuple[object, str]]:  # type: ignore[no-untyped-def]
    """The app over a committed, seeded database of its own, and a write token for it."""
    settings = Settings(database_url=database_factory(), watch_writes=False)
    upgrade(settings)
    engine = make_engine(settings)
    with engine.begin() as conn:
        seed(conn, settings.geodata_dir)
        token = create_token(conn, settings.secret_key, "fuzzer", "write")
    yield create_app(settings, engine), token
    engine.dispose()


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
