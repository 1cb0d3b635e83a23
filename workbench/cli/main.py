"""The ``workbench`` command: a thin typer layer over ``Workbench``."""

from __future__ import annotations

import functools
import inspect
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..annotate.search import SearchFallbackWarning
from ..base import config, errors, formatting
from ..base.filters import DEDUP_UNITS, Filter
from ..base.formatting import period_label
from ..core.workbench import Workbench
from ..ingest.load import ColumnChoice
from ..ingest.writer import IngestResult
from ..nlp import distributed
from ..query.kinds import KINDS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Coverage Workbench: who, where, what and how in news coverage.",
    # click's plain help wraps every column to the terminal; rich panels cut long values
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DbOpt = Annotated[Path, typer.Option("--db", help="DuckDB file (env WORKBENCH_DB).")]
#: spaCy worker processes of ``analyze`` / ``extract``; unset: chosen per run.
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        help="spaCy worker processes (a pool; each parses whole batches). Default: one per "
        "200 articles to extract, up to the usable cores and 4."
    ),
]


#: Exit status after ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Print WorkbenchError messages without a traceback and exit with status 2; after
    ctrl-C say what was kept and how to resume, and exit with status 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt as exc:
            first = _first_interrupt(exc)  # a second ctrl-C during cleanup keeps the first's
            msg = str(first) if first is not None else ""
            err_console.print(
                f"[bold red]{escape(msg) if msg else 'interrupted'}[/]"
                + ("" if msg else " (ctrl-C): nothing was running that needed a rollback."),
                highlight=False,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except errors.WorkbenchError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
        except duckdb.Error as exc:  # a SQL typo or constraint: the message, not a traceback
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper


def _first_interrupt(exc: BaseException) -> errors.Interrupted | None:
    """The ``errors.Interrupted`` (with its message) among ``exc`` and what it interrupted."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, errors.Interrupted):
            return cur
        seen.add(id(cur))
        cur = cur.__context__
    return None


FormatOpt = Annotated[
    str, typer.Option("--format", help="table (for people), csv or json (for machines).")
]


def print_df(df: Any, title: str | None = None, max_rows: int = 50, fmt: str = "table") -> None:
    """A DataFrame as a table for people (formatting.cell: dates, integers, empty for null)
    or, with ``fmt`` csv/json, the values themselves for machines."""
    if fmt not in formatting.OUTPUT_FORMATS:
        raise errors.BadOption(errors.unknown_option("--format", fmt, formatting.OUTPUT_FORMATS))
    if fmt != "table":
        out = formatting.to_csv(df) if fmt == "csv" else formatting.to_json(df)
        typer.echo(out.rstrip("\n"))
        return
    table = Table(title=title, show_lines=False)
    for col in df.columns:
        numeric = str(getattr(df[col], "dtype", "")).startswith(("int", "uint", "float", "Int"))
        table.add_column(str(col), overflow="fold", justify="right" if numeric else "left")
    for row in df.head(max_rows).itertuples(index=False):
        table.add_row(*[escape(formatting.cell(v)) for v in row])
    console.print(table)
    if len(df) > max_rows:
        console.print(f"... {len(df) - max_rows:,} more rows (showing {max_rows:,} of {len(df):,})")


def print_summary(s: dict[str, Any]) -> None:
    undated = f", {s['undated']:,} undated" if s["undated"] else ""
    console.print(
        f"[bold]{s['articles']:,} articles[/] ({s['words']:,} words), "
        f"{s['date_min'] or '-'} .. {s['date_max'] or '-'}{undated}; "
        f"{s.get('n_sources', 0):,} outlets; "
        f"{s['duplicates']:,} duplicates linked; {s['rejects']:,} rejects",
        highlight=False,
    )
    for reason, n in s["reject_reasons"].items():
        console.print(f"  rejected {reason}: {n:,}", highlight=False)
    stages = {
        k: s[k] for k in ("sentences", "mentions", "entities", "article_themes", "quotes") if k in s
    }
    console.print("  " + ", ".join(f"{k}: {v:,}" for k, v in stages.items()), highlight=False)
    tax = s.get("taxonomy") or {}
    if tax.get("user_files"):
        files = ", ".join(tax["user_files"])
        console.print(f"  taxonomy: shipped + {files} (remembered)", highlight=False, markup=False)


# ingest's options with a longer help, one alias each so its signature is a line per option
_InputFormatOpt = Annotated[
    str,
    typer.Option(
        help="One of auto, seed, csv, jsonl, json, parquet, reuters, labelled, html, warc."
    ),
]
_SourceNameOpt = Annotated[
    str | None, typer.Option(help="Outlet name for every article of these inputs.")
]
_MaxFileBytesOpt = Annotated[
    int, typer.Option(help="Reject single-article files larger than this.")
]
_MaxArticleCharsOpt = Annotated[int, typer.Option(help="Reject articles longer than this.")]
_RescanOpt = Annotated[bool, typer.Option(help="Re-read files unchanged since an earlier ingest.")]
_MinCharsOpt = Annotated[int, typer.Option(help="html/warc: reject main text shorter than this.")]
_LanguageOpt = Annotated[
    str, typer.Option(help="html/warc: language code(s) to keep, comma-separated, or 'any'.")
]
_DateFallbackOpt = Annotated[
    bool, typer.Option(help="html/warc: date undated pages by WARC-Date / file time.")
]
_KeepHtmlOpt = Annotated[
    bool, typer.Option(help="html/warc: keep the raw page (compressed) in pages_html.")
]
_DateFormatOpt = Annotated[
    list[str] | None,
    typer.Option(help="strptime pattern for dates, e.g. '%d.%m.%Y' (repeatable)."),
]
_DayfirstOpt = Annotated[
    bool | None,
    typer.Option(
        "--dayfirst/--monthfirst",
        help="Read numeric dates like 9/6/17 day first (9 June) or month first (US).",
    ),
]


@app.command()
@friendly
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or globs to load.")],
    db: DbOpt = config.DEFAULT_DB,
    format: _InputFormatOpt = "auto",
    text: Annotated[str | None, typer.Option(help="Column holding the article text.")] = None,
    date: Annotated[str | None, typer.Option(help="Column holding the date.")] = None,
    title: Annotated[str | None, typer.Option(help="Column holding the title.")] = None,
    source: Annotated[str | None, typer.Option(help="Column holding the source/outlet.")] = None,
    url: Annotated[str | None, typer.Option(help="Column holding the URL.")] = None,
    source_name: _SourceNameOpt = None,
    allow_undated: Annotated[bool, typer.Option(help="Keep articles without a date.")] = False,
    max_file_bytes: _MaxFileBytesOpt = config.MAX_FILE_BYTES,
    max_article_chars: _MaxArticleCharsOpt = config.MAX_ARTICLE_CHARS,
    rescan: _RescanOpt = False,
    workers: Annotated[int, typer.Option(help="html/warc: extraction processes.")] = 1,
    min_chars: _MinCharsOpt = 200,
    language: _LanguageOpt = "en",
    date_fallback: _DateFallbackOpt = False,
    keep_html: _KeepHtmlOpt = False,
    date_format: _DateFormatOpt = None,
    dayfirst: _DayfirstOpt = None,
) -> None:
    """Load articles into the database; bad inputs are recorded as rejects with a reason."""
    with Workbench(db) as wb:
        result = wb.ingest(
            paths,
            format=format,
            text=text,
            date=date,
            title=title,
            source=source,
            url=url,
            source_name=source_name,
            allow_undated=allow_undated,
            max_file_bytes=max_file_bytes,
            max_article_chars=max_article_chars,
            rescan=rescan,
            workers=workers,
            min_chars=min_chars,
            language=language,
            date_fallback=date_fallback,
            keep_html=keep_html,
            date_format=tuple(date_format or ()),
            dayfirst=dayfirst,
        )
        _print_ingest_result(wb, result)


def _print_ingest_result(wb: Workbench, result: IngestResult) -> None:
    """The ingest summary, the WARC records counted per reason, the columns used and the
    source metadata found in the input."""
    console.print(str(result), highlight=False)
    for reason, detail in wb.con.execute(  # WARC records counted, not one row each
        "SELECT reason, detail FROM rejects WHERE run_id = ? AND origin LIKE '%#records=%' "
        "ORDER BY 1",
        [result.run_id],
    ).fetchall():
        console.print(f"  {reason}: {detail}", highlight=False)
    print_columns_used(result.columns_used)
    if result.source_fields:
        console.print(
            f"source metadata from the input: {', '.join(result.source_fields)} "
            "(see `workbench sources`)",
            highlight=False,
            soft_wrap=True,
        )


def print_columns_used(used: list[dict[str, Any]]) -> None:
    """The column behind each field, and any better-looking candidate, after an ingest."""
    for c in used:
        console.print(ColumnChoice(**c).describe(), highlight=False, markup=False, soft_wrap=True)
        for w in c["warnings"]:
            err_console.print(f"warning: {w}", highlight=False, markup=False, soft_wrap=True)


@app.command("sources")
@friendly
def sources_cmd(
    db: DbOpt = config.DEFAULT_DB,
    load: Annotated[
        Path | None,
        typer.Option(help="CSV (a source column + any) or YAML of outlet attributes to store."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 50,
    out_format: FormatOpt = "table",
) -> None:
    """Outlet metadata (country, type, partisanship, any column): print it, or --load a file."""
    with Workbench(db, read_only=load is None) as wb:
        if load is not None:
            n = wb.load_sources(load)
            console.print(f"sources: {n:,} outlets from {load}", highlight=False)
        df = wb.sources()
    if out_format == "table":
        console.print(f"{len(df):,} outlets with metadata", highlight=False)
    print_df(df, max_rows=limit, fmt=out_format)


@app.command()
@friendly
def summary(
    db: DbOpt = config.DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Articles, date range, sources, rejects and per-stage counts."""
    with Workbench(db, read_only=True) as wb:
        s = wb.summary()
    if as_json:
        console.print_json(json.dumps(s))
    else:
        print_summary(s)


@app.command()
@friendly
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run (read-only connection).")],
    db: DbOpt = config.DEFAULT_DB,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Bound value for each ?, in order.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 50,
    out_format: FormatOpt = "table",
) -> None:
    """Run a SQL query against the database and print the result."""
    with Workbench(db, read_only=True) as wb:
        print_df(wb.sql(query, list(param or [])), max_rows=limit, fmt=out_format)


