"""Evaluate the matching engine on a labelled file in the ``matching-dev.json`` format.

The metrics follow the data README: for each SME, rank *all* startups by score (ties broken by
file order) and average over SMEs

* nDCG@5 with gain ``2**grade - 1`` and discount ``1 / log2(rank + 1)``,
* P@3: share of the top 3 with grade >= 2,
* MRR: reciprocal rank of the first startup with grade >= 2.

The reverse direction ranks all SMEs for each startup using the transposed judgements and
averages over the startups that have at least one relevant SME (grade >= 2); startups nobody
needs have no defined MRR and would only add zeros to every system alike.

``evaluate_file(path)`` returns a dict; ``format_report(result)`` renders it as text.  The app
exposes this as ``flask match evaluate FILE``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from matchmaker.matching.engine import MatchEngine, Profile

__all__ = [
    "baseline_scores",
    "evaluate_file",
    "evaluate_rankings",
    "format_report",
    "load_labelled",
    "mrr",
    "ndcg_at_k",
    "precision_at_k",
    "rank_by_score",
]

RELEVANT = 2


def load_labelled(path: str | Path) -> tuple[list[Profile], list[Profile], dict]:
    """Read a labelled file: SME profiles, startup profiles and graded judgements."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    smes = [
        Profile(
            ref=s["id"],
            kind="sme",
            text=s.get("needs", ""),
            name=s.get("name", ""),
            sector=s.get("sector", ""),
            categories=tuple(s.get("categories", ())),
            tags=tuple(s.get("tags", ())),
        )
        for s in data["smes"]
    ]
    startups = [
        Profile(
            ref=s["id"],
            kind="startup",
            text=s.get("offering", ""),
            name=s.get("name", ""),
            sector=s.get("sector", ""),
            categories=tuple(s.get("categories", ())),
            tags=tuple(s.get("tags", ())),
        )
        for s in data["startups"]
    ]
    return smes, startups, data["qrels"]


