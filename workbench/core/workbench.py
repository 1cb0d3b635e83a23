"""The central object: one ``Workbench`` over one DuckDB file, with verb-named methods."""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..annotate import quotes, review, search, sources, stages, stories, themes, tone
from ..base import config, errors, runs, store
from ..ingest import load, load_web
from ..ingest import writer as ingest
from ..ingest.load import Limits
from ..ingest.writer import IngestResult
from ..nlp import extract
from ..query import aggregates, kinds
from ..query import api as query
from ..resolve import stage as resolve


def _along_extraction(con: duckdb.DuckDBPyConnection) -> dict[str, stages.Along]:
    """The stages ``analyze`` computes during extraction, on each chunk's new sentences in
    memory (``stages.Along``): themes (the remembered taxonomy) and tone. None when there
    is nothing to extract (then no tagger is compiled for nothing)."""
    (todo,) = con.execute(
        "SELECT count(*) FROM articles WHERE extracted_pipeline IS NULL"
    ).fetchone()
    if not todo:
        return {}
    return {a.stage.name: a for a in (themes.along(con), tone.along(con))}


def _query_method(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A ``Workbench`` method running the query function ``fn`` on the workbench's
    connection, with ``fn``'s own signature (less ``con``) and docstring."""

    @functools.wraps(fn)
    def method(self: Workbench, *args: Any, **kw: Any) -> Any:
        return fn(self.con, *args, **kw)

    params = list(inspect.signature(fn).parameters.values())[1:]
    me = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__signature__ = inspect.signature(fn).replace(parameters=[me, *params])  # type: ignore[attr-defined]
    return method


class Workbench:
    """A news-coverage database.

    >>> wb = Workbench("data/workbench.duckdb")          # doctest: +SKIP
    >>> wb.ingest(["data/sample"]); wb.summary()          # doctest: +SKIP

    DuckDB allows one writing process per file; open with ``read_only=True`` to read while
    no writer holds it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        read_only: bool = False,
        model: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else config.DEFAULT_DB
        self.read_only = read_only
        self.model_name = model or config.DEFAULT_MODEL
        #: stages computed during this ``analyze()``'s extraction, by name (``_along_extraction``)
        self._along: dict[str, stages.Along] = {}
        self._con: duckdb.DuckDBPyConnection | None = None

    # ------------------------------------------------------------------ connection
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if not self.read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            con = store.connect(str(self.path), read_only=self.read_only)
            try:
                self._check_schema(con)
            except BaseException:
                con.close()
                raise
            self._con = con
        return self._con

    def _check_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        """A workbench database of a version we read (migrated when writable); the
        damaged and foreign files are refused here, before anything is written."""
        try:
            if self.read_only:
                store.refuse_foreign(con, str(self.path))
                found = store.current_version(con)
                if found > store.SCHEMA_VERSION:
                    raise errors.SchemaTooNew(
                        errors.schema_too_new(str(self.path), found, store.SCHEMA_VERSION)
                    )
            else:
                store.migrate(con, str(self.path))
        except duckdb.IOException as exc:  # a block of the catalog failed its checksum
            raise errors.DatabaseDamaged(
                errors.db_damaged(str(self.path), str(exc), not_duckdb=False)
            ) from None

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"Workbench({str(self.path)!r}, {mode})"

    # ------------------------------------------------------------------ foundation
    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run SQL with bound parameters (``?`` or ``$name``) and return a DataFrame."""
        return self.con.execute(query, params or []).df()

    def ingest(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        format: str = "auto",
        text: str | None = None,
        date: str | None = None,
        title: str | None = None,
        source: str | None = None,
        url: str | None = None,
        source_name: str | None = None,
        allow_undated: bool = False,
        max_file_bytes: int = config.MAX_FILE_BYTES,
        max_article_chars: int = config.MAX_ARTICLE_CHARS,
        progress: bool = True,
        limit: int | None = None,
        rescan: bool = False,
        workers: int = 1,
        min_chars: int = 200,
        language: str | Sequence[str] = "en",
        date_fallback: bool = False,
        keep_html: bool = False,
        date_format: str | Sequence[str] = (),
        dayfirst: bool | None = None,
    ) -> IngestResult:
        """Load files, folders or globs; every input is stored, linked as a duplicate, or
        rejected with a reason. Column options name the fields of CSV/JSON/Parquet inputs;
        the columns used are in ``result.columns_used`` (and ``runs.options``).
        ``date_format``: strptime pattern(s) tried first; ``dayfirst`` reads numeric dates
        such as ``9/6/17`` day first (True) or month first (False; US).
        Files unchanged since an earlier run (path, size, mtime, options) are not parsed
        again; ``rescan=True`` reads every file.

        Web pages (``html``, ``warc``): ``workers`` extraction processes; main text shorter
        than ``min_chars`` is rejected; ``language`` the ISO code(s) to keep (``"any"``
        keeps all); ``date_fallback`` dates a page that states none by its WARC-Date or file
        time (noted in ``decode_note``); ``keep_html`` stores the raw page in ``pages_html``."""

        if format not in load.FORMATS:
            raise errors.BadOption(errors.unknown_option("format", format, ", ".join(load.FORMATS)))
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        limits = _limits(max_file_bytes, max_article_chars, allow_undated, date_format, dayfirst)
        columns = {"text": text, "date": date, "title": title, "source": source, "url": url}
        web = _web_options(min_chars, language, date_fallback, keep_html, workers)
        result = ingest.ingest(
            self.con,
            list(paths),
            format=format,
            columns=columns,
            source_name=source_name,
            limits=limits,
            progress=progress,
            limit=limit,
            rescan=rescan,
            web=web,
        )

        result.source_fields = sources.fill_from_articles(self.con, result.run_id)
        return result

    def column_choices(self) -> pd.DataFrame:
        """Which input column fed each article field, per ingest run, with the warnings
        printed then (``runs.options.columns_used``)."""

        rows = []
        for run_id, options in self.con.execute(
            "SELECT run_id, options FROM runs WHERE kind = 'ingest' ORDER BY run_id"
        ).fetchall():
            for c in json.loads(options or "{}").get("columns_used", []):
                rows.append(
                    {"run_id": run_id, "format": c["format"], "records": c["rows"]}
                    | {f: c["columns"].get(f) for f in ("text", "date", "title", "source", "url")}
                    | {"warnings": "; ".join(c["warnings"])}
                )
        return pd.DataFrame(rows)

    # -- outlet metadata (workbench.annotate.sources) --------------------------------------------
    def load_sources(self, path: str | os.PathLike[str]) -> int:
        """Outlet attributes from a CSV (``source`` column + any) or YAML file."""

        return sources.load_file(self.con, path)

    def sources(self) -> pd.DataFrame:
        """One row per outlet with its attributes (country, type, partisanship, …)."""

        return sources.table(self.con)

    def sources_where(self, **attrs: Any) -> tuple[str, ...]:
        """Outlets with these attribute values, for ``Filter(sources=...)``."""

        return sources.where(self.con, **attrs)

    def top_by_source(
        self, attribute: str, kind: str = "actor", n: int | None = 10, filter: Any = None
    ) -> pd.DataFrame:
        """``top(kind)`` within each group of outlets sharing an attribute value ("compare
        across partisanship"): columns ``attribute`` plus those of ``top``; ``share`` is of
        the group's filtered articles (``top(..., by=attribute)``)."""

        return query.top(self.con, kind, n, filter, by=attribute)

    def summary(self) -> dict[str, Any]:
        """Articles, date range, sources, rejects by reason and per-stage row counts."""

        s = ingest.summary(self.con)
        user = store.get_meta(self.con, "themes.user_files")
        s["taxonomy"] = {
            "hash": store.get_meta(self.con, "themes.taxonomy_hash"),
            "user_files": json.loads(user) if user else [],
        }
        return s

    def rejects(self) -> pd.DataFrame:
        return self.sql("SELECT * FROM rejects ORDER BY run_id, origin")

    def analyze(self, *, workers: int | None = None, progress: bool = True) -> dict[str, Any]:
        """Every stage after ingest, incrementally: spaCy extraction of the articles not yet
        processed (``workers`` processes; ``None``: by the pending articles and the usable
        cores, ``extract.auto_workers``), then actor/country resolution, themes, tone, quotes
        and stories. Each stage and the whole are rows of ``runs``; ctrl-C stops it
        (``errors.Interrupted``) keeping what each stage committed, and ``analyze()`` again
        resumes."""
        out: dict[str, Any] = {}

        def every_stage() -> dict[str, Any]:
            self._along = _along_extraction(self.con)
            try:
                out["extract"] = self.extract(workers=workers, progress=progress)
                (rows,) = self.con.execute("SELECT count(*) FROM sentences").fetchone()
                with store.threads_for(self.con, rows):  # a small corpus: one DuckDB thread
                    out["resolve"] = self.resolve(progress=progress)
                    out["themes"] = self.tag_themes(progress=progress)
                    out["tone"] = self.score_tone(progress=progress)
                    out["quotes"] = self.find_quotes(progress=progress)
                    out["stories"] = self.find_stories(progress=progress)
                    out["search_index"] = self.index_search(progress=progress)
                    out["aggregates"] = self.refresh_aggregates()
            finally:
                self._along = {}
            return {k: str(v) for k, v in out.items()}

        self._recorded("analyze", every_stage, options={"workers": workers})
        return out

    def _counted(self, stage: str) -> Any:
        """The counts of ``stage`` computed along the extraction of this ``analyze()``."""
        a = self._along.pop(stage, None)
        return a.result if a is not None else None

    def _recorded(self, kind: str, fn: Any, *, options: dict[str, Any] | None = None) -> Any:
        """Run one stage as a row of ``runs`` (status, counts, time; see ``workbench.base.runs``)."""

        with runs.recorded(self.con, kind, options=options) as run:
            run.on_interrupt = self._analysis_state
            run.result = fn()
        return run.result

    def _analysis_state(self) -> str:
        """How far analysis got (committed rows), for the message after ctrl-C."""
        return stages.analysis_state(self.con)

    # ------------------------------------------------------------------ entities (issue 9)
    def extract(
        self, *, workers: int | None = None, progress: bool = True, limit: int | None = None
    ) -> Any:
        """spaCy over the articles not yet processed: sentences (tokens, lemmas, offsets)
        and raw entity mentions, one transaction per chunk (see ``workbench.nlp.extract``)."""

        return self._recorded(
            "extract",
            lambda: extract.extract(
                self.con,
                model=self.model_name,
                workers=workers,
                progress=progress,
                limit=limit,
                along=tuple(self._along.values()),
            ),
            options={"model": self.model_name, "workers": workers, "limit": limit},
        )

    def resolve(
        self,
        *,
        registry: str | os.PathLike[str] | Any = None,
        progress: bool = True,
        full: bool = False,
    ) -> Any:
        """Actors and countries from the stored mentions, without spaCy: fills
        ``mentions.entity_id/country_iso3/region``, ``entities`` and ``article_countries``.
        ``registry`` is a user YAML path or a ``Registry``. Only new or changed articles go
        through the per-article step; ``full=True`` (or a registry edit) redoes every one."""

        return self._recorded(
            "resolve",
            lambda: resolve.resolve(self.con, registry=registry, progress=progress, full=full),
            options={
                "registry": registry if isinstance(registry, str | os.PathLike) else None,
                "full": full,
            },
        )

    def entity_review(self, *, limit: int = 50) -> pd.DataFrame:
        """Likely splits and merges of the resolved actors with their evidence and a
        registry suggestion each (``workbench.annotate.review``); accept rows with
        :meth:`accept_review`, then :meth:`resolve`."""

        return review.entity_review(self.con, limit=limit)

    def accept_review(self, rows: Any, path: str | os.PathLike[str] | None = None) -> Any:
        """Write the suggestions of ``entity_review()`` rows to the user registry file."""

        return review.accept(rows, path)

    def entities(self, type: str | None = None, *, limit: int | None = None) -> pd.DataFrame:
        """Canonical actors/places, most mentioned first (``type``: PERSON, ORG, GPE, ...)."""
        q = "SELECT * FROM entities"
        params: list[Any] = []
        if type:
            q += " WHERE type = ?"
            params.append(type)
        q += " ORDER BY n_mentions DESC, name"
        if limit is not None:
            q += " LIMIT ?"
            params.append(int(limit))
        return self.sql(q, params)

    def article_countries(
        self, article_id: str | None = None, *, salient_only: bool = False
    ) -> pd.DataFrame:
        """Countries per article with mentions, first position, forms and ``salient`` (what
        the article is about: dateline/headline, >= 3 mentions or in the opening)."""
        q = "SELECT * FROM article_countries WHERE TRUE"
        params: list[Any] = []
        if article_id is not None:
            q += " AND article_id = ?"
            params.append(article_id)
        if salient_only:
            q += " AND salient"
        return self.sql(q + " ORDER BY article_id, salient DESC, mentions DESC, iso3", params)

    def article_places(self, article_id: str | None = None) -> pd.DataFrame:
        """Each resolved place mention with its place below the country (GeoNames id, name,
        ``fclass`` P town / A state, admin-1 code and name, lat/lon, confidence)."""
        q = "SELECT * FROM mention_places WHERE TRUE"
        params: list[Any] = []
        if article_id is not None:
            q += " AND article_id = ?"
            params.append(article_id)
        return self.sql(q + " ORDER BY article_id, start_char", params)

    def focus_places(self, article_id: str | None = None) -> pd.DataFrame:
        """Each article's focus: its most mentioned town (``city``: any P place) and
        first-level division (``admin1``, counting the towns inside it), as CLIFF reports.

        Ties go to the earlier first mention. Articles without a place have no row."""
        q = """WITH p AS (SELECT * FROM mention_places WHERE (? IS NULL OR article_id = ?)),
        c AS (SELECT article_id, arg_max(name, n * 1e9 - first) AS city,
                     arg_max(geonameid, n * 1e9 - first) AS city_geonameid,
                     max(n) AS city_mentions
              FROM (SELECT article_id, geonameid, name, count(*) AS n,
                           min(start_char) AS first
                    FROM p WHERE fclass = 'P' GROUP BY ALL) GROUP BY article_id),
        a AS (SELECT article_id, arg_max(iso3 || '.' || admin1, n * 1e9 - first) AS admin1,
                     arg_max(admin1_name, n * 1e9 - first) AS admin1_name,
                     max(n) AS admin1_mentions
              FROM (SELECT article_id, iso3, admin1, any_value(admin1_name) AS admin1_name,
                           count(*) AS n, min(start_char) AS first
                    FROM p WHERE coalesce(admin1, '') <> '' GROUP BY article_id, iso3, admin1)
              GROUP BY article_id)
        SELECT coalesce(a.article_id, c.article_id) AS article_id, c.city, c.city_geonameid,
               c.city_mentions, a.admin1, nullif(a.admin1_name, '') AS admin1_name,
               a.admin1_mentions
        FROM a FULL OUTER JOIN c ON c.article_id = a.article_id ORDER BY 1"""
        return self.sql(q, [article_id, article_id])

    def mentions_of(self, name_or_id: str) -> pd.DataFrame:
        """Every mention of one entity (by id, or its name or an alias in any case) with its
        sentence."""
        return self.sql(
            "SELECT m.article_id, m.sentence_idx, m.start_char, m.end_char, m.text, m.label,"  # noqa: S608
            " m.entity_id, m.country_iso3, s.text AS sentence"
            " FROM mentions m JOIN sentences s"
            " ON s.article_id = m.article_id AND s.idx = m.sentence_idx"
            f" WHERE m.entity_id IN ({kinds.ENTITY_LOOKUP})"
            " ORDER BY m.article_id, m.start_char",
            kinds.entity_params(name_or_id),
        )

    # ------------------------------------------------------------------ themes, tone, quotes (issue 3)
    def tag_themes(
        self,
        *,
        taxonomy: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        progress: bool = True,
    ) -> Any:
        """Tag articles with themes from STORED sentences (no spaCy run): only new articles,
        or all of them when the taxonomy (shipped + ``taxonomy`` + ``WORKBENCH_THEMES``
        files) changed. The database remembers ``taxonomy``: ``None`` reuses the files it
        was last tagged with, ``[]`` returns to the shipped taxonomy. The evidence of each tag
        (``theme_hits``, see ``workbench.annotate.themes``) is read with ``evidence("theme", id)``."""

        counted = self._counted(themes.STAGE) if taxonomy is None else None
        return themes.tag_themes(self.con, taxonomy=taxonomy, progress=progress, counted=counted)

    def score_tone(self, *, progress: bool = True) -> Any:
        """VADER tone of every stored sentence and the article mean (``workbench.annotate.tone``);
        read it with :meth:`tone`."""

        return tone.score_tone(self.con, progress=progress, counted=self._counted(tone.STAGE))

    def find_quotes(self, *, progress: bool = True) -> Any:
        """Direct quotations with speakers linked to actors (``workbench.annotate.quotes``); read them
        with :meth:`quotes`."""

        return quotes.find_quotes(self.con, progress=progress)

    def themes(self) -> pd.DataFrame:
        """The taxonomy in use with the number of articles tagged with each theme."""
        return self.sql(
            "SELECT t.theme_id, t.label, t.parent, t.description, count(a.article_id) AS"
            " n_articles, t.taxonomy_hash FROM themes t LEFT JOIN article_themes a USING"
            " (theme_id) GROUP BY ALL ORDER BY n_articles DESC, t.theme_id"
        )

    # ------------------------------------------------------------------ queries
    # The query API of workbench.query.api on this database: signatures and docstrings are the
    # query functions' own (see them for what each number counts). ``filter`` is a Filter, a
    # dict of its fields, or None; ``sql=True`` returns the (query, params) that would run;
    # ``engine`` forces the base tables or the pre-aggregates.
    top = _query_method(query.top)
    coverage = _query_method(query.coverage)
    cooccurrence = _query_method(query.cooccurrence)
    compare = _query_method(query.compare)
    tone = _query_method(query.tone)
    quotes = _query_method(query.quotes)
    articles = _query_method(query.articles)
    evidence = _query_method(query.evidence)
    kwic = _query_method(query.kwic)
    place_points = _query_method(query.place_points)

    def index_search(self, *, full: bool = False, progress: bool = True) -> bool:
        """Bring the full-text (BM25) index over article title+text up to date; run after
        ingests (``analyze()`` does). Only new, changed and removed articles are (re)indexed;
        ``full=True`` rebuilds it whole. Returns False with a notice if the fts extension is
        missing."""

        if self.read_only:
            raise errors.BadOption(
                f"{self.path} is open read-only; the search index can only be built on a "
                "writable Workbench (queries fall back to substring search meanwhile)"
            )
        return self._recorded(
            "search_index",
            lambda: search.index_search(self.con, full=full, progress=progress),
            options={"full": full},
        )

    # ------------------------------------------------------------------ stories (issue 17)
    def find_stories(
        self,
        *,
        jaccard: float | None = None,
        containment: float | None = None,
        rebuild: bool = False,
        progress: bool = True,
        **options: Any,
    ) -> dict[str, Any]:
        """Group near-duplicate articles (wire copy, re-headlined or trimmed reprints) into
        stories, incrementally; ``Filter(dedup="story")`` then counts stories. Thresholds
        default to the stored ones (first run: Jaccard 0.8, containment 0.8, see
        ``workbench.annotate.stories.StoryOptions``); changing them re-clusters from stored pairs."""

        if self.read_only:
            raise errors.BadOption(
                f"{self.path} is open read-only; stories can only be computed on a writable "
                "Workbench (workbench stories --db DB)"
            )
        base = stories.stored_options(self.con) or stories.StoryOptions()
        given = {"jaccard": jaccard, "containment": containment, **options}
        given = {k: v for k, v in given.items() if v is not None}
        return self._recorded(
            "stories",
            lambda: stories.find_stories(
                self.con, options=base, rebuild=rebuild, progress=progress, **given
            ),
            options={**given, "rebuild": rebuild},
        )

    #: ``find_stories`` under the name the README and notebooks use.
    stories = find_stories

    def syndication(self, filter: Any = None) -> dict[str, pd.DataFrame]:
        """Who republished whom: per outlet stories originated vs copies run, and the
        outlet x outlet matrix of copies with median lag (``workbench.annotate.stories``)."""

        return stories.syndication(self.con, filter)

    def story_of(self, article_id: str) -> pd.DataFrame:
        """The articles of the story an article belongs to, first article first."""
        return self.sql(
            "SELECT c.story_id, c.article_id, c.is_first, c.similarity, c.containment, a.date,"
            " a.source, a.title FROM story_clusters c JOIN articles a USING (article_id)"
            " WHERE c.story_id = (SELECT story_id FROM story_clusters WHERE article_id = ?)"
            " ORDER BY c.is_first DESC, a.date NULLS LAST, a.published NULLS LAST, a.article_id",
            [article_id],
        )

    # ------------------------------------------------------------------ reports (issue 5)
    def report(
        self,
        out: str | os.PathLike[str] | None = None,
        *,
        template: str = "overview",
        notebook: str | os.PathLike[str] | None = None,
        filter: Any = None,
        title: str | None = None,
        timeout: int = 600,
        force: bool = False,
    ) -> Path:
        """Write a self-contained, offline, interactive HTML report; returns its path.

        ``out`` may not be the database, an input of it, or an existing file that is not
        an earlier report (``force=True`` replaces such a file); see ``workbench.base.outputs``.

        ``template="overview"`` is the built-in report; ``notebook`` renders a curated
        notebook (path, file name or number under ``notebooks/``) executed on this database.
        Default ``out``: ``reports/<template or notebook>.html``.
        """
        # Lazy: report imports altair (about 0.9 s), which `import workbench` should not pay.
        from ..present.report import build_report, default_report_path

        if out is None:
            name = Path(str(notebook)).stem if notebook is not None else template
            out = default_report_path(name)
        return build_report(
            self,
            out=out,
            template=template,
            notebook=notebook,
            filter=filter,
            title=title,
            timeout=timeout,
            force=force,
        )

    # ------------------------------------------------------------------ scale (issue 6)
    def refresh_aggregates(self) -> dict[str, Any]:
        """Rebuild the per-day/outlet/key pre-aggregates (``workbench.query.aggregates``) that let
        date/outlet-filtered rankings and timelines stay fast on large corpora."""

        return self._recorded("aggregates", lambda: aggregates.refresh(self.con))


def _limits(
    max_file_bytes: int,
    max_article_chars: int,
    allow_undated: bool,
    date_format: str | Sequence[str],
    dayfirst: bool | None,
) -> Limits:
    """The per-input limits and date reading of :meth:`Workbench.ingest`."""
    return Limits(
        max_file_bytes=max_file_bytes,
        max_article_chars=max_article_chars,
        allow_undated=allow_undated,
        date_formats=(date_format,) if isinstance(date_format, str) else tuple(date_format),
        dayfirst=dayfirst,
    )


def _web_options(
    min_chars: int,
    language: str | Sequence[str],
    date_fallback: bool,
    keep_html: bool,
    workers: int,
) -> load_web.WebOptions:
    """The html/warc options of :meth:`Workbench.ingest`; ``language`` (codes, each maybe
    comma-separated, or ``any``) is checked here so a typo fails before any file is read."""
    langs = [language] if isinstance(language, str) else list(language)
    langs = [x.strip().lower() for s in langs for x in s.split(",") if x.strip()]
    bad = [x for x in langs if x != "any" and not (x.isalpha() and len(x) in (2, 3))]
    if bad:
        raise errors.BadOption(
            f"language {', '.join(bad)!r} is not a language code: give ISO 639-1 codes "
            "such as en or en,de, or 'any' to keep every language"
        )
    return load_web.WebOptions(
        min_chars=min_chars,
        languages=() if "any" in langs else tuple(sorted(set(langs))),
        date_fallback=date_fallback,
        keep_html=keep_html,
        workers=max(1, workers),
    )