@app.command()
@friendly
def rejects(
    db: DbOpt = config.DEFAULT_DB,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 50,
    out_format: FormatOpt = "table",
) -> None:
    """List rejected inputs with where they were and why."""
    with Workbench(db, read_only=True) as wb:
        print_df(
            wb.sql(
                "SELECT origin, reason, detail, first_bytes FROM rejects ORDER BY run_id, origin"
            ),
            max_rows=limit,
            fmt=out_format,
        )


@app.command()
@friendly
def analyze(
    db: DbOpt = config.DEFAULT_DB,
    workers: WorkersOpt = None,
) -> None:
    """Run every stage after ingest on the articles not yet processed: spaCy extraction,
    actor and country resolution, themes, tone and quotes."""
    with Workbench(db) as wb:
        wb.analyze(workers=workers)
        print_summary(wb.summary())


@app.command()
@friendly
def demo(db: DbOpt = config.DEFAULT_DB) -> None:
    """The main job on the bundled sample: ingest, analyse, summarise, report."""
    with Workbench(db) as wb:
        result = wb.ingest([config.SAMPLE_DIR])
        console.print(str(result), highlight=False)
        wb.analyze()
        print_summary(wb.summary())
        # -- report (issue 5) is written here
        path = wb.report(config.REPORTS_DIR / "overview.html")
        console.print(f"report: {path}", highlight=False)


