"""One cached spaCy loader, with a clear message when the pipeline is missing."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from . import config, errors

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language


def load_model(name: str | None = None, *, exclude: tuple[str, ...] = ()) -> Language:
    """Load an installed spaCy pipeline once per (name, exclude).

    ``None`` and the default model's name share one cache entry (loading twice costs
    seconds and ~100 MB)."""
    return _load(name or config.DEFAULT_MODEL, tuple(exclude))


@functools.cache
def _load(name: str, exclude: tuple[str, ...]) -> Language:
    import spacy

    try:
        return spacy.load(name, exclude=list(exclude))
    except OSError as exc:
        if "E050" in str(exc) or "Can't find model" in str(exc):
            raise errors.ModelNotInstalled(
                errors.model_missing(name, config.MODEL_PIP_NAMES.get(name))
            ) from None
        raise


def model_version(nlp: Language) -> str:
    """``lang_name-version`` as recorded on every derived row."""
    meta = nlp.meta
    return f"{meta.get('lang', 'xx')}_{meta.get('name', '?')}-{meta.get('version', '?')}"
