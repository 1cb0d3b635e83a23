"""A query plan: what to compute, independent of where it is computed.

``workbench.query.api`` turns each public call into one :class:`Plan` (the query, its kind(s),
its filter and options), a planner picks the engine that runs it (the base tables,
``query_base``, or the pre-aggregates, ``query_agg``), and both engines build their SQL
from the same plan, so what a frame says about itself (``meta``, the filter, the unit) is
stamped once, whichever engine answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..base.filters import Filter

#: The public queries, each one plan.
QUERIES = ("top", "coverage", "cooccurrence", "compare", "tone", "quotes", "articles",
           "evidence", "kwic")  # fmt: skip
#: Where a plan can run.
ENGINES = ("base", "aggregates")


@dataclass(frozen=True)
class Plan:
    """What one query computes: ``query`` over ``kinds`` (0-2 of them) for ``filter`` with
    ``options`` (n, freq, values, …); ``meta`` is what the result says about itself besides
    the filter, the unit, the SQL and the engine (``kind``, ``freq``, ``counts``, …);
    ``labels`` the (kind, column) pairs whose country codes are named after the SQL."""

    query: str
    filter: Filter
    kinds: tuple[str | None, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    labels: tuple[tuple[str | None, str], ...] = ()

    @property
    def kind(self) -> str | None:
        return self.kinds[0] if self.kinds else None

    def __getitem__(self, option: str) -> Any:
        return self.options[option]
