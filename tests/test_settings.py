"""Settings: what the environment may and may not configure."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_production_mode_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTLINE_PRODUCTION", "true")
    monkeypatch.delenv("FRONTLINE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="FRONTLINE_SECRET_KEY is the development default"):
        Settings()
    monkeypatch.setenv("FRONTLINE_SECRET_KEY", "a-real-secret-of-sufficient-length")
    assert Settings().production
