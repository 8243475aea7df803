"""The root of every answer model and the ``responses`` a route declares with it: ``Answer`` allows extra members
(an answer may grow a column without breaking a client), and ``answer(model)`` is what a route passes as
``responses=``, its 200 as that model in JSON and, when the route serves ``f=csv``, as CSV.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from app.formats import CSV


class Answer(BaseModel):
    """A JSON answer: the members listed, and possibly more."""

    model_config = ConfigDict(extra="allow")


def answer(model: type[BaseModel], csv: bool = True) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route whose 200 is ``model`` as JSON (and CSV with ``f=csv``)."""
    return {200: {"model": model, **({"content": {CSV.split(";")[0]: {}}} if csv else {})}}