# ---------------------------------------------------------------- entities (issue 9)


@app.command()
@friendly
def extract(
    db: DbOpt = config.DEFAULT_DB,
    workers: WorkersOpt = None,
    limit: Annotated[
        int | None, typer.Option(help="Stop after this many articles (a sample).")
    ] = None,
    engine: Annotated[str, typer.Option(help="local | dask (see workbench.nlp.distributed).")] = (
        "local"
    ),
    scheduler: Annotated[
        str | None, typer.Option(help="dask: scheduler address (tcp://host:8786).")
    ] = None,
    out: Annotated[
        str | None, typer.Option(help="dask: Parquet output folder/URL all workers can write.")
    ] = None,
) -> None:
    """spaCy over the articles not yet processed: sentences and entity mentions.
    Interrupted runs resume where they stopped (each chunk is one transaction).
    ``--engine dask`` runs the same extraction on a Dask cluster (``--scheduler``; without
    it a local cluster of ``--workers`` processes) and writes partitioned Parquet to ``--out``
    before loading it into the database."""
    if engine not in ("local", "dask"):
        raise errors.BadOption(f"--engine must be 'local' or 'dask' (got {engine!r})")
    with Workbench(db) as wb:
        if engine == "dask":
            target = out or str(Path(wb.path).with_suffix("")) + "-extract"
            res = distributed.run(
                wb.con, target, scheduler=scheduler, workers=workers or 1,
                model=wb.model_name, limit=limit,
            )  # fmt: skip
            console.print(str(res), highlight=False)
            return
        console.print(str(wb.extract(workers=workers, limit=limit)), highlight=False)


