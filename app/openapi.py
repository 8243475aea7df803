"""The OpenAPI document as OpenAPI 3.0, the version OGC API – Features (conformance class oas30) names.

FastAPI writes OpenAPI 3.1; the differences that matter to 3.0 clients are nullable types, `examples` lists in
schemas, `const`, and numeric `exclusiveMinimum`/`exclusiveMaximum`. This rewrites those, nothing else.
"""

from __future__ import annotations

import copy
from typing import Any

NULL = {"type": "null"}


def _schema_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_schema_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _schema_30(value) for key, value in node.items()}
    for combinator in ("anyOf", "oneOf"):
        options = node.get(combinator)
        if isinstance(options, list) and NULL in options:
            rest = [o for o in options if o != NULL]
            del node[combinator]
            if len(rest) == 1:
                node.update(rest[0])
            else:
                node[combinator] = rest
            node["nullable"] = True
    if isinstance(node.get("examples"), list) and "type" in node:
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), int | float) and not isinstance(node.get(bound), bool):
            node[plain] = node.pop(bound)
            node[bound] = True
    return node


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of a FastAPI OpenAPI 3.1 document, rewritten for OpenAPI 3.0 clients."""
    converted = _schema_30(copy.deepcopy(document))
    converted["openapi"] = "3.0.3"
    return converted
