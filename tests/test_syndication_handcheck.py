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


LIST6 = BENCH / "syndication_handcheck6.csv"
POOL6 = BENCH / "syndication_handcheck6_pool.json"


def _assert_fresh_stratified(rows: list[dict], info: dict, earlier: set) -> None:
    """No pair from an earlier list, each in its band, labelled with a class and a note,
    and per band as many as the draw asked for (or the whole band)."""
    for r in rows:
        assert frozenset((r["article_a"], r["article_b"])) not in earlier, r["n"]
        assert r["band"] == hc.band_of(max(float(r["jaccard"]), float(r["containment"])))
        assert r["class"] and r["note"].strip(), r["n"]
    for band, n_pool in info["pool"].items():
        assert sum(r["band"] == band for r in rows) == min(info["per_band"], n_pool), band


def test_list_6_is_a_fresh_stratified_sample_off_lists_1_to_5():
    rows = hc.read_labels(LIST6)
    info = hc.load_pool_counts(POOL6)
    earlier = hc.pair_ids([str(p) for p in LISTS])
    assert len(rows) >= 80 and info["excluded_lists"] == ["syndication_handcheck5.csv"]
    _assert_fresh_stratified(rows, info, earlier)


LIST7 = BENCH / "syndication_handcheck7.csv"
POOL7 = BENCH / "syndication_handcheck7_pool.json"


def test_list_7_is_a_fresh_stratified_sample_off_lists_1_to_6():
    rows = hc.read_labels(LIST7)
    info = hc.load_pool_counts(POOL7)
    earlier = hc.pair_ids([str(p) for p in [*LISTS, LIST6]])
    assert len(rows) >= 80
    assert info["excluded_lists"] == ["syndication_handcheck5.csv", "syndication_handcheck6.csv"]
    _assert_fresh_stratified(rows, info, earlier)
    pool6 = hc.load_pool_counts(POOL6)["pool"]  # list 7's pool is list 6's less list 6
    drawn6 = {b: sum(r["band"] == b for r in hc.read_labels(LIST6)) for b in pool6}
    assert {b: n for b, n in info["pool"].items()} == {
        b: pool6[b] - drawn6[b] for b in pool6 if pool6[b] - drawn6[b]
    }


LIST8 = BENCH / "syndication_handcheck8.csv"
POOL8 = BENCH / "syndication_handcheck8_pool.json"


def test_list_8_is_a_fresh_stratified_sample_off_lists_1_to_7():
    rows = hc.read_labels(LIST8)
    info = hc.load_pool_counts(POOL8)
    earlier = hc.pair_ids([str(p) for p in [*LISTS, LIST6, LIST7]])
    assert len(rows) >= 80
    assert info["excluded_lists"] == [f"syndication_handcheck{i}.csv" for i in (5, 6, 7)]
    _assert_fresh_stratified(rows, info, earlier)
    pool7 = hc.load_pool_counts(POOL7)["pool"]  # list 8's pool is list 7's less list 7
    drawn7 = {b: sum(r["band"] == b for r in hc.read_labels(LIST7)) for b in pool7}
    assert info["pool"] == {b: pool7[b] - drawn7[b] for b in pool7 if pool7[b] - drawn7[b]}


LIST9 = BENCH / "syndication_handcheck9.csv"
POOL9 = BENCH / "syndication_handcheck9_pool.json"


def test_list_9_is_a_fresh_stratified_sample_off_lists_1_to_8():
    rows = hc.read_labels(LIST9)
    info = hc.load_pool_counts(POOL9)
    earlier = hc.pair_ids([str(p) for p in [*LISTS, LIST6, LIST7, LIST8]])
    assert len(rows) >= 80
    assert info["excluded_lists"] == [f"syndication_handcheck{i}.csv" for i in (5, 6, 7, 8)]
    _assert_fresh_stratified(rows, info, earlier)
    pool8 = hc.load_pool_counts(POOL8)["pool"]  # list 9's pool is list 8's less list 8
    drawn8 = {b: sum(r["band"] == b for r in hc.read_labels(LIST8)) for b in pool8}
    assert info["pool"] == {b: pool8[b] - drawn8[b] for b in pool8 if pool8[b] - drawn8[b]}


