"""The answers of the OGC API routes that a model describes: the collections of OGC API – Features
(`/collections`) and the tilesets and TileJSON of OGC API – Tiles (`/collections/{collection_id}/tiles`), after
the ``Link`` their documents carry.
"""

from __future__ import annotations

from typing import Any

from app.answers.base import Answer


class Link(Answer):
    """A link to a related resource."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class CollectionInfo(Answer):
    """An OGC API – Features collection: its extent, CRSs and links."""

    id: str
    title: str
    description: str | None
    itemType: str
    crs: list[str]
    storageCrs: str
    extent: dict[str, Any]
    links: list[Link]


class Collections(Answer):
    """GET /collections."""

    collections: list[CollectionInfo]
    links: list[Link]


class Tileset(Answer):
    """A vector tileset (OGC API – Tiles): its grid, the tile URL template among its links."""

    title: str
    dataType: str
    crs: str
    tileMatrixSetURI: str
    links: list[Link]


class Tilesets(Answer):
    """GET /collections/{collection_id}/tiles."""

    tilesets: list[Tileset]
    links: list[Link]


class TileJson(Answer):
    """TileJSON 3.0.0."""

    tilejson: str
    tiles: list[str]
    minzoom: int
    maxzoom: int
    bounds: list[float]
    vector_layers: list[dict[str, Any]]
