"""Citing a view (issue 16): a permalink pinned to what the data was, and BibTeX and CSL-JSON entries for it.

A view is pinned by `known_at`: the transaction time of the latest write when it was built. History is
append-only, so the pinned link shows the same data after any later correction. The entries name the view,
the series and observation days it shows, the data version, and the day it was retrieved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

PUBLISHER = "Frontline"


@dataclass(frozen=True)
class Shown:
    """One series a view shows, and the day of its observation shown (None: it varies, as on the timeline)."""

    series: str
    title: str
    observed_on: str | None = None


@dataclass(frozen=True)
class Citation:
    """What a view is, and where and as of when to see it again."""

    title: str
    permalink: str
    known_at: str | None
    version: int
    shown: Sequence[Shown]
    attributions: Sequence[str]

    @property
    def key(self) -> str:
        """A BibTeX key: the same for the same pinned view."""
        return "frontline-" + hashlib.sha256(self.permalink.encode()).hexdigest()[:10]

    @property
    def note(self) -> str:
        """The series and days shown, the pin and the sources, in one sentence each."""
        series = "; ".join(f"{s.title} ({s.series}{', observed ' + s.observed_on if s.observed_on else ''})"
                           for s in self.shown)
        return (f"Series: {series or 'none'}. Data as known at {self.known_at or 'the time of retrieval'} (data "
                f"version {self.version}). Sources: {'; '.join(self.attributions)}. Claims as their sources "
                "state them; none is independently verified.")


def bibtex(citation: Citation, accessed: date) -> str:
    """A @misc entry (biblatex's urldate; BibTeX's note keeps the pin and the sources)."""
    issued = (citation.known_at or accessed.isoformat())[:10]
    fields = [("title", citation.title), ("author", "{" + PUBLISHER + "}"), ("year", issued[:4]),
              ("date", issued), ("howpublished", f"\\url{{{citation.permalink}}}"), ("url", citation.permalink),
              ("urldate", accessed.isoformat()), ("note", citation.note)]
    body = ",\n".join(f"  {name} = {{{_escaped(value, name)}}}" for name, value in fields)
    return f"@misc{{{citation.key},\n{body}\n}}"


def _escaped(value: str, name: str) -> str:
    if name in ("url", "howpublished", "author"):
        return value
    for char in ("\\", "{", "}", "%", "&", "#", "_", "$"):
        value = value.replace(char, "\\" + char)
    return value


def csl_json(citation: Citation, accessed: date) -> dict[str, Any]:
    """A CSL-JSON item (type dataset), as Zotero and citeproc read it."""
    issued = citation.known_at[:10] if citation.known_at else accessed.isoformat()
    return {
        "id": citation.key, "type": "dataset", "title": citation.title, "publisher": PUBLISHER,
        "author": [{"literal": PUBLISHER}], "URL": citation.permalink, "version": str(citation.version),
        "issued": {"date-parts": [[int(n) for n in issued.split("-")]]},
        "accessed": {"date-parts": [[accessed.year, accessed.month, accessed.day]]}, "note": citation.note,
    }
