"""Re-rank suggestions with what participants said about earlier ones.

Pure scikit-learn/numpy; no Flask, no database.  The app turns stored feedback ("passt",
accepted requests, meeting ratings ...) into labelled pairs ``(viewer, candidate, 0/1)``,
describes each pair with :func:`pair_features` of a fitted :class:`MatchEngine`, and fits a
:class:`ReRanker` on them.  The fitted re-ranker is a handful of numbers
(:meth:`ReRanker.to_dict`), so the app keeps it in the database as JSON and every worker
loads the same one.

Features of a pair (viewer -> candidate), in :data:`FEATURES` order
--------------------------------------------------------------------
``score``              the engine's score (the blocks minus the startup's hubness penalty)
``block:<name>``       the share of that score each feature block contributes (characters,
                       stems, concepts, categories, latent semantics)
``concepts``           log(1 + number of thesaurus concepts both texts carry)
``shared_categories``  number of use-case categories both profiles name
``same_sector``        both profiles name the same sector
``same_region``        both profiles are in the same region (given by the app)
``viewer_sme``         the viewer is an SME (suggestions of startups)
``cat:<code>``         the candidate names use-case category ``code``
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from matchmaker.language.thesaurus import CATEGORY_CODES
from matchmaker.matching.engine.estimator import MatchEngine
from matchmaker.matching.engine.features import BLOCKS

__all__ = [
    "BLENDS",
    "FEATURES",
    "MIN_PER_CLASS",
    "NotEnoughFeedback",
    "ReRanker",
    "enough_feedback",
    "pair_features",
]

FEATURES: tuple[str, ...] = (
    "score",
    *(f"block:{name}" for name in BLOCKS),
    "concepts",
    "shared_categories",
    "same_sector",
    "same_region",
    "viewer_sme",
    *(f"cat:{code}" for code in CATEGORY_CODES),
)

#: Each class (fits / does not fit) needs at least this many labelled pairs.
MIN_PER_CLASS = 5


class NotEnoughFeedback(ValueError):
    """Too few labelled pairs, or only one class, to learn anything reliable."""


def enough_feedback(labels: Sequence[int], min_pairs: int) -> bool:
    """Tell whether labelled pairs suffice: ``min_pairs`` in all and both classes present.

    Parameters
    ----------
    labels : sequence of int
        1 for a pair that fits, 0 for one that does not.
    min_pairs : int
        Least number of labelled pairs.

    Returns
    -------
    bool
        True when there are at least ``min_pairs`` pairs and :data:`MIN_PER_CLASS` of each
        class.
    """
    y = np.asarray(labels, dtype=np.int64)
    positives = int((y == 1).sum())
    return len(y) >= min_pairs and min(positives, len(y) - positives) >= MIN_PER_CLASS


def pair_features(
    engine: MatchEngine,
    viewer: str,
    candidates: Sequence[str],
    same_region: Sequence[bool] | None = None,
) -> np.ndarray:
    """Describe the pairs ``viewer -> candidate`` of a fitted engine as feature rows.

    Parameters
    ----------
    engine : MatchEngine
        A fitted engine that knows the viewer and every candidate.
    viewer : str
        Reference of the profile the suggestions are for.
    candidates : sequence of str
        References of the suggested profiles.
    same_region : sequence of bool, optional
        Per candidate, whether it is in the viewer's region (the engine does not know
        regions); all False when not given.

    Returns
    -------
    ndarray of shape (len(candidates), len(FEATURES))
    """
    check_is_fitted(engine, "X_")
    n = len(candidates)
    out = np.zeros((n, len(FEATURES)))
    if n == 0:
        return out
    v = engine.index_[viewer]
    rows = np.array([engine.index_[c] for c in candidates], dtype=np.int64)
    products = engine.X_[rows].multiply(engine.X_[v]).tocsc()
    col = 1
    for name in BLOCKS:
        lo, hi = engine.offsets_[name]
        out[:, col] = np.asarray(products[:, lo:hi].sum(axis=1)).ravel()
        col += 1
    # the engine's score: the blocks and, where fitted, the startup's hubness penalty
    out[:, 0] = np.clip(np.asarray(products.sum(axis=1)).ravel(), 0.0, 1.0)
    lo, hi = engine.offsets_["concept"]
    out[:, col] = np.log1p(np.asarray((products[:, lo:hi] > 0).sum(axis=1)).ravel())
    mine = engine.profiles_[v]
    my_categories, my_sector = set(mine.categories), mine.sector.strip().lower()
    category_column = {code: FEATURES.index(f"cat:{code}") for code in CATEGORY_CODES}
    for i, row in enumerate(rows.tolist()):
        other = engine.profiles_[row]
        out[i, col + 1] = len(my_categories & set(other.categories))
        out[i, col + 2] = float(bool(my_sector) and other.sector.strip().lower() == my_sector)
        for code in other.categories:
            if code in category_column:
                out[i, category_column[code]] = 1.0
    if same_region is not None:
        out[:, col + 3] = np.asarray(same_region, dtype=np.float64)
    out[:, col + 4] = float(mine.kind == "sme")
    return out


#: Weights of the learnt order against the engine's that cross-validation chooses from.
BLENDS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _standardised(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def _pairwise_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Share of (fitting, not fitting) pairs ordered right; None without both kinds."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return None
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


class ReRanker(BaseEstimator):
    """Order suggestions by the chance that the viewer finds them fitting.

    A logistic regression on standardised :data:`FEATURES`, with balanced class weights;
    it refuses to fit below the minimum (:func:`enough_feedback`). Its order is blended with
    the engine's: within one list, ``(1 - blend_) * z(engine score) + blend_ * z(learnt
    log-odds)`` (z: standardised over the list). ``blend_`` comes from cross-validation over
    viewers (what orders the feedback of viewers left out best), so feedback that does not
    carry over to other viewers leaves the engine's order as it is (``blend_ = 0``).

    Parameters
    ----------
    min_pairs : int, default=50
        Least number of labelled pairs to fit on.
    C : float, default=0.1
        Inverse strength of the L2 regularisation.
    folds : int, default=5
        Folds of viewers for choosing the blend.
    """

    def __init__(self, *, min_pairs: int = 50, C: float = 0.1, folds: int = 5):
        self.min_pairs = min_pairs
        self.C = C
        self.folds = folds

    def _fit_linear(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        scaler = StandardScaler().fit(X)
        model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=1000)
        model.fit(scaler.transform(X), y)
        return scaler.mean_, scaler.scale_, model.coef_[0], float(model.intercept_[0])

    def _choose_blend(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
        """Return the blend whose order of left-out viewers' feedback is best (ties: less)."""
        viewers = np.unique(groups)
        folds = min(self.folds, len(viewers))
        if folds < 2:
            return 0.0
        rng = np.random.default_rng(0)
        fold_of = dict(zip(rng.permutation(viewers).tolist(), range(len(viewers)), strict=True))
        assigned = np.array([fold_of[g] % folds for g in groups.tolist()])
        totals = np.zeros(len(BLENDS))
        counted = 0
        for fold in range(folds):
            train, test = assigned != fold, assigned == fold
            if min(int(y[train].sum()), int((1 - y[train]).sum())) < 2:
                continue
            mean, scale, coef, intercept = self._fit_linear(X[train], y[train])
            for viewer in np.unique(groups[test]):
                rows = test & (groups == viewer)
                learnt = _standardised((X[rows] - mean) / scale @ coef + intercept)
                engine = _standardised(X[rows, 0])
                aucs = [_pairwise_auc((1 - b) * engine + b * learnt, y[rows]) for b in BLENDS]
                if aucs[0] is not None:
                    totals += aucs
                    counted += 1
        if not counted:
            return 0.0
        return BLENDS[int(np.argmax(np.round(totals / counted, 9)))]

    def fit(self, X: np.ndarray, y: Sequence[int], groups: Sequence | None = None) -> ReRanker:
        """Learn from labelled pairs.

        Parameters
        ----------
        X : ndarray of shape (n_pairs, len(FEATURES))
            Rows of :func:`pair_features`.
        y : sequence of int
            1 for "fits", 0 for "does not fit".
        groups : sequence, optional
            The viewer of each pair, for choosing the blend by cross-validation over viewers;
            without it the learnt order is used alone (``blend_ = 1``).

        Returns
        -------
        ReRanker
            ``self``, with ``mean_``, ``scale_``, ``coef_``, ``intercept_``, ``blend_``,
            ``n_pairs_`` and ``n_positive_``.

        Raises
        ------
        NotEnoughFeedback
            Below ``min_pairs`` pairs or :data:`MIN_PER_CLASS` of either class.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if X.shape != (len(y), len(FEATURES)):
            raise ValueError(f"X must have shape ({len(y)}, {len(FEATURES)}), not {X.shape}")
        if not enough_feedback(y, self.min_pairs):
            raise NotEnoughFeedback(
                f"{len(y)} labelled pairs ({int(y.sum())} fitting); need {self.min_pairs} "
                f"with at least {MIN_PER_CLASS} of each kind"
            )
        self.mean_, self.scale_, self.coef_, self.intercept_ = self._fit_linear(X, y)
        self.blend_ = 1.0 if groups is None else self._choose_blend(X, y, np.asarray(groups))
        self.n_pairs_ = len(y)
        self.n_positive_ = int(y.sum())
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Return the learnt log-odds that each pair fits (without the engine's blend)."""
        check_is_fitted(self, "coef_")
        X = np.asarray(X, dtype=np.float64).reshape(-1, len(FEATURES))
        return (X - self.mean_) / self.scale_ @ self.coef_ + self.intercept_

    def order(self, X: np.ndarray) -> list[int]:
        """Return the rows of one list of suggestions best first (ties: the given order)."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, len(FEATURES))
        blended = (1 - self.blend_) * _standardised(X[:, 0]) + self.blend_ * _standardised(
            self.decision_function(X)
        )
        return np.argsort(-np.round(blended, 9), kind="stable").tolist()

    def to_dict(self) -> dict:
        """Return the fitted re-ranker as plain JSON-ready data (no pickle)."""
        check_is_fitted(self, "coef_")
        return {
            "features": list(FEATURES),
            "min_pairs": self.min_pairs,
            "C": self.C,
            "folds": self.folds,
            "blend": self.blend_,
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
            "n_pairs": self.n_pairs_,
            "n_positive": self.n_positive_,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ReRanker:
        """Rebuild a fitted re-ranker from :meth:`to_dict` data.

        Raises
        ------
        ValueError
            When the data were made for other features (an older version of this module).
        """
        if list(data.get("features", ())) != list(FEATURES):
            raise ValueError("the re-ranker was fitted on other features; train it again")
        reranker = cls(
            min_pairs=int(data["min_pairs"]), C=float(data["C"]), folds=int(data["folds"])
        )
        reranker.blend_ = float(data["blend"])
        reranker.mean_ = np.asarray(data["mean"], dtype=np.float64)
        reranker.scale_ = np.asarray(data["scale"], dtype=np.float64)
        reranker.coef_ = np.asarray(data["coef"], dtype=np.float64)
        reranker.intercept_ = float(data["intercept"])
        reranker.n_pairs_ = int(data["n_pairs"])
        reranker.n_positive_ = int(data["n_positive"])
        return reranker
