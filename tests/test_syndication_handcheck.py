"""The hand-checked real pairs of issue 17 (bench/syndication_handcheck*.csv): the files
parse, the lists do not overlap, and the recall figure in bench/RESULTS.md is what the
files give (bench/synd_handcheck.py, no database needed)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
import synd_handcheck as hc  # noqa: E402

LISTS = [BENCH / "syndication_handcheck.csv",
         *(BENCH / f"syndication_handcheck{i}.csv" for i in (2, 3, 4, 5))]  # fmt: skip
POOL = BENCH / "syndication_handcheck5_pool.json"
ID = re.compile(r"[0-9a-f]{16}")


def test_every_hand_list_parses_and_no_pair_is_checked_twice():
    seen: dict[frozenset[str], Path] = {}
    for path in LISTS:
        rows = hc.read_labels(path)  # raises on a label other than same/different
        assert rows, path
        for r in rows:
            assert ID.fullmatch(r["article_a"]) and ID.fullmatch(r["article_b"]), (path, r["n"])
            assert r["article_a"] != r["article_b"]
            assert r["note"].strip(), f"{path.name} pair {r['n']} has no reason"
            pair = frozenset((r["article_a"], r["article_b"]))
            assert pair not in seen, f"{path.name} pair {r['n']} is on {seen[pair].name} too"
            seen[pair] = path


def test_list_5_is_a_stratified_sample_of_its_pool():
    rows = hc.read_labels(LISTS[-1])
    info = hc.load_pool_counts(POOL)
    assert len(rows) >= 120
    for r in rows:  # the band is the one its similarities give
        assert r["band"] == hc.band_of(max(float(r["jaccard"]), float(r["containment"])))
        assert r["class"] and r["apart_by"], r["n"]
    for band, n_pool in info["pool"].items():
        drawn = sum(r["band"] == band for r in rows)
        assert drawn == min(info["per_band"], n_pool), band
    assert set(info["pool"]) == {r["band"] for r in rows}


def test_recall_in_results_is_recomputed_from_the_files():
    info = hc.load_pool_counts(POOL)
    out = hc.estimate(
        hc.read_labels(LISTS[-1]),
        info["pool"],
        sum(info["merged_pairs"].values()),
        hc.read_labels(LISTS[-2]),
        known=info["known_unmerged"],
    )
    lo, hi = out["recall_bootstrap_95"]
    assert lo <= out["recall"] <= hi
    assert out["recall_conservative"] <= lo
    results = (BENCH / "RESULTS.md").read_text(encoding="utf-8")
    m = re.search(
        r"real-data recall \*\*([0-9.]+)\*\* \(bootstrap 95% ([0-9.]+)-([0-9.]+)\)", results
    )
    assert m, "bench/RESULTS.md states no real-data recall of hand check 5"
    assert [float(x) for x in m.groups()] == pytest.approx([out["recall"], lo, hi], abs=5e-4)


def test_wilson_interval_matches_its_formula_at_the_edges():
    assert hc.wilson(0, 0) == (0.0, 1.0)
    lo, hi = hc.wilson(80, 80)
    assert hi == 1.0 and lo == pytest.approx(0.9542, abs=1e-4)
    lo, hi = hc.wilson(13, 26)
    assert lo + hi == pytest.approx(1.0)
