"""The pure re-ranker: its minimum, what it learns, and its JSON artefact (no app needed)."""

import json

import numpy as np
import pytest

from matchmaker.matching.engine import MatchEngine, Profile
from matchmaker.matching.engine.rerank import (
    FEATURES,
    MIN_PER_CLASS,
    NotEnoughFeedback,
    ReRanker,
    enough_feedback,
    pair_features,
)

REGION = FEATURES.index("same_region")


def region_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pairs where exactly the ones in the viewer's region fit."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, len(FEATURES)))
    X[:, REGION] = np.arange(n) % 2
    return X, (np.arange(n) % 2).astype(int)


@pytest.mark.parametrize(
    ("labels", "enough"),
    [
        ([1, 0] * 25, True),
        ([1, 0] * 24 + [1], False),  # 49 pairs
        ([1] * 50, False),  # one class only
        ([1] * 46 + [0] * (MIN_PER_CLASS - 1), False),
        ([1] * 45 + [0] * MIN_PER_CLASS, True),
    ],
)
def test_the_minimum_needs_enough_pairs_and_both_classes(labels, enough):
    assert enough_feedback(labels, 50) is enough
    X = np.zeros((len(labels), len(FEATURES)))
    if enough:
        assert ReRanker(min_pairs=50).fit(X, labels).n_pairs_ == len(labels)
    else:
        with pytest.raises(NotEnoughFeedback):
            ReRanker(min_pairs=50).fit(X, labels)


def test_it_learns_a_consistent_signal_and_survives_json():
    X, y = region_data(80)
    reranker = ReRanker(min_pairs=50).fit(X, y)
    assert reranker.coef_[REGION] > 0
    candidates = np.zeros((4, len(FEATURES)))
    candidates[:, 0] = [0.9, 0.8, 0.7, 0.6]  # the engine's order
    candidates[2:, REGION] = 1
    assert reranker.order(candidates)[:2] == [2, 3]
    again = ReRanker.from_dict(json.loads(json.dumps(reranker.to_dict())))
    assert again.order(candidates) == reranker.order(candidates)
    np.testing.assert_allclose(
        again.decision_function(candidates), reranker.decision_function(candidates)
    )


def test_an_artefact_of_other_features_is_refused():
    data = ReRanker(min_pairs=50).fit(*region_data(60)).to_dict()
    data["features"] = data["features"][:-1]
    with pytest.raises(ValueError, match="other features"):
        ReRanker.from_dict(data)


def test_pair_features_describe_score_blocks_categories_and_kind():
    smes = [
        Profile("s1", "sme", "Wir suchen KI für Eingangsrechnungen und Buchhaltung.", sector="Bau"),
        Profile("s2", "sme", "Vorausschauende Wartung unserer Pumpen mit Sensordaten."),
    ]
    startups = [
        Profile(
            "t1",
            "startup",
            "Automatische Erfassung von Eingangsrechnungen, Buchhaltung mit KI.",
            sector="Bau",
            categories=("bookkeeping",),
        ),
        Profile("t2", "startup", "Vorausschauende Wartung für Pumpen mit Sensordaten."),
    ]
    engine = MatchEngine().fit(smes + startups)
    X = pair_features(engine, "s1", ["t1", "t2"], [True, False])
    assert X.shape == (2, len(FEATURES))
    scores = [engine.score_pair("s1", "t1"), engine.score_pair("s1", "t2")]
    np.testing.assert_allclose(X[:, 0], scores, rtol=1e-5)  # float32 vectors
    assert X[0, FEATURES.index("concepts")] > X[1, FEATURES.index("concepts")]
    assert X[0, FEATURES.index("same_sector")] == 1 and X[1, FEATURES.index("same_sector")] == 0
    assert X[:, REGION].tolist() == [1, 0]
    assert X[0, FEATURES.index("cat:bookkeeping")] == 1
    assert X[:, FEATURES.index("viewer_sme")].tolist() == [1, 1]
    assert pair_features(engine, "t1", ["s1"])[0, FEATURES.index("viewer_sme")] == 0


def test_feedback_that_does_not_carry_over_keeps_the_engines_order():
    rng = np.random.default_rng(3)
    X = rng.random((120, len(FEATURES)))
    noise = rng.integers(0, 2, 120)  # labels unrelated to any feature
    viewers = np.repeat(np.arange(12), 10)
    reranker = ReRanker(min_pairs=50).fit(X, noise, groups=viewers)
    assert reranker.blend_ == 0.0
    listed = rng.random((8, len(FEATURES)))
    listed[:, 0] = np.linspace(0.9, 0.2, 8)  # the engine's order, best first
    assert reranker.order(listed) == list(range(8))


def test_feedback_that_carries_over_to_other_viewers_gets_weight():
    X, y = region_data(120)
    reranker = ReRanker(min_pairs=50).fit(X, y, groups=np.repeat(np.arange(12), 10))
    assert reranker.blend_ > 0.5
