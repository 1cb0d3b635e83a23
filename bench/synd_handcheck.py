"""Hand check 5 of issue 17: real pairs the stories do NOT merge, for a recall estimate.

Lists 1-4 checked pairs the pipeline merges (precision). Recall on real data needs the
pairs it leaves apart: here every pair of articles of one part that share word 5-grams
(an exact inverted index over the stored shingle sets, so independent of the LSH bands and
of ``max_candidates``), close (Jaccard >= 0.3 or containment >= 0.5), dated within 7 days
of each other (or undated), not in one story at the defaults and on none of lists 1-4.
They are banded by similarity, a seeded sample is drawn per band and written blind (no
scores, shuffled) as a sentence diff, labelled by hand, and scored by :func:`estimate`:

    recall = M * P / (M * P + sum_b N_b * s_b / n_b)

with M the pairs of articles the stories merge, P the precision of list 4, N_b the
unmerged pool of band b and s_b of its n_b sampled pairs judged the same story.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

#: Similarity bands, by s = max(Jaccard, containment of the shorter shingle set).
BANDS = [(0.3, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)]
#: Shingles held by more articles than this are left out of the index (boilerplate
#: phrases: "the company said it"); the similarity itself is exact.
MAX_DF = 200
LAG_DAYS = 7


def band_of(s: float) -> str:
    for lo, hi in BANDS:
        if lo <= s < hi:
            return f"{lo:.1f}-{min(hi, 1.0):.1f}"
    return "below"


# ---------------------------------------------------------------------------- the pool
def unpack_any(raw: bytes) -> Any:
    """A stored body of any layout: signature version n4 (six lengths, the opening last),
    n3 (five, no opening) or n2 (four, no lead), as the round-5 pool's databases hold."""
    import numpy as np

    from workbench.annotate.stories import Body, unpack_body

    a = np.frombuffer(raw, dtype="<u4")
    if len(a) >= 6 and 6 + int(a[:6].sum()) == len(a):
        return unpack_body(raw)
    n = 5 if len(a) >= 5 and 5 + int(a[:5].sum()) == len(a) else 4
    cuts = np.cumsum([n, *(int(x) for x in a[:n])])
    return Body(*(a[cuts[i] : cuts[i + 1]] for i in range(n)))


def _bodies(con: Any) -> tuple[list[str], list[Any]]:
    rows = con.execute(
        "SELECT article_id, body FROM story_signatures ORDER BY article_id"
    ).fetchall()
    return [a for a, _ in rows], [unpack_any(b) for _, b in rows]


def _shared_counts(sets: Sequence[Any]) -> Any:
    """Upper triangle of |A ∩ B| over shingles held by at most MAX_DF articles (scipy)."""
    import numpy as np
    from scipy import sparse

    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    cols = np.concatenate([np.asarray(s, dtype=np.int64) for s in sets])
    _, cols = np.unique(cols, return_inverse=True)
    x = sparse.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)))
    x.data[:] = 1
    df = np.asarray(x.sum(axis=0)).ravel()
    x = x[:, np.flatnonzero(df <= MAX_DF)]
    return sparse.triu(x @ x.T, k=1).tocoo()


def pool(db: Path, part: str, old: set[frozenset[str]]) -> tuple[list[dict[str, Any]], int]:
    """The unmerged close pairs of one source database (see the module docstring), those
    of earlier lists (``old``) marked ``old``, and the number of pairs of articles its
    stories merge."""
    import duckdb

    from workbench.annotate.stories import similarity

    con = duckdb.connect(str(db), read_only=True)
    ids, bodies = _bodies(con)
    meta = {
        a: (s, d, sid)
        for a, s, d, sid in con.execute(
            "SELECT a.article_id, a.source, a.date, c.story_id FROM articles a "
            "JOIN story_clusters c USING (article_id)"
        ).fetchall()
    }
    sizes = con.execute("SELECT count(*) FROM story_clusters GROUP BY story_id").fetchall()
    con.close()
    merged = sum(n * (n - 1) // 2 for (n,) in sizes)
    co = _shared_counts([b.shingles for b in bodies])
    out = []
    for i, j in zip(co.row, co.col, strict=True):
        a, b = ids[i], ids[j]
        (sa, da, ka), (sb, db_, kb) = meta[a], meta[b]
        if ka == kb:
            continue
        if da is not None and db_ is not None and abs((da - db_).days) > LAG_DAYS:
            continue
        jac, con_ = similarity(bodies[i].shingles, bodies[j].shingles)
        s = max(jac, con_)
        if jac < 0.3 and con_ < 0.5:
            continue
        short = min(len(bodies[i].shingles), len(bodies[j].shingles))
        out.append({"part": part, "article_a": a, "source_a": sa, "article_b": b,
                    "source_b": sb, "jaccard": round(jac, 3), "containment": round(con_, 3),
                    "min_shingles": short, "band": band_of(s),
                    "old": frozenset((a, b)) in old})  # fmt: skip
    return out, merged


def pair_ids(paths: Sequence[str]) -> set[frozenset[str]]:
    """The article pairs of hand lists, from their id columns only (labels not read)."""
    out: set[frozenset[str]] = set()
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            out |= {frozenset((r["article_a"], r["article_b"])) for r in csv.DictReader(fh)}
    return out


def draw(rows: list[dict[str, Any]], per_band: int, seed: int) -> list[dict[str, Any]]:
    """A seeded sample of ``per_band`` pairs of each band (all of a smaller band), shuffled
    so that the order tells nothing of the band."""
    rng = random.Random(seed)
    picked = []
    for band in sorted({r["band"] for r in rows}):
        inb = sorted(
            (r for r in rows if r["band"] == band),
            key=lambda r: (r["part"], r["article_a"], r["article_b"]),
        )
        picked += rng.sample(inb, min(per_band, len(inb)))
    rng.shuffle(picked)
    return picked


# ---------------------------------------------------------------------------- blind diff
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text or "") if s.strip()]


