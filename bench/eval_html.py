"""Body extraction of web pages vs the article-extraction benchmark's ground truth.

    python bench/eval_html.py [--candidates]

Scores ``workbench.ingest.load_web`` (the extraction ``workbench ingest`` runs on ``html``/``warc``
inputs) beside plain ``trafilatura.extract(html)`` with its defaults, on the same pages of
``../shared/corpora/article-extraction-dev`` (91 gzip HTML pages + ``ground-truth.json``).

Metric: the benchmark's own (Scrapinghub article-extraction-benchmark ``evaluate.py``, MIT):
``\\w+`` tokens, word 4-gram shingles as multisets; per page tp/fp/fn normalised to sum 1;
precision averaged over pages with a non-empty prediction, recall over pages with a
non-empty truth (its ``precision_score``/``recall_score`` edge cases); F1 from the two
averages.

The pages are split in two halves by their sha256 key (even/odd first hex digit value):
``--candidates`` also scores a few general trafilatura settings; a setting is chosen on
half A only and reported on half B and on all 91 (the benchmark's other half, held
elsewhere, checks the result independently).

Title and date: the ground truth has neither, so they are scored where the page itself
states them, parsed here independently of trafilatura with lxml: title = ``og:title``
(else ``twitter:title``) meta; date = JSON-LD ``datePublished``, else the
``article:published_time`` / ``datePublished`` / ``pubdate`` meta, date part as written.
trafilatura/htmldate read the same kinds of markup, so this checks that the pipeline picks
the stated value (not a modified date, a URL date or a guess), not an unrelated ground truth.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from workbench.base import config  # noqa: E402
from workbench.ingest import load_web  # noqa: E402

DATA = config.SHARED_DIR / "corpora" / "article-extraction-dev"
_TOKEN = re.compile(r"\w+", re.UNICODE)


# --------------------------------------------------------------------------- metric


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(
        tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n]
    )


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def score(truth: dict[str, str], pred: dict[str, str], keys: list[str]) -> dict[str, float]:
    counts = [tp_fp_fn(truth[k], pred.get(k) or "") for k in keys]
    p = statistics.mean([_precision(*c) for c in counts if c[0] + c[1] > 0] or [0.0])
    r = statistics.mean([_recall(*c) for c in counts if c[0] + c[2] > 0] or [0.0])
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "pages": len(keys)}


# --------------------------------------------------------------------------- stated title/date


def stated(html: bytes) -> tuple[str | None, str | None]:
    """(title, date) the page states in its markup, parsed independently of trafilatura."""
    import lxml.html

    try:
        text = html.decode("utf-8")
    except UnicodeDecodeError:
        text = html.decode("cp1252", "replace")
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)  # lxml refuses str with an encoding declaration
    try:
        tree = lxml.html.fromstring(text)
    except Exception:  # noqa: BLE001 - unparsable page: nothing stated
        return None, None

    def meta(*names: str) -> str | None:
        for name in names:
            for el in tree.xpath(
                f'//meta[@property="{name}" or @name="{name}" or @itemprop="{name}"]'
            ):
                value = (el.get("content") or "").strip()
                if value:
                    return value
        return None

    title = meta("og:title", "twitter:title")
    date = None
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        m = re.search(r'"datePublished"\s*:\s*"(\d{4}-\d{2}-\d{2})', script.text_content() or "")
        if m:
            date = m.group(1)
            break
    if date is None:
        value = meta("article:published_time", "datePublished", "pubdate", "publishdate")
        m = re.match(r"\d{4}-\d{2}-\d{2}", value or "")
        date = m.group(0) if m else None
    if date is not None and date < "1995":
        date = None  # placeholders such as 0001-01-01 state nothing
    return title, date


def _norm_title(s: str | None) -> str:
    return " ".join((s or "").split()).casefold()


# --------------------------------------------------------------------------- runs

CANDIDATES: dict[str, dict[str, Any]] = {
    "comments off": {"include_comments": False},
    "comments off + favor_precision (shipped)": {
        "include_comments": False,
        "favor_precision": True,
    },
    "comments off + favor_recall": {"include_comments": False, "favor_recall": True},
    "comments off + fast (no fallbacks)": {"include_comments": False, "fast": True},
    "comments off + no tables": {"include_comments": False, "include_tables": False},
    "comments off + favor_precision + fast": {
        "include_comments": False,
        "favor_precision": True,
        "fast": True,
    },
}


def run_ours(pages: dict[str, bytes], urls: dict[str, str]) -> tuple[dict[str, Any], float]:
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    for k, html in pages.items():
        doc = load_web.extract_text(html, url=urls.get(k))
        out[k] = doc
    return out, time.perf_counter() - t0


def run_plain(pages: dict[str, bytes], **kwargs: Any) -> tuple[dict[str, str], float]:
    import trafilatura

    out: dict[str, str] = {}
    t0 = time.perf_counter()
    for k, html in pages.items():
        out[k] = trafilatura.extract(html, **kwargs) or ""
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", action="store_true", help="also score other settings")
    ap.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"skip: needs {DATA} (the ../shared corpora are not present)")
        return
    import logging

    logging.disable(logging.WARNING)  # trafilatura logs every page it finds nothing on
    gt = json.loads((DATA / "ground-truth.json").read_text())
    truth = {k: v["articleBody"] for k, v in gt.items()}
    urls = {k: v.get("url") for k, v in gt.items()}
    pages = {k: gzip.decompress((DATA / "html" / f"{k}.html.gz").read_bytes()) for k in gt}
    keys = sorted(gt)
    half_a = [k for k in keys if int(k[0], 16) % 2 == 0]
    half_b = [k for k in keys if int(k[0], 16) % 2 == 1]
    splits = {"A (tune)": half_a, "B (held)": half_b, "all": keys}
    print(f"{len(keys)} pages ({len(half_a)} in half A, {len(half_b)} in half B); {DATA}")

    docs, t_ours = run_ours(pages, urls)
    ours = {
        k: load_web.paragraphs(d.text or "", d.title) if d is not None else ""
        for k, d in docs.items()
    }
    plain, t_plain = run_plain(pages)
    rows: list[tuple[str, dict[str, dict[str, float]], float]] = [
        ("workbench (load_web)", {s: score(truth, ours, ks) for s, ks in splits.items()}, t_ours),
        (
            "trafilatura.extract defaults",
            {s: score(truth, plain, ks) for s, ks in splits.items()},
            t_plain,
        ),
    ]
    if args.candidates:
        keep = {k: load_web.paragraphs(d.text or "") if d else "" for k, d in docs.items()}
        rows.append(
            (
                "  shipped, title paragraph kept",
                {s: score(truth, keep, ks) for s, ks in splits.items()},
                t_ours,
            )
        )
        for name, kw in CANDIDATES.items():
            pred, t = run_plain(pages, **kw)
            rows.append((f"  {name}", {s: score(truth, pred, ks) for s, ks in splits.items()}, t))
    print(f"\n{'extraction':<44} " + "  ".join(f"{s:>22}" for s in splits) + "   s/page")
    print(f"{'':<44} " + "  ".join(f"{'P     R     F1':>22}" for _ in splits))
    for name, res, t in rows:
        cells = "  ".join(
            f"{r['precision']:.3f} {r['recall']:.3f} {r['f1']:.4f}".rjust(22) for r in res.values()
        )
        print(f"{name:<44} {cells}   {t / len(keys):.3f}")

    # Title and date where the page states them.
    title_n = title_eq = title_in = date_n = date_eq = date_any = 0
    for k in keys:
        t_true, d_true = stated(pages[k])
        d = docs[k]
        if t_true:
            title_n += 1
            a, b = _norm_title(t_true), _norm_title(d.title if d else None)
            title_eq += a == b
            title_in += bool(b) and (a == b or b in a or a in b)
        if d_true:
            date_n += 1
            got = (d.date or "")[:10] if d else ""
            date_eq += got == d_true
            date_any += bool(got)
    print(
        f"\ntitle: {title_n} pages state og:title/twitter:title; ours equal {title_eq} "
        f"({title_eq / max(title_n, 1):.1%}), equal or one contains the other {title_in} "
        f"({title_in / max(title_n, 1):.1%})"
    )
    print(
        f"date: {date_n} pages state a published date (JSON-LD/meta); ours gives a date for "
        f"{date_any}, the stated one for {date_eq} ({date_eq / max(date_n, 1):.1%})"
    )
    undated = sum(1 for k in keys if docs[k] is not None and not docs[k].date)
    print(f"pages with no date from us at all: {undated} of {len(keys)}")
    if args.json:
        args.json.write_text(
            json.dumps({n.strip(): r for n, r, _ in rows}, indent=2), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
