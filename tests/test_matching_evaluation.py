"""Tests of the evaluation metrics and of the engine's quality on the dev file."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from matchmaker.matching.evaluation import (
    evaluate_file,
    evaluate_rankings,
    format_report,
    mrr,
    ndcg_at_k,
    precision_at_k,
    rank_by_score,
)

DEV_FILE = Path(__file__).resolve().parent / "data" / "matching-dev.json"
HELDOUT_FILE = Path(__file__).resolve().parents[1] / "bench/data/matching-heldout.json"
REAL_DEV_FILE = Path(__file__).resolve().parent / "data" / "matching-real-dev.json"
# two more real events (copies of retired held-out sets 16 and 20 of bench/data, development data)
REAL_EVENT_FILES = (
    Path(__file__).parent / "data" / "matching-real-heldout16.json",
    Path(__file__).parent / "data" / "matching-real-heldout20.json",
)


def test_ndcg_hand_computed():
    # ranked grades 0, 3, 1 against ideal 3, 1, 0
    dcg = 0 + 7 / math.log2(3) + 1 / math.log2(4)
    idcg = 7 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k([0, 3, 1], [3, 1, 0], 5) == pytest.approx(dcg / idcg)
    assert ndcg_at_k([3, 1, 0], [0, 1, 3], 5) == pytest.approx(1.0)
    assert ndcg_at_k([0, 0], [0, 0], 5) == 0.0


def test_precision_and_mrr_hand_computed():
    assert precision_at_k([2, 1, 3, 2], 3) == pytest.approx(2 / 3)
    assert precision_at_k([1, 1, 1], 3) == 0.0
    assert mrr([1, 0, 2, 3]) == pytest.approx(1 / 3)
    assert mrr([0, 1]) == 0.0


def test_ties_keep_file_order():
    assert rank_by_score([0.5, 0.9, 0.5, 0.9]) == [1, 3, 0, 2]


def test_evaluate_rankings_on_tiny_example():
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.2, 0.1]])
    qrels = {"a": {"x": 1, "z": 3}, "b": {"y": 2}}
    result = evaluate_rankings(scores, ["a", "b"], ["x", "y", "z"], qrels)
    # a: ranking x(1), z(3), y(0); b: ranking x(0), y(2) (tie, file order), z(0)
    ndcg_a = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))
    ndcg_b = (3 / math.log2(3)) / 3
    assert result["ndcg@5"] == pytest.approx((ndcg_a + ndcg_b) / 2)
    assert result["p@3"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert result["mrr"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert result["n"] == 2
    only_relevant = evaluate_rankings(
        scores, ["a", "b"], ["x", "y", "z"], {"b": {"y": 2}}, require_relevant=True
    )
    assert only_relevant["n"] == 1
    assert only_relevant["mrr"] == pytest.approx(0.5)


def test_dev_file_reaches_targets():
    assert DEV_FILE.exists(), f"evaluation file missing: {DEV_FILE}"
    result = evaluate_file(DEV_FILE)
    sme = result["engine"]["sme"]
    assert sme["n"] == len(json.loads(DEV_FILE.read_text(encoding="utf-8"))["smes"])
    # achieved 0.901 / 0.938 / 0.915 (seed 0, 2026-12-06, branch engine13; 0.892 / 0.925 / 0.915
    # before its hubness correction);
    # the floors leave a margin for small changes of the thesaurus or weights, and stay at or
    # above the targets
    assert sme["ndcg@5"] >= 0.86
    assert sme["mrr"] >= 0.88
    assert result["engine"]["startup"]["ndcg@5"] >= 0.85
    # the metric code reproduces the README's reference figures
    assert result["baselines"]["word"]["sme"]["ndcg@5"] == pytest.approx(0.38, abs=0.01)
    assert result["baselines"]["char"]["sme"]["ndcg@5"] == pytest.approx(0.60, abs=0.01)
    report = format_report(result)
    assert "SME→startup" in report and "startup→SME" in report


def test_held_out_file_stays_above_the_targets():
    """Regression guard: the file has been looked at during changes, so it is no longer blind."""
    result = evaluate_file(HELDOUT_FILE)
    engine, char = result["engine"]["sme"], result["baselines"]["char"]["sme"]
    assert engine["n"] == 40
    assert engine["ndcg@5"] >= 0.85 and engine["mrr"] >= 0.85
    assert result["engine"]["startup"]["ndcg@5"] >= 0.8
    assert engine["ndcg@5"] - char["ndcg@5"] >= 0.15  # the gain is not only character overlap


def test_real_dev_file_stays_above_the_character_baseline():
    """Real press and vendor texts (a copy of the bench's real dev set, development data)."""
    result = evaluate_file(REAL_DEV_FILE)
    engine, char = result["engine"]["sme"], result["baselines"]["char"]["sme"]
    # achieved 0.860 nDCG@5 / 0.886 MRR, startup→SME 0.857, char n-grams 0.386 (seed 0,
    # branch engine14); the floors leave a margin for small changes of the thesaurus or weights
    assert engine["ndcg@5"] >= 0.79 and engine["mrr"] >= 0.8
    assert result["engine"]["startup"]["ndcg@5"] >= 0.79
    assert engine["ndcg@5"] - char["ndcg@5"] >= 0.3


def test_two_more_real_events_stay_above_a_floor():
    """Two real events of trades and services told in their own words (opticians, chimney sweeps,
    funeral homes; a wholesaler, a canteen, holiday homes), development data.

    A floor against regressions on real text. It does not separate the block weights: their
    choice (characters 1.0, concepts 0.5) gains +0.0045 over twenty-four real sets, too diffuse
    for a test of two; ``bench/bench_matching.py --cv-only`` measures it."""
    results = [evaluate_file(path, baselines=False) for path in REAL_EVENT_FILES]
    sme = [r["engine"]["sme"]["ndcg@5"] for r in results]
    # achieved 0.621 and 0.809, mean 0.715 (seed 0; 0.706-0.715 over seeds 0-2), 2026-12-07,
    # tenth session, sector weight 0.75, corpus of 1,951 texts (ninth session: 0.712-0.719;
    # 0.693-0.708 with the earlier block weights)
    assert sum(sme) / len(sme) >= 0.69
    assert all(r["engine"]["startup"]["ndcg@5"] >= 0.55 for r in results)