def sentence_diff(ta: str, tb: str, *, width: int = 700) -> str:
    """The sentences the two texts share (counted) and those only one has, in order."""
    sa, sb = sentences(ta), sentences(tb)
    sm = SequenceMatcher(a=sa, b=sb, autojunk=False)
    same = sum(size for _, _, size in sm.get_matching_blocks())
    lines = [f"  {same} sentences in common; A has {len(sa)}, B has {len(sb)}"]
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        for mark, chunk in (("-A", sa[i1:i2]), ("+B", sb[j1:j2])):
            if chunk:
                txt = " | ".join(chunk)
                lines.append(f"  {mark} {txt[:width]}{' ...' if len(txt) > width else ''}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- scoring
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of k successes in n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


def read_labels(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        if r["label"] not in ("same", "different"):
            raise ValueError(f"{path}: pair {r['n']} has label {r['label']!r}, not same/different")
    return rows


def _recall(merged: float, prec: float, fn: float) -> float:
    tp = merged * prec
    return tp / (tp + fn) if tp + fn else float("nan")


def estimate(
    sample: list[dict[str, str]],
    pool_counts: dict[str, int],
    merged: int,
    precision_labels: list[dict[str, str]],
    *,
    known: dict[str, dict[str, int]] | None = None,
    reps: int = 10_000,
    seed: int = 17,
) -> dict[str, Any]:
    """Recall of the merged real pairs over merged + unmerged true pairs, the unmerged
    weighted back to the pool by band, plus ``known`` (pool pairs of earlier lists, counted
    with their labels); a stratified bootstrap (bands and list 4 resampled) and a
    conservative bound (Wilson lower precision, Wilson upper same-share per band)."""
    known_fn = sum(k["same"] for k in (known or {}).values())
    by_band: dict[str, list[bool]] = {}
    for r in sample:
        by_band.setdefault(r["band"], []).append(r["label"] == "same")
    prec_hits = [r["label"] == "same" for r in precision_labels]
    prec = sum(prec_hits) / len(prec_hits)
    bands = {}
    fn = fn_hi = float(known_fn)
    for band, n_pool in sorted(pool_counts.items()):
        got = by_band.get(band, [])
        k, n = sum(got), len(got)
        lo, hi = wilson(k, n)
        fn += n_pool * k / n if n else 0.0
        fn_hi += n_pool * hi
        bands[band] = {"pool": n_pool, "sampled": n, "same": k,
                       "wilson": [round(lo, 4), round(hi, 4)],
                       "est_true_unmerged": round(n_pool * k / n, 1) if n else None}  # fmt: skip
    rng = random.Random(seed)
    boot = []
    for _ in range(reps):
        f = known_fn + sum(
            pool_counts[b] * sum(rng.choices(v, k=len(v))) / len(v) for b, v in by_band.items() if v
        )
        p = sum(rng.choices(prec_hits, k=len(prec_hits))) / len(prec_hits)
        boot.append(_recall(merged, p, f))
    boot.sort()
    p_lo = wilson(sum(prec_hits), len(prec_hits))[0]
    return {
        "merged_pairs": merged,
        "precision": round(prec, 4),
        "precision_wilson": [round(x, 4) for x in wilson(sum(prec_hits), len(prec_hits))],
        "known_true_unmerged": known_fn,
        "est_true_unmerged": round(fn, 1),
        "recall": round(_recall(merged, prec, fn), 4),
        "recall_bootstrap_95": [
            round(boot[int(0.025 * reps)], 4),
            round(boot[int(0.975 * reps)], 4),
        ],
        "recall_conservative": round(_recall(merged, p_lo, fn_hi), 4),
        "bands": bands,
        "missed_by_class": missed(sample, pool_counts, "class"),
        "missed_by_apart_by": missed(sample, pool_counts, "apart_by"),
    }


def missed(sample: list[dict[str, str]], pool_counts: dict[str, int], key: str) -> dict:
    """The sampled true pairs by ``key``: [count in the sample, weighted to the pool]."""
    n_band: dict[str, int] = {}
    for r in sample:
        n_band[r["band"]] = n_band.get(r["band"], 0) + 1
    out: dict[str, list[float]] = {}
    for r in sample:
        if r["label"] == "same" and r.get(key):
            got = out.setdefault(r[key], [0, 0.0])
            got[0] += 1
            got[1] += pool_counts[r["band"]] / n_band[r["band"]]
    return {k: [c, round(w, 1)] for k, (c, w) in sorted(out.items(), key=lambda x: -x[1][1])}


def load_pool_counts(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def blind_entry(n: int, r: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> str:
    """One pair for labelling: outlets, dates, headlines, lengths and the sentence diff,
    without its similarity or band."""
    head = [f"### {n} [{r['part']}] {r['article_a']} | {r['article_b']}"]
    for mark, x in (("A", a), ("B", b)):
        day = str(x["date"])[:10] if x["date"] is not None else "undated"
        head.append(f"{mark}: {x['source']} {day} {len(x['text'])} chars: {x['title']!r}")
    return "\n".join([*head, sentence_diff(a["text"], b["text"]), "", ""])


# ---------------------------------------------------------------------------- after a change
def story_pairs_of(db: Path) -> set[frozenset[str]]:
    """Every pair of articles in one story of a source database."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT list(article_id ORDER BY article_id) FROM story_clusters GROUP BY story_id "
        "HAVING count(*) > 1"
    ).fetchall()
    con.close()
    return {frozenset((a, b)) for (ids,) in rows for i, a in enumerate(ids) for b in ids[i + 1 :]}


def after_totals(
    sample: list[dict[str, str]],
    pool_counts: dict[str, int],
    before: set[frozenset[str]],
    after: set[frozenset[str]],
    precision_labels: list[dict[str, str]],
    *,
    known_same: int,
    reps: int = 10_000,
    seed: int = 17,
    exact: Sequence[dict[str, str]] = (),
) -> tuple[tuple[float, float, float], list[tuple[float, float, float]]]:
    """(true, missed, false) pairs, weighted to the pool, of the pairs a changed pipeline
    merges (``after``) on the pool drawn at the old defaults (``before``), and the same for
    each stratified bootstrap replicate (bands and the precision list resampled): true =
    P * kept + the pool's same pairs now merged (band-weighted); missed = its same pairs
    still apart + ``known_same`` (earlier lists' pool pairs, taken as still apart: recall's
    lower bound); false = (1 - P) * kept + its different pairs now merged. ``exact``:
    labelled pairs outside ``pool_counts`` that are the rest of the pool, counted once
    each (not resampled)."""
    hits = [(r["label"] == "same", frozenset((r["article_a"], r["article_b"])) in after)
            for r in exact]  # fmt: skip
    kept = len(before & after)
    by_band: dict[str, list[tuple[bool, bool]]] = {}
    for r in sample:
        pair = frozenset((r["article_a"], r["article_b"]))
        by_band.setdefault(r["band"], []).append((r["label"] == "same", pair in after))
    prec_hits = [r["label"] == "same" for r in precision_labels]

    def totals(bands: dict[str, list[tuple[bool, bool]]], p: float) -> tuple[float, float, float]:
        tp, fn, fp = kept * p, float(known_same), kept * (1 - p)
        tp += sum(s and m for s, m in hits)
        fn += sum(s and not m for s, m in hits)
        fp += sum(m and not s for s, m in hits)
        for b, v in bands.items():
            w = pool_counts[b] / len(v)
            tp += w * sum(s and m for s, m in v)
            fn += w * sum(s and not m for s, m in v)
            fp += w * sum(m and not s for s, m in v)
        return tp, fn, fp

    rng = random.Random(seed)
    boot = [
        totals(
            {b: rng.choices(v, k=len(v)) for b, v in by_band.items()},
            sum(rng.choices(prec_hits, k=len(prec_hits))) / len(prec_hits),
        )
        for _ in range(reps)
    ]
    return totals(by_band, sum(prec_hits) / len(prec_hits)), boot


def _pr(t: tuple[float, float, float]) -> tuple[float, float]:
    """(precision, recall) of (true, missed, false) totals."""
    tp, fn, fp = t
    return tp / (tp + fp) if tp + fp else float("nan"), tp / (tp + fn) if tp + fn else float("nan")


def percentile_ci(values: list[float]) -> list[float]:
    v = sorted(values)
    return [round(v[int(0.025 * len(v))], 4), round(v[int(0.975 * len(v))], 4)]


def estimate_after(
    sample: list[dict[str, str]],
    pool_counts: dict[str, int],
    before: set[frozenset[str]],
    after: set[frozenset[str]],
    precision_labels: list[dict[str, str]],
    *,
    known_same: int,
    reps: int = 10_000,
    seed: int = 17,
) -> dict[str, Any]:
    """Recall and precision (totals only) of :func:`after_totals`, with the counts of merged
    pairs kept, lost and new off the list."""
    point, boot = after_totals(sample, pool_counts, before, after, precision_labels,
                               known_same=known_same, reps=reps, seed=seed)  # fmt: skip
    pool_ids = {frozenset((r["article_a"], r["article_b"])) for r in sample}
    merged = [(r["label"] == "same", frozenset((r["article_a"], r["article_b"])) in after)
              for r in sample]  # fmt: skip
    precision, recall = _pr(point)
    return {
        "merged_before": len(before),
        "merged_after": len(after),
        "kept": len(before & after),
        "lost": len(before - after),
        "new_not_on_list": len(after - before - pool_ids),
        "sample_same_now_merged": sum(s and m for s, m in merged),
        "sample_same": sum(s for s, _ in merged),
        "sample_different_now_merged": sum(m and not s for s, m in merged),
        "recall": round(recall, 4),
        "recall_bootstrap_95": percentile_ci([_pr(t)[1] for t in boot]),
        "precision": round(precision, 4),
        "precision_bootstrap_95": percentile_ci([_pr(t)[0] for t in boot]),
        "totals": [round(x, 1) for x in point],
    }


def combined(
    synthetic: tuple[int, int, int],
    real: tuple[tuple[float, float, float], list[tuple[float, float, float]]],
    *,
    seed: int = 17,
) -> dict[str, Any]:
    """Precision and recall of the synthetic pairs (true, missed, false counts) and the
    real pairs (:func:`after_totals`) pooled, with a bootstrap interval: the synthetic
    counts drawn multinomially beside each real replicate."""
    import numpy as np

    point = tuple(a + b for a, b in zip(synthetic, real[0], strict=True))
    n = sum(synthetic)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, np.asarray(synthetic) / n, size=len(real[1]))
    boot = [
        tuple(d + r for d, r in zip(dr, rr, strict=True))
        for dr, rr in zip(draws, real[1], strict=True)
    ]
    p, r = _pr(point)
    return {
        "true": round(point[0], 1), "missed": round(point[1], 1), "false": round(point[2], 1),
        "precision": round(p, 4), "precision_bootstrap_95": percentile_ci([_pr(t)[0] for t in boot]),
        "recall": round(r, 4), "recall_bootstrap_95": percentile_ci([_pr(t)[1] for t in boot]),
    }  # fmt: skip


def candidate_misses(db: Path, held: set[frozenset[str]]) -> dict[str, int]:
    """Label-free check of candidate generation: of the pairs the stored options' verifier
    accepts among all pairs sharing a shingle (the exact index of :func:`pool`) within the
    lag window, how many were proposed and stored (pairs in ``held`` left out)."""
    import duckdb
    import numpy as np

    from workbench.annotate import stories

    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT s.article_id, s.body, a.date FROM story_signatures s "
        "JOIN articles a USING (article_id) ORDER BY s.article_id"
    ).fetchall()
    opts = stories.stored_options(con)
    stored = {
        frozenset(p) for p in con.execute("SELECT article_id, other_id FROM story_pairs").fetchall()
    }
    con.close()
    ids, day = [r[0] for r in rows], [r[2] for r in rows]
    bod = [stories.unpack_body(r[1]) for r in rows]
    co = _shared_counts([b.shingles for b in bod])
    near = [
        k
        for k, (i, j) in enumerate(zip(co.row, co.col, strict=True))
        if day[i] is None or day[j] is None or abs((day[i] - day[j]).days) <= opts.max_lag_days
    ]
    li, ri = co.row[near].astype(np.int64), co.col[near].astype(np.int64)
    jac, cont, ok, again = stories._rules(bod, bod, li, ri, opts)
    acc = ok & ((jac >= opts.jaccard) | (cont >= opts.containment) | again)
    pairs = [frozenset((ids[li[k]], ids[ri[k]])) for k in np.flatnonzero(acc)]
    pairs = [p for p in pairs if p not in held]
    found = sum(p in stored for p in pairs)
    return {"accepted": len(pairs), "proposed": found, "never_proposed": len(pairs) - found}