@app.command()
@friendly
def resolve(
    db: DbOpt = config.DEFAULT_DB,
    registry: Annotated[
        Path | None,
        typer.Option(help="User registry YAML (aliases, merges, splits, countries)."),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(help="Resolve every article again (default: only new or changed ones)."),
    ] = False,
) -> None:
    """Canonical actors and countries from the stored mentions (no spaCy): run it again
    after editing the registry (a registry edit resolves every article again)."""
    with Workbench(db) as wb:
        console.print(str(wb.resolve(registry=registry, full=full)), highlight=False)


@app.command()
@friendly
def entities(
    db: DbOpt = config.DEFAULT_DB,
    type: Annotated[
        str | None, typer.Option("--type", help="PERSON, ORG, GPE, LOC, NORP, ...")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 30,
) -> None:
    """Canonical actors and places, most mentioned first."""
    with Workbench(db, read_only=True) as wb:
        df = wb.entities(type, limit=limit)
        cols = ["entity_id", "name", "type", "country_iso3", "n_mentions", "n_articles", "aliases"]
        print_df(df[cols], max_rows=limit)


# ---------------------------------------------------------------- themes/tone/quotes (issue 3)


@app.command("themes")
@friendly
def themes_cmd(
    db: DbOpt = config.DEFAULT_DB,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 50,
    out_format: FormatOpt = "table",
) -> None:
    """Print the themes with their article counts (reads only; `tag-themes` computes)."""
    with Workbench(db, read_only=True) as wb:
        df = wb.themes()
    if out_format == "table" and not df["n_articles"].any():
        console.print(
            "no articles tagged with themes yet: run `workbench analyze` or `workbench tag-themes`",
            highlight=False,
        )
    print_df(df[["theme_id", "label", "parent", "n_articles"]], max_rows=limit, fmt=out_format)


@app.command("tag-themes")
@friendly
def tag_themes_cmd(
    db: DbOpt = config.DEFAULT_DB,
    taxonomy: Annotated[
        list[Path] | None,
        typer.Option(help="Extra taxonomy YAML (repeatable); same ids replace shipped themes."),
    ] = None,
    shipped: Annotated[
        bool, typer.Option(help="Only the shipped taxonomy (forget an earlier --taxonomy).")
    ] = False,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 50,
) -> None:
    """Tag themes from stored sentences (no spaCy); re-tags everything when the taxonomy
    changed, and prints themes with their article counts. The database remembers
    --taxonomy: later `themes`/`analyze` runs use it again until --shipped."""
    if shipped and taxonomy:
        raise errors.BadOption("give --taxonomy or --shipped, not both")
    with Workbench(db) as wb:
        tax = [] if shipped else (taxonomy or None)
        console.print(str(wb.tag_themes(taxonomy=tax)), highlight=False)
        df = wb.themes()
        print_df(df[["theme_id", "label", "parent", "n_articles"]], max_rows=limit)


@app.command("tone")
@friendly
def tone_cmd(
    db: DbOpt = config.DEFAULT_DB,
    limit: Annotated[int, typer.Option(help="Actors to print.")] = 20,
    out_format: FormatOpt = "table",
) -> None:
    """Print the tone of the most mentioned actors (reads only; `score-tone` computes)."""
    with Workbench(db, read_only=True) as wb:
        _print_tone(wb, limit, out_format)


@app.command("score-tone")
@friendly
def score_tone_cmd(
    db: DbOpt = config.DEFAULT_DB,
    limit: Annotated[int, typer.Option(help="Actors to print.")] = 20,
) -> None:
    """VADER tone of sentences and articles, then tone of the most mentioned actors."""
    with Workbench(db) as wb:
        console.print(str(wb.score_tone()), highlight=False)
        _print_tone(wb, limit, "table")


def _print_tone(wb: Workbench, limit: int, out_format: str) -> None:
    df = wb.tone("actor", None, n=limit, level="sentence")
    if out_format == "table":  # the readable columns; csv/json keep the key and the spread
        df = df[["label", "sentences", "articles", "tone", "negative", "positive"]]
    if len(df) or out_format != "table":
        print_df(
            df.round(3),
            title="tone by actor (mean VADER compound of the sentences naming it)",
            max_rows=limit,
            fmt=out_format,
        )
    else:
        console.print(
            "no tone scores for actors yet: run `workbench analyze` or `workbench score-tone`",
            highlight=False,
        )


@app.command("quotes")
@friendly
def quotes_cmd(
    db: DbOpt = config.DEFAULT_DB,
    actor: Annotated[
        str | None, typer.Option(help="Only quotes of this actor (name, alias or id).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 30,
    out_format: FormatOpt = "table",
) -> None:
    """Print direct quotations and their speakers, optionally one actor's (reads only;
    `find-quotes` computes)."""
    with Workbench(db, read_only=True) as wb:
        _print_quotes(wb, actor, limit, out_format)


@app.command("find-quotes")
@friendly
def find_quotes_cmd(
    db: DbOpt = config.DEFAULT_DB,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 30,
) -> None:
    """Find direct quotations and their speakers, then print them."""
    with Workbench(db) as wb:
        console.print(str(wb.find_quotes()), highlight=False)
        _print_quotes(wb, None, limit, "table")


def _print_quotes(wb: Workbench, actor: str | None, limit: int, out_format: str) -> None:
    df = wb.quotes(actor, n=None)
    cols = ["date", "source", "speaker", "speaker_name", "cue", "text"]
    if out_format == "table":
        who = f" of {actor}" if actor else ""
        shown = f"; showing {limit:,} of {len(df):,} (--limit)" if len(df) > limit else ""
        console.print(f"{len(df):,} quotations{who}{shown}", highlight=False)
    print_df(df[cols].head(limit), max_rows=limit, fmt=out_format)


# The story options beside the thresholds (``workbench.annotate.stories.StoryOptions``).
MinRatioOpt = Annotated[
    float | None,
    typer.Option(
        help="Containment counts only when the shorter text has this share of the longer's "
        "shingles (0.1)."
    ),
]
ReissueOpt = Annotated[
    bool | None,
    typer.Option(
        "--reissue/--no-reissue",
        help="A wire re-issue (CORRECTED-, RPT-, REFILE- headline) joins its original whatever "
        "its figures (default on).",
    ),
]
ReissueContOpt = Annotated[
    float | None, typer.Option(help="Share of the shorter text a re-issue must share (0.6).")
]
LeadOpt = Annotated[
    bool | None,
    typer.Option(
        "--lead/--no-lead",
        help="Texts that open alike are candidates whatever their lengths (default on).",
    ),
]
LearnedOpt = Annotated[
    bool | None,
    typer.Option(
        "--learned/--no-learned",
        help="The learned verifier decides grey-zone pairs (Jaccard 0.3-0.8 or containment "
        "0.5-0.9) that the rules leave apart (default on).",
    ),
]


@app.command("stories")
@friendly
def stories_cmd(
    db: DbOpt = config.DEFAULT_DB,
    jaccard: Annotated[
        float | None, typer.Option(help="Same story at Jaccard >= this (default 0.8).")
    ] = None,
    containment: Annotated[
        float | None,
        typer.Option(help="Same story when the shorter text is contained >= this (0.8)."),
    ] = None,
    max_lag_days: Annotated[
        int | None,
        typer.Option(help="A copy joins a story within this many days of its first (7; 0: off)."),
    ] = None,
    tables: Annotated[
        bool | None,
        typer.Option(
            "--tables/--no-tables",
            help="Two tables (texts mostly figures) are one story only when every term of the "
            "shorter occurs in the other (default on).",
        ),
    ] = None,
    min_ratio: MinRatioOpt = None,
    reissue: ReissueOpt = None,
    reissue_containment: ReissueContOpt = None,
    lead: LeadOpt = None,
    learned: LearnedOpt = None,
    rebuild: Annotated[bool, typer.Option(help="Recompute signatures from the text.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes that trim, shingle and sign the texts (1; 2 on 2 cores)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Outlets to print.")] = 20,
) -> None:
    """Group near-duplicate articles into stories (incremental), then who republished whom.
    Options left out keep the values the database was clustered with (first run: the
    documented defaults)."""
    with Workbench(db) as wb:
        out = wb.stories(
            jaccard=jaccard,
            containment=containment,
            max_lag_days=max_lag_days,
            tables=tables,
            min_ratio=min_ratio,
            reissue=reissue,
            reissue_containment=reissue_containment,
            lead=lead,
            learned=learned,
            rebuild=rebuild,
            workers=workers,
        )
        shown = {k: v for k, v in out.items() if k != "options"}
        console.print(str(shown), highlight=False)
        syn = wb.syndication()
        print_df(syn["outlets"].round(3), title="stories per outlet", max_rows=limit)
        if len(syn["matrix"]):
            print_df(
                syn["matrix"], title="who ran whose story (first seen -> copy)", max_rows=limit
            )


# ---------------------------------------------------------------- queries (issue 8)
# Filter options shared by the query commands (each maps to a Filter field).
FromOpt = Annotated[
    str | None, typer.Option("--from", help="First date, YYYY-MM-DD (or YYYY-MM / YYYY).")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last date (inclusive).")]
SourceOpt = Annotated[list[str] | None, typer.Option("--source", help="Outlet (repeatable).")]
ActorOpt = Annotated[
    list[str] | None, typer.Option("--actor", help="Actor name or id (repeatable).")
]
CountryOpt = Annotated[
    list[str] | None, typer.Option("--country", help="ISO3 country code (repeatable).")
]
ThemeOpt = Annotated[list[str] | None, typer.Option("--theme", help="Theme id or label.")]
TextOpt = Annotated[str | None, typer.Option("--text", help="Full-text query (all words).")]
DedupOpt = Annotated[
    str,
    typer.Option(
        "--dedup", help="none | text (identical texts once) | story (near-duplicates once)."
    ),
]
ShowSqlOpt = Annotated[bool, typer.Option("--sql", help="Print the SQL and parameters too.")]


def _filter(
    date_from: str | None,
    date_to: str | None,
    source: list[str] | None,
    actor: list[str] | None,
    country: list[str] | None,
    theme: list[str] | None,
    text: str | None,
    dedup: str,
) -> Any:
    return Filter(
        date_from=date_from,
        date_to=date_to,
        sources=tuple(source or ()),
        actors=tuple(actor or ()),
        countries=tuple(country or ()),
        themes=tuple(theme or ()),
        text=text,
        dedup=dedup,
    )


#: The shared query options, in the order --help lists them: (parameter, annotation, default).
_FILTER_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("date_from", FromOpt, None),
    ("date_to", ToOpt, None),
    ("source", SourceOpt, None),
    ("actor", ActorOpt, None),
    ("country", CountryOpt, None),
    ("theme", ThemeOpt, None),
    ("text", TextOpt, None),
    ("dedup", DedupOpt, "none"),
    ("show_sql", ShowSqlOpt, False),
)


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a query command the shared filter options (--from … --dedup, --sql): the
    command declares keyword parameters ``f`` (the :class:`Filter`) and ``show_sql``, and
    typer sees the options in their place, so every query verb filters the same way."""
    sig = inspect.signature(fn, eval_str=True)  # typer reads __signature__ as given
    own = [p for p in sig.parameters.values() if p.name not in ("f", "show_sql")]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
        for name, ann, default in _FILTER_OPTIONS
    ]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts = {name: kwargs.pop(name, default) for name, _a, default in _FILTER_OPTIONS}
        show_sql = opts.pop("show_sql")
        return fn(*args, f=_filter(**opts), show_sql=show_sql, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
    return wrapper


def _run_query(wb: Workbench, method: str, show_sql: bool, *args: Any, **kwargs: Any) -> Any:
    """Call a query method; search fallbacks become a one-line notice, --sql prints the SQL."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SearchFallbackWarning)
        df = getattr(wb, method)(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, SearchFallbackWarning):
            err_console.print(f"[yellow]note:[/] {w.message}", highlight=False)
    if show_sql:
        console.print(df.attrs.get("sql", ""), highlight=False, markup=False)
        console.print(f"params: {df.attrs.get('params')!r}", highlight=False, markup=False)
    return df


@app.command("top")
@friendly
@filter_options
def top_cmd(
    kind: Annotated[
        str,
        typer.Argument(help=f"One of {', '.join(KINDS)}."),
    ],
    n: Annotated[int, typer.Option("--n", help="How many.")] = 20,
    db: DbOpt = config.DEFAULT_DB,
    out_format: FormatOpt = "table",
    *,
    f: Filter,
    show_sql: bool,
) -> None:
    """The most covered actors/countries/themes/sources (articles, mentions, share)."""
    with Workbench(db, read_only=True) as wb:
        df = _run_query(wb, "top", show_sql, kind, n, f)
    if out_format == "table":
        df["share"] = df["share"].map("{:.1%}".format)
    counted = "distinct articles" if f.dedup == "none" else DEDUP_UNITS[f.dedup]
    print_df(
        df,
        title=f"top {kind} — {f.describe()} (articles = {counted})",
        max_rows=n,
        fmt=out_format,
    )


@app.command("coverage")
@friendly
@filter_options
def coverage_cmd(
    by: Annotated[str, typer.Option("--by", help="actor, country, theme, source, …")] = "actor",
    freq: Annotated[
        str, typer.Option("--freq", help="day, week, month, quarter or year.")
    ] = "month",
    normalize: Annotated[
        bool, typer.Option("--normalize", help="Share of the period's articles, not counts.")
    ] = False,
    n: Annotated[int, typer.Option("--n", help="How many keys.")] = 8,
    db: DbOpt = config.DEFAULT_DB,
    limit: Annotated[int, typer.Option(help="Periods to print.")] = 60,
    out_format: FormatOpt = "table",
    *,
    f: Filter,
    show_sql: bool,
) -> None:
    """Articles per period for the top keys (one column per key; --normalize for shares)."""
    with Workbench(db, read_only=True) as wb:
        df = _run_query(wb, "coverage", show_sql, by, freq, normalize, f, n)
    if out_format != "table":
        print_df(df, fmt=out_format)  # tidy rows, ISO period starts
        return
    if df.empty:
        console.print("no dated articles match", highlight=False)
        return
    wide = df.pivot_table(index="period", columns="label", values="value", sort=False)
    wide = wide[list(dict.fromkeys(df["label"]))]
    total = df.groupby("period", sort=True)["total_articles"].first()
    fmt = "{:.1%}".format if normalize else "{:,.0f}".format
    out = wide.apply(lambda col: col.map(fmt))
    out.insert(0, "all articles", total.map("{:,}".format))
    out.insert(0, freq, [period_label(p, freq) for p in out.index])
    counted = DEDUP_UNITS[f.dedup]
    unit = f"share of {counted}" if normalize else counted
    print_df(out, title=f"{unit} per {freq} by {by} — {f.describe()}", max_rows=limit)


@app.command("kwic")
@friendly
@filter_options
def kwic_cmd(
    term: Annotated[str, typer.Argument(help="A word/phrase, or an entity name or id.")],
    window: Annotated[int, typer.Option(help="Characters of context either side.")] = 50,
    n: Annotated[int, typer.Option("--n", help="Lines to print.")] = 40,
    db: DbOpt = config.DEFAULT_DB,
    *,
    f: Filter,
    show_sql: bool,
) -> None:
    """Keyword in context: each occurrence with its article, date and character offsets.
    Entity names match all resolved mentions of the entity ("Putin" finds "Vladimir Putin")."""
    with Workbench(db, read_only=True) as wb:
        df = _run_query(wb, "kwic", show_sql, term, window, f, n)
    if df.empty:
        console.print(f"no occurrences of {term!r}", highlight=False)
        return
    kw_w = max(len(str(k)) for k in df["keyword"])
    where = [f"{r.article_id[:10]}:{r.start_char}" for r in df.itertuples(index=False)]
    where_w = max(len(w) for w in where)
    side = max(12, (console.width - kw_w - where_w - 10 - 20) // 2)
    total = df.attrs.get("total", len(df))
    shown = f"; showing {len(df):,} of {total:,} (--n)" if total > len(df) else ""
    table = Table(
        title=(
            f"{term} — {total:,} occurrences in {df.attrs.get('total_articles', 0):,} articles "
            f"({df.attrs.get('kind')} match){shown}"
        ),
        caption="article id prefix:character offset; --sql shows the query",
    )
    table.add_column("date", no_wrap=True, min_width=10)
    table.add_column("article:offset", no_wrap=True, min_width=where_w)
    table.add_column("left", justify="right", no_wrap=True, max_width=side)
    table.add_column("keyword", style="bold yellow", no_wrap=True, min_width=kw_w)
    table.add_column("right", no_wrap=True, max_width=side)
    for r, w in zip(df.itertuples(index=False), where, strict=True):
        table.add_row(str(r.date)[:10], w, r.left[-side:], r.keyword, r.right[:side])
    console.print(table)


@app.command("cooccurrence")
@friendly
@filter_options
def cooccurrence_cmd(
    kind_a: Annotated[str, typer.Argument(help=f"One of {', '.join(KINDS)}.")] = "actor",
    kind_b: Annotated[
        str | None, typer.Argument(help="The other kind (default: the same as kind_a).")
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Pairs to print.")] = 30,
    min_articles: Annotated[int, typer.Option(help="Pairs in at least this many articles.")] = 1,
    sort: Annotated[str, typer.Option(help="articles, lift or pmi.")] = "articles",
    db: DbOpt = config.DEFAULT_DB,
    out_format: FormatOpt = "table",
    *,
    f: Filter,
    show_sql: bool,
) -> None:
    """Pairs of keys named in the same articles (counts, lift, PMI)."""
    with Workbench(db, read_only=True) as wb:
        df = _run_query(
            wb, "cooccurrence", show_sql, kind_a, kind_b, f, n, min_articles=min_articles, sort=sort
        )
    title = f"{kind_a} x {kind_b or kind_a} by {sort} — {f.describe()} ({DEDUP_UNITS[f.dedup]})"
    print_df(df, title=title, max_rows=n, fmt=out_format)


@app.command("compare")
@friendly
@filter_options
def compare_cmd(
    outlets: Annotated[
        list[str] | None, typer.Argument(help="Outlets to compare (default: all).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="actor, country, theme, …")] = "actor",
    n: Annotated[int, typer.Option("--n", help="Keys per outlet.")] = 15,
    db: DbOpt = config.DEFAULT_DB,
    out_format: FormatOpt = "table",
    *,
    f: Filter,
    show_sql: bool,
) -> None:
    """Each outlet's top keys and the share of its own articles that mention them."""
    with Workbench(db, read_only=True) as wb:
        df = _run_query(wb, "compare", show_sql, outlets or None, by, f, n)
    print_df(df, title=f"{by} by outlet — {f.describe()}", max_rows=200, fmt=out_format)


@app.command("articles")
@friendly
@filter_options
def articles_cmd(
    n: Annotated[int, typer.Option("--n", help="Articles to print.")] = 30,
    order: Annotated[str, typer.Option(help="date, -date or relevance (with --text).")] = "date",
    db: DbOpt = config.DEFAULT_DB,
    out_format: FormatOpt = "table",
    *,
    f: Filter,
    show_sql: bool,
) -> None:
    """The articles the filter selects: id, date, outlet, title (and BM25 score with --text)."""
    with Workbench(db, read_only=True) as wb:
        df = _run_query(wb, "articles", show_sql, f, n, order=order)
    print_df(df, title=f"articles — {f.describe()}", max_rows=n, fmt=out_format)


@app.command("evidence")
@friendly
@filter_options
def evidence_cmd(
    kind: Annotated[str, typer.Argument(help=f"One of {', '.join(KINDS)}.")],
    value: Annotated[str, typer.Argument(help="The key, name or label to show evidence for.")],
    n: Annotated[int, typer.Option("--n", help="Sentences to print.")] = 20,
    db: DbOpt = config.DEFAULT_DB,
    out_format: FormatOpt = "table",
    *,
    f: Filter,
    show_sql: bool,
) -> None:
    """The sentences behind a count: each mention of the key with its article and offsets."""
    with Workbench(db, read_only=True) as wb:
        df = _run_query(wb, "evidence", show_sql, kind, value, f, n)
    print_df(
        df, title=f"evidence for {kind} {value!r} — {f.describe()}", max_rows=n, fmt=out_format
    )


# ---------------------------------------------------------------- reports (issue 5)


@app.command()
@friendly
def report(
    db: DbOpt = config.DEFAULT_DB,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = (
        config.REPORTS_DIR / "overview.html"
    ),
    template: Annotated[str, typer.Option(help="Built-in report template.")] = "overview",
    notebook: Annotated[
        str | None,
        typer.Option(help="Render this curated notebook (path, name or number in notebooks/)."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="Page title.")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First date (YYYY-MM-DD).")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last date (YYYY-MM-DD).")] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only these outlets (repeatable).")
    ] = None,
    country: Annotated[
        list[str] | None, typer.Option("--country", help="Only articles about ISO3 (repeatable).")
    ] = None,
    actor: Annotated[
        list[str] | None, typer.Option("--actor", help="Only articles mentioning (repeatable).")
    ] = None,
    theme: Annotated[
        list[str] | None, typer.Option("--theme", help="Only articles with theme (repeatable).")
    ] = None,
    text: Annotated[str | None, typer.Option(help="Only articles containing these words.")] = None,
    dedup: Annotated[
        str, typer.Option(help="none|text|story: count identical texts / stories once.")
    ] = "none",
    force: Annotated[
        bool, typer.Option(help="Replace an existing --out file that is not an earlier report.")
    ] = False,
) -> None:
    """Write a self-contained HTML report (offline, interactive, no kernel needed).
    --out is never the database or one of its inputs, nor (without --force) an existing
    file that is not an earlier report."""
    if not Path(db).exists():
        raise errors.WorkbenchError(
            f"database {db} does not exist: build one with `workbench demo` or "
            "`workbench ingest PATHS && workbench analyze`, or pass --db (env WORKBENCH_DB)."
        )

    f = Filter(
        date_from=date_from,
        date_to=date_to,
        sources=tuple(source or ()),
        countries=tuple(country or ()),
        actors=tuple(actor or ()),
        themes=tuple(theme or ()),
        text=text,
        dedup=dedup,
    )
    with Workbench(db, read_only=True) as wb:
        path = wb.report(
            out, template=template, notebook=notebook, filter=f, title=title, force=force
        )
    size = path.stat().st_size
    console.print(f"report: {path} ({size / 1e6:.2f} MB)", highlight=False)


def main() -> None:  # pragma: no cover
    app()