def test_lists_5_to_8_and_list_9s_pool_are_round_5s_whole_pool():
    """So `labelled-set` may count lists 5-8 as they are and weight list 9 to the rest."""
    from collections import Counter

    drawn = Counter(r["band"] for p in (LISTS[-1], LIST6, LIST7, LIST8) for r in hc.read_labels(p))
    rest = hc.load_pool_counts(POOL9)["pool"]
    whole = hc.load_pool_counts(POOL)["pool"]
    assert {b: drawn[b] + rest.get(b, 0) for b in whole} == whole


def test_exact_pairs_count_once_beside_the_weighted_sample():
    row = {"article_a": "a", "article_b": "b", "band": "0.3-0.6", "label": "same"}
    other = {"article_a": "c", "article_b": "d", "band": "0.3-0.6", "label": "different"}
    after = {frozenset(("a", "b")), frozenset(("c", "d"))}
    base, _ = hc.after_totals([row], {"0.3-0.6": 10}, set(), after, [row], known_same=0, reps=1)
    got, _ = hc.after_totals([row], {"0.3-0.6": 10}, set(), after, [row], known_same=0, reps=1,
                             exact=[other, {**row, "article_b": "e"}])  # fmt: skip
    assert base == (10.0, 0.0, 0.0) and got == (10.0, 1.0, 1.0)


def test_recall_after_a_change_that_merges_nothing_new_is_the_recall_before():
    """``estimate_after`` with the same merged pairs before and after gives ``estimate``'s
    recall (the known pool pairs counted as missed in both)."""
    rows, info = hc.read_labels(LIST6), hc.load_pool_counts(POOL6)
    merged = sum(info["merged_pairs"].values())
    before = {frozenset((f"m{i}", f"n{i}")) for i in range(merged)}
    prec = hc.read_labels(LISTS[-2])
    known = sum(k["same"] for k in info["known_unmerged"].values())
    got = hc.estimate_after(rows, info["pool"], before, set(before), prec, known_same=known,
                            reps=200)  # fmt: skip
    want = hc.estimate(rows, info["pool"], merged, prec, known=info["known_unmerged"], reps=200)
    assert got["recall"] == pytest.approx(want["recall"], abs=1e-4)
    assert got["lost"] == 0 and got["sample_same_now_merged"] == 0
    now = set(before) | {frozenset((r["article_a"], r["article_b"])) for r in rows}
    all_in = hc.estimate_after(rows, info["pool"], before, now, prec, known_same=known, reps=200)
    assert all_in["recall"] > got["recall"] and all_in["precision"] < 1.0


def test_the_combined_labelled_set_pools_the_counts_of_both_parts():
    """``combined`` adds the synthetic counts to the real totals; its interval holds it."""
    rows, info = hc.read_labels(LIST6), hc.load_pool_counts(POOL6)
    merged = sum(info["merged_pairs"].values())
    before = {frozenset((f"m{i}", f"n{i}")) for i in range(merged)}
    now = set(before) | {frozenset((r["article_a"], r["article_b"])) for r in rows[:40]}
    real = hc.after_totals(rows, info["pool"], before, now, hc.read_labels(LISTS[-2]),
                           known_same=0, reps=300)  # fmt: skip
    got = hc.combined((1000, 10, 2), real)
    tp, fn, fp = (a + b for a, b in zip((1000, 10, 2), real[0], strict=True))
    assert got["precision"] == pytest.approx(tp / (tp + fp), abs=1e-4)
    assert got["recall"] == pytest.approx(tp / (tp + fn), abs=1e-4)
    for key in ("precision", "recall"):
        lo, hi = got[f"{key}_bootstrap_95"]
        assert lo <= got[key] <= hi