def rank_by_score(scores: Sequence[float]) -> list[int]:
    """Return candidate indices by descending score; ties keep file order (stable sort)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable").tolist()


def ndcg_at_k(grades: Sequence[int], all_grades: Sequence[int], k: int = 5) -> float:
    """nDCG@k of a ranked list of grades, normalised by the ideal ranking of ``all_grades``."""

    def dcg(gs):
        return sum((2**g - 1) / math.log2(r + 2) for r, g in enumerate(gs[:k]))

    ideal = dcg(sorted(all_grades, reverse=True))
    return dcg(list(grades)) / ideal if ideal > 0 else 0.0


def precision_at_k(grades: Sequence[int], k: int = 3) -> float:
    """Share of the first ``k`` ranked items with grade >= 2."""
    return sum(1 for g in grades[:k] if g >= RELEVANT) / k


def mrr(grades: Sequence[int]) -> float:
    """Reciprocal rank of the first item with grade >= 2 (0 if there is none)."""
    for r, g in enumerate(grades, 1):
        if g >= RELEVANT:
            return 1.0 / r
    return 0.0


def evaluate_rankings(
    scores: np.ndarray,
    row_ids: Sequence[str],
    col_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    require_relevant: bool = False,
) -> dict[str, float]:
    """Average nDCG@5, P@3 and MRR over the rows of a score matrix.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_cols)
        Scores of every row item against every column item, columns in file order.
    row_ids, col_ids : sequence of str
        Identifiers of rows and columns.
    qrels : mapping
        ``{row_id: {col_id: grade}}``; missing pairs have grade 0.
    require_relevant : bool, default=False
        Average only over rows with at least one column of grade >= 2.

    Returns
    -------
    dict
        ``ndcg@5``, ``p@3``, ``mrr`` and ``n`` (rows averaged over).
    """
    totals = {"ndcg@5": 0.0, "p@3": 0.0, "mrr": 0.0}
    n = 0
    for r, rid in enumerate(row_ids):
        judged = qrels.get(rid, {})
        all_grades = [int(judged.get(c, 0)) for c in col_ids]
        if require_relevant and max(all_grades, default=0) < RELEVANT:
            continue
        ranked = [all_grades[j] for j in rank_by_score(scores[r])]
        totals["ndcg@5"] += ndcg_at_k(ranked, all_grades, 5)
        totals["p@3"] += precision_at_k(ranked, 3)
        totals["mrr"] += mrr(ranked)
        n += 1
    out = {key: (value / n if n else 0.0) for key, value in totals.items()}
    out["n"] = n
    return out


def _transpose(qrels: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for sme, judged in qrels.items():
        for st, grade in judged.items():
            out.setdefault(st, {})[sme] = grade
    return out


def _both_directions(score_fn: Callable, smes, startups, qrels) -> dict[str, dict[str, float]]:
    sme_ids = [p.ref for p in smes]
    st_ids = [p.ref for p in startups]
    S = np.asarray(score_fn(smes, startups), dtype=np.float64)
    return {
        "sme": evaluate_rankings(S, sme_ids, st_ids, qrels),
        "startup": evaluate_rankings(
            S.T, st_ids, sme_ids, _transpose(qrels), require_relevant=True
        ),
    }


def baseline_scores(kind: str) -> Callable:
    """Return a scoring function for a reference baseline: ``"word"`` or ``"char"`` TF-IDF."""
    params = {
        "word": {},
        "char": {"analyzer": "char_wb", "ngram_range": (3, 5)},
    }[kind]

    def score(smes, startups):
        texts = [p.text for p in smes] + [_startup_text(p) for p in startups]
        X = TfidfVectorizer(**params).fit_transform(texts)
        return (X[: len(smes)] @ X[len(smes) :].T).toarray()

    return score


def _startup_text(p: Profile) -> str:
    return " ".join([p.text, *p.tags])


def evaluate_file(
    path: str | Path, engine: MatchEngine | None = None, *, baselines: bool = True
) -> dict:
    """Fit the engine on a labelled file and compute the metrics in both directions.

    Parameters
    ----------
    path : str or Path
        File in the ``matching-dev.json`` format.
    engine : MatchEngine, optional
        Unfitted engine to evaluate (default: ``MatchEngine()``).
    baselines : bool, default=True
        Also evaluate plain word and character n-gram TF-IDF for reference.

    Returns
    -------
    dict
        ``{"file", "n_smes", "n_startups", "engine": {"sme": metrics, "startup": metrics},
        "baselines": {"word": ..., "char": ...}}``.
    """
    smes, startups, qrels = load_labelled(path)
    engine = engine if engine is not None else MatchEngine()

    def engine_scores(smes, startups):
        engine.fit([*smes, *startups])
        _, _, S = engine.score_matrix("sme")
        return S

    result = {
        "file": str(path),
        "n_smes": len(smes),
        "n_startups": len(startups),
        "engine": _both_directions(engine_scores, smes, startups, qrels),
    }
    if baselines:
        result["baselines"] = {
            name: _both_directions(baseline_scores(name), smes, startups, qrels)
            for name in ("word", "char")
        }
    return result


def format_report(result: Mapping) -> str:
    """Render an evaluation result as a small text table."""
    lines = [
        f"Matching evaluation: {result['file']}",
        f"{result['n_smes']} SMEs, {result['n_startups']} startups",
        "",
        f"{'system':<22}{'direction':<18}{'nDCG@5':>8}{'P@3':>8}{'MRR':>8}{'n':>5}",
    ]
    systems = [("engine", result["engine"])]
    systems += [(f"baseline {k}", v) for k, v in result.get("baselines", {}).items()]
    for name, by_dir in systems:
        for direction, label in (("sme", "SME→startup"), ("startup", "startup→SME")):
            m = by_dir[direction]
            lines.append(
                f"{name:<22}{label:<18}{m['ndcg@5']:>8.3f}{m['p@3']:>8.3f}{m['mrr']:>8.3f}"
                f"{m['n']:>5}"
            )
    return "\n".join(lines)
