"""OGC API – Features Part 3 (Filtering): CQL2 filters compiled to SQLAlchemy expressions with bound values.

cql2 (the Python binding of cql2-rs, which follows CQL2 1.0) reads a filter in CQL2 text or CQL2 JSON and
validates it against the standard's schema; this module walks its CQL2 JSON and builds SQLAlchemy
expressions over a collection's **queryables**: its feature properties with a plain type, its
``geometry``, and (for tables with a validity range) ``valid``. Every literal becomes a bound parameter; no
part of a filter is ever written into SQL text. Geometry literals are in ``filter-crs`` (CRS84 by default),
transformed by PostGIS.

Supported: AND, OR, NOT; =, <>, <, <=, >, >=; LIKE, BETWEEN, IN, IS NULL; CASEI; + - * /; S_INTERSECTS,
S_WITHIN, S_CONTAINS, S_DISJOINT, S_EQUALS, S_TOUCHES, S_OVERLAPS, S_CROSSES (with GeoJSON, WKT or BBOX
literals); T_INTERSECTS, T_DISJOINT, T_BEFORE, T_AFTER, T_DURING, T_CONTAINS, T_EQUALS on days (a timestamp
is taken as its day, as ``datetime`` does). Anything else is a 400 that names it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import cql2
import orjson
import psycopg
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Table,
    and_,
    bindparam,
    cast,
    false,
    func,
    not_,
    null,
    or_,
    true,
)
from sqlalchemy.dialects.postgresql import DATERANGE
from sqlalchemy.exc import DataError, InternalError, ProgrammingError

from app.crs import STORAGE, Crs
from app.errors import InvalidParameter

LANGUAGES = ("cql2-text", "cql2-json")
LITERALS = (datetime, date, bool, int, float, str)
JSON_TYPES = {Boolean: ("boolean", None), Integer: ("integer", None), Numeric: ("number", None),
              Date: ("string", "date"), DateTime: ("string", "date-time"), String: ("string", None)}


@dataclass(frozen=True)
class Queryable:
    """A name a filter may use: its SQL expression and its JSON Schema type (``geometry`` and ``interval``
    are ours)."""

    name: str
    expression: ColumnElement[Any]
    type: str
    format: str | None = None
    enum: tuple[str, ...] | None = None


def queryables(table: Table, properties: dict[str, ColumnElement[Any]], temporal: str | None,
               enums: dict[str, tuple[str, ...]]) -> dict[str, Queryable]:
    """The queryables of a collection: properties of a plain type, ``id``, ``geometry`` and ``valid``."""
    found = {"id": Queryable("id", table.c.id, "integer")}
    for name, expression in properties.items():
        kind = next((v for k, v in JSON_TYPES.items() if isinstance(expression.type, k)), None)
        if kind is not None and name != "superseded_at":  # listings hold current versions only
            found[name] = Queryable(name, expression, kind[0], kind[1], enums.get(name))
    found["geometry"] = Queryable("geometry", table.c.geom, "geometry")
    if temporal in ("valid", "valid-or-always"):
        found["valid"] = Queryable("valid", table.c.valid, "interval")
    return found


def parse(text: str, language: str) -> Any:
    """A filter as validated CQL2 JSON (both languages are read by cql2, the reference implementation's
    Python binding), or a 400 that says where it stopped making sense."""
    if language not in LANGUAGES:
        raise InvalidParameter(f"filter-lang: '{language}' is not one of {', '.join(LANGUAGES)}",
                               parameter="filter-lang")
    try:
        expression = cql2.parse_json(text) if language == "cql2-json" else cql2.parse_text(text)
        expression.validate()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as error:
        message = str(error)
        at = re.search(r"-->\s*(\d+):(\d+)", message)
        where = {"line": int(at.group(1)), "column": int(at.group(2))} if at else {}
        reasons = [line.strip(" =") for line in message.splitlines() if line.strip().startswith("= ")]
        summary = reasons[0] if reasons else message.strip().splitlines()[0]
        raise InvalidParameter(f"filter: not valid {language}"
                               f"{f' at line {at.group(1)}, column {at.group(2)}' if at else ''}: {summary}",
                               parameter="filter", **where) from None
    return expression.to_json()


SPATIAL = {"s_intersects": "ST_Intersects", "s_disjoint": "ST_Disjoint", "s_contains": "ST_Contains",
           "s_within": "ST_Within", "s_touches": "ST_Touches", "s_crosses": "ST_Crosses",
           "s_overlaps": "ST_Overlaps", "s_equals": "ST_Equals"}
TEMPORAL: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "t_intersects": lambda a, b: a.op("&&")(b), "t_disjoint": lambda a, b: not_(a.op("&&")(b)),
    "t_before": lambda a, b: a.op("<<")(b), "t_after": lambda a, b: a.op(">>")(b),
    "t_during": lambda a, b: a.op("<@")(b), "t_contains": lambda a, b: a.op("@>")(b),
    "t_equals": lambda a, b: a == b}
COMPARE: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
ARITHMETIC: dict[str, Callable[[Any, Any], ColumnElement[Any]]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


class Compiler:
    """Turns a filter (CQL2 JSON) into a SQLAlchemy condition over ``fields`` (the collection's queryables)."""

    def __init__(self, fields: dict[str, Queryable], collection: str, crs: Crs = STORAGE) -> None:
        self.fields, self.collection, self.crs = fields, collection, crs
        self.count = 0

    def condition(self, node: Any) -> ColumnElement[bool]:
        """The SQL condition of a filter node."""
        if isinstance(node, bool):
            return true() if node else false()
        op, args = self._op(node)
        if op in ("and", "or"):
            return (and_ if op == "and" else or_)(*(self.condition(a) for a in args))
        if op == "not":
            return not_(self.condition(args[0]))
        if op in COMPARE:
            lhs, rhs = self._pair(args[0], args[1])
            return COMPARE[op](lhs, rhs)
        if op == "like":
            lhs = self.scalar(args[0])
            return lhs.like(self.scalar(args[1], lhs))
        if op == "between":
            lhs = self.scalar(args[0])
            return lhs.between(self.scalar(args[1], lhs), self.scalar(args[2], lhs))
        if op == "in":
            lhs = self.scalar(args[0])
            return lhs.in_([self.scalar(v, lhs) for v in args[1]])
        if op == "isNull":
            return self.scalar(args[0]).is_(None)
        if op in SPATIAL:
            return getattr(func, SPATIAL[op])(self.geometry(args[0]), self.geometry(args[1]))
        if op in TEMPORAL:
            return TEMPORAL[op](cast(self.days(args[0]), DATERANGE), cast(self.days(args[1]), DATERANGE))
        supported = ["and", "or", "not", *COMPARE, "like", "between", "in", "isNull", *SPATIAL, *TEMPORAL]
        raise InvalidParameter(f"filter: the operator '{op}' is not supported; these are: {', '.join(supported)}",
                               parameter="filter")

    def _op(self, node: Any) -> tuple[str, list[Any]]:
        if not isinstance(node, dict) or "op" not in node:
            raise InvalidParameter(f"filter: {orjson.dumps(node).decode()[:80]} is not a condition",
                                   parameter="filter")
        return node["op"], list(node.get("args", []))

    def _pair(self, a: Any, b: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        """Two operands; a literal takes the SQL type of the other (so '2024-09-01' compares with a date)."""
        if _is_literal(a) and not _is_literal(b):
            rhs = self.scalar(b)
            return self.scalar(a, rhs), rhs
        lhs = self.scalar(a)
        return lhs, self.scalar(b, lhs)

    # -- operands -------------------------------------------------------------------------------------------

    def bound(self, value: Any, type_: Any = None) -> ColumnElement[Any]:
        """A literal as a bound parameter."""
        self.count += 1
        if isinstance(type_, Integer) and isinstance(value, float) and value.is_integer():
            value = int(value)  # CQL2 JSON numbers arrive as floats
        return bindparam(f"cql_{self.count}", value, type_=type_)

    def field(self, name: str) -> Queryable:
        """The queryable a property name names."""
        try:
            return self.fields[name]
        except KeyError:
            raise InvalidParameter(f"filter: '{name}' is not a queryable of {self.collection}; see "
                                   f"/collections/{self.collection}/queryables", parameter="filter") from None

    def scalar(self, node: Any, partner: ColumnElement[Any] | None = None) -> ColumnElement[Any]:
        """A property, CASEI of one, arithmetic, or a literal (typed like ``partner``), as SQL."""
        if isinstance(node, dict) and "property" in node:
            return self.field(node["property"]).expression
        if isinstance(node, dict) and "date" in node:
            return self.bound(_instant(node["date"]).date(), Date)
        if isinstance(node, dict) and "timestamp" in node:
            return self.bound(_instant(node["timestamp"]), DateTime(timezone=True))
        if isinstance(node, dict) and node.get("op") == "casei":
            return func.lower(self.scalar(node["args"][0], partner))
        if isinstance(node, dict) and node.get("op") in ARITHMETIC:
            lhs, rhs = self._pair(*node["args"])
            return ARITHMETIC[node["op"]](lhs, rhs)
        if _is_literal(node):
            return self.bound(node, None if partner is None else partner.type)
        if node is None:
            return null()
        raise InvalidParameter(f"filter: {orjson.dumps(node).decode()[:80]} cannot be compared here",
                               parameter="filter")

    def geometry(self, node: Any) -> ColumnElement[Any]:
        """A geometry property, or a literal (GeoJSON or a bbox) in ``filter-crs``, transformed to CRS84."""
        if isinstance(node, dict) and "property" in node:
            queryable = self.field(node["property"])
            if queryable.type != "geometry":
                raise InvalidParameter(f"filter: '{queryable.name}' is not a geometry", parameter="filter")
            return queryable.expression
        if isinstance(node, dict) and "bbox" in node:
            box = node["bbox"]
            minx, miny, maxx, maxy = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
            node = {"type": "Polygon", "coordinates": [[[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy],
                                                        [minx, miny]]]}
        if isinstance(node, dict) and "coordinates" in node or isinstance(node, dict) and "geometries" in node:
            shape = func.ST_SetSRID(func.ST_GeomFromGeoJSON(self.bound(json.dumps(node))), self.crs.srid)
            if self.crs.northing_first:
                shape = func.ST_FlipCoordinates(shape)
            return shape if self.crs.srid == 4326 else func.ST_Transform(shape, 4326)
        raise InvalidParameter(f"filter: {orjson.dumps(node).decode()[:80]} is not a geometry", parameter="filter")

    def days(self, node: Any) -> ColumnElement[Any]:
        """A temporal operand as a closed range of days (an instant is its day, as ``datetime`` takes it)."""
        if isinstance(node, dict) and "property" in node:
            queryable = self.field(node["property"])
            if queryable.type == "interval":
                return queryable.expression
            if queryable.format in ("date", "date-time"):
                day = cast(queryable.expression, Date)
                return func.daterange(day, day, "[]")
            raise InvalidParameter(f"filter: '{queryable.name}' is not a date or an interval", parameter="filter")
        if isinstance(node, dict) and "interval" in node:
            start, end = (self._day(v) for v in node["interval"])
            return func.daterange(start, end, "[]")
        if isinstance(node, dict) and ("date" in node or "timestamp" in node):
            instant = self._day(node.get("date") or node.get("timestamp"))
            return func.daterange(instant, instant, "[]")
        raise InvalidParameter(f"filter: {orjson.dumps(node).decode()[:80]} is not a time", parameter="filter")

    def _day(self, value: Any) -> ColumnElement[Any]:
        if isinstance(value, dict):  # {"date": ...} or {"timestamp": ...} inside an interval
            value = value.get("date") or value.get("timestamp")
        if value in ("..", None):  # an open end
            return cast(null(), Date)
        if isinstance(value, dict) and "property" in value:
            return cast(self.scalar(value), Date)
        return self.bound(_instant(str(value)).date(), Date)


def _is_literal(node: Any) -> bool:
    return isinstance(node, str | int | float | bool)


def _instant(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"filter: '{text}' is not a date or an RFC 3339 timestamp",
                               parameter="filter") from None
    return parsed


@contextmanager
def evaluated(text: str | None) -> Iterator[None]:
    """Run a query that carries a filter: what PostgreSQL refuses in it (a value of the wrong type for its
    property, a geometry PostGIS cannot read) is the client's error, a 400 naming the filter."""
    try:
        yield
    except (DataError, ProgrammingError, InternalError, psycopg.DataError, psycopg.ProgrammingError,
            psycopg.InternalError) as error:  # SQLAlchemy's, or psycopg's own from a server-side cursor
        if text is None:
            raise
        cause = getattr(error, "orig", error)
        reason = getattr(getattr(cause, "diag", None), "message_primary", None) or str(cause)
        raise InvalidParameter(f"filter: the database cannot evaluate {text}: {reason}", parameter="filter") from None


def sort_order(value: str, fields: dict[str, Queryable], collection: str) -> list[ColumnElement[Any]]:
    """``sortby``: queryables, comma-separated, each with an optional ``+`` (ascending) or ``-`` (descending)."""
    order: list[ColumnElement[Any]] = []
    for item in (v.strip() for v in value.split(",")):
        name = item.lstrip("+-").strip()
        queryable = fields.get(name)
        if queryable is None or queryable.type in ("geometry", "interval"):
            raise InvalidParameter(f"sortby: '{name}' is not a sortable queryable of {collection}",
                                   parameter="sortby")
        order.append(queryable.expression.desc() if item.startswith("-") else queryable.expression.asc())
    return order

