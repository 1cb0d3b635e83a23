"""One cached spaCy loader, with a clear message when the pipeline is missing, and the
POS-free lookup lemmatizer of the extraction pipeline."""

from __future__ import annotations

import functools
from importlib import metadata
from typing import TYPE_CHECKING, Any

from ..base import config, errors

if TYPE_CHECKING:  # pragma: no cover
    # Heavy: spaCy (about 1.7 s), only when a pipeline is built.
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

#: The component name of :class:`LookupLemmatizer` in a pipeline.
LOOKUP_LEMMATIZER = "lookup_lemmatizer"
#: The package that holds the lemma lookup tables (pinned in pyproject.toml).
LOOKUPS_PACKAGE = "spacy-lookups-data"


def load_model(name: str | None = None, *, exclude: tuple[str, ...] = ()) -> Language:
    """Load an installed spaCy pipeline once per (name, exclude).

    ``None`` and the default model's name share one cache entry (loading twice costs
    seconds and ~100 MB)."""
    return _load(name or config.DEFAULT_MODEL, tuple(exclude))


#: The pipelines ``_load`` made in this process, oldest first.
_LOADED: list[Language] = []


@functools.cache
def _load(name: str, exclude: tuple[str, ...]) -> Language:
    # Heavy (about a second): only when a pipeline is built.
    import spacy

    try:
        nlp = spacy.load(name, exclude=list(exclude))
    except OSError as exc:
        if "E050" in str(exc) or "Can't find model" in str(exc):
            raise errors.ModelNotInstalled(
                errors.model_missing(name, config.MODEL_PIP_NAMES.get(name))
            ) from None
        raise
    _LOADED.append(nlp)
    return nlp


def loaded_vocab(lang: str) -> Vocab | None:
    """The vocabulary of a pipeline of ``lang`` this process has loaded, else None.

    Why: Docs rebuilt from stored tokens (the themes stage) then find the lexeme of every
    word that extraction saw, instead of computing its lexical attributes again."""
    for nlp in _LOADED:
        if nlp.lang == lang:
            return nlp.vocab
    return None


def model_version(nlp: Language) -> str:
    """``lang_name-version`` as recorded on every derived row."""
    meta = nlp.meta
    return f"{meta.get('lang', 'xx')}_{meta.get('name', '?')}-{meta.get('version', '?')}"


def lookups_version() -> str:
    try:
        return metadata.version(LOOKUPS_PACKAGE)
    except metadata.PackageNotFoundError:
        return "missing"


@functools.cache
def _lemma_table(lang: str):  # noqa: ANN202 - spacy.lookups.Table
    # Heavy: spaCy (about 1.7 s), only when a pipeline is built.
    from spacy.lookups import load_lookups

    try:
        return load_lookups(lang, ["lemma_lookup"]).get_table("lemma_lookup")
    except (ValueError, KeyError):
        raise errors.ModelNotInstalled(
            f"no lemma lookup table for language {lang!r}: the extraction pipeline needs "
            f"{LOOKUPS_PACKAGE} (pip install {LOOKUPS_PACKAGE}==1.0.5)."
        ) from None


class LookupLemmatizer:
    """Lemma = the lookup table's entry for the LOWER-CASED word (else the lower-cased word).

    Why: the theme stage is the only reader of lemmas, and it compares them lower-cased; a
    table lookup needs no POS tags, so the tagger, its tok2vec and the attribute ruler
    (about half of the extraction time with the rule lemmatizer) need not run. Lower-casing
    first keeps sentence-initial and headline words ("Sanctions") lemmatised."""

    def __init__(self, lang: str) -> None:
        self.table = _lemma_table(lang)
        self._cache: dict[int, int] = {}  # orth id -> lemma id

    def __call__(self, doc: Doc) -> Doc:
        cache = self._cache
        if len(cache) > 2_000_000:  # bounded: new words keep arriving in a big corpus
            cache.clear()
        strings = doc.vocab.strings
        get = self.table.get
        for tok in doc:
            lem = cache.get(tok.orth)
            if lem is None:
                low = tok.lower_
                lem = cache[tok.orth] = strings.add(get(low, low))
            tok.lemma = lem
        return doc


def _register() -> None:
    # Heavy: spaCy (about 1.7 s), only when a pipeline is built.
    from spacy.language import Language

    if not Language.has_factory(LOOKUP_LEMMATIZER):
        Language.factory(LOOKUP_LEMMATIZER, func=_make_lookup_lemmatizer)


def _make_lookup_lemmatizer(nlp: Any, name: str) -> LookupLemmatizer:
    # ``nlp: Any``, not ``Language``: spaCy's config validation resolves the factory's
    # annotations, and ``Language`` is imported only for type checking here.
    return LookupLemmatizer(nlp.lang)


def add_lookup_lemmatizer(nlp: Language) -> None:
    """Append the lookup lemmatizer to ``nlp`` (once)."""
    _register()
    if LOOKUP_LEMMATIZER not in nlp.pipe_names:
        nlp.add_pipe(LOOKUP_LEMMATIZER, last=True)


def components(nlp: Language) -> list[str]:
    """The enabled components as recorded in ``pipelines``; the lookup lemmatizer carries
    its table's package version (other lemmas are other rows, so a new pipeline id)."""
    return [
        f"{n}({LOOKUPS_PACKAGE}=={lookups_version()})" if n == LOOKUP_LEMMATIZER else n
        for n in nlp.pipe_names
    ]
