"""The one filter object every query, chart, panel and report takes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

DEDUP_MODES = ("none", "text")


@dataclass(frozen=True)
class Filter:
    """Which articles count. Empty fields mean "no restriction".

    ``dedup="text"`` counts articles with identical normalised text once (syndicated copies).
    """

    date_from: dt.date | str | None = None
    date_to: dt.date | str | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)
    actors: tuple[str, ...] = field(default_factory=tuple)
    countries: tuple[str, ...] = field(default_factory=tuple)
    themes: tuple[str, ...] = field(default_factory=tuple)
    entity_types: tuple[str, ...] = field(default_factory=tuple)
    text: str | None = None
    tone_min: float | None = None
    tone_max: float | None = None
    dedup: str = "none"
