"""Coverage Workbench: who, where, what and how in a corpus of news articles."""

from .base.filters import Filter
from .base.versions import workbench_version
from .core.workbench import Workbench
from .ingest.load import Article, Reject
from .resolve.countries import resolve_country as _resolve_country

__version__ = workbench_version()

__all__ = ["Article", "Filter", "Reject", "Workbench", "__version__", "resolve_country"]


def resolve_country(text: str, context: str | None = None, start: int | None = None) -> str | None:
    """ISO 3166-1 alpha-3 code, a region code (``REG:...``) or None for a place name.

    ``context`` is the article text and ``start`` the span's offset in it, so ambiguous
    names ("Georgia", "Paris") are decided by the article's other places.
    """
    return _resolve_country(text, context=context, start=start)
