"""Learn the engine's block weights jointly from the labelled real dev sets (leave one set out).

Usage: python bench/learn_fusion.py [--seeds 3] [--cache /tmp/fusion.npz]

The engine's score is a weighted mean of block cosines (character n-grams, stems with their
synonym sets, concepts, categories, the latent block) with a hubness correction
``(s - w h) / (1 - w h)``.  Block weights only scale the blocks, so one fit per set and seed
(without the hubness correction) gives every pair's block cosines, and the score of any weights
is recomputed exactly from them (checked against ``MatchEngine.score_matrix`` for the defaults).
Every real dev set is fitted as its own event with the background corpus built without it
(``background_for``).  For each left-out set the weights are chosen on the other sets by a
coordinate search over the simplex (start: the defaults) maximising the pooled SME→startup
nDCG@5 (mean over the SMEs, each SME's nDCG averaged over the seeds of the latent block), then
scored on the left-out set.

Result: see the bottom of this docstring (filled in by hand after a run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_matching import QUALITY_SETS, REAL_DEV_SETS, background_for  # noqa: E402
from matchmaker.matching.engine import MatchEngine  # noqa: E402
from matchmaker.matching.evaluation import load_labelled  # noqa: E402

FUSED = ("char", "word", "concept", "category", "semantic")  # synonyms go with the stems
DEFAULTS = MatchEngine().get_params()
DEFAULT_W = np.array([DEFAULTS[f"{b}_weight"] for b in FUSED], dtype=float)
HUB_W, HUB_K = DEFAULTS["hub_weight"], DEFAULTS["hub_k"]


def block_cosines(smes, startups, background, seed: int) -> np.ndarray:
    """Cosines of every SME × startup pair per fused block: shape (blocks, SMEs, startups)."""
    engine = MatchEngine(background=background, random_state=seed, hub_weight=0.0)
    engine.fit([*smes, *startups])
    rows, cols = engine.rows_["sme"], engine.rows_["startup"]
    X = engine.X_.tocsc()
    out = []
    for b in FUSED:
        names = ("word", "synonym") if b == "word" else (b,)
        total = np.zeros((len(rows), len(cols)))
        for name in names:
            lo, hi = engine.offsets_[name]
            if hi > lo:
                part = X[:, lo:hi].tocsr()
                total += (part[rows] @ part[cols].T).toarray()
        w = engine.weights_.weights[b]
        out.append(total / w if w > 0 else total)
    return np.array(out)


def fused(C: np.ndarray, w: np.ndarray, hub_w: float = HUB_W, hub_k: int = HUB_K) -> np.ndarray:
    """The engine's score of weights ``w`` (normalised here) from block cosines ``C``.

    ``w`` may carry the hubness weight as a sixth entry (then it replaces ``hub_w``).
    """
    if len(w) > len(FUSED):
        w, hub_w = w[: len(FUSED)], float(w[len(FUSED)])
    S = np.tensordot(w / w.sum(), C, axes=1)
    if hub_w <= 0:
        return S
    n = S.shape[0]
    step = max(1, -(-n // 500))
    sample = S[::step]
    k = min(hub_k, sample.shape[0])
    best = np.sort(sample, axis=0)[-k:]
    penalty = hub_w * np.clip(best.mean(axis=0), 0.0, 1.0)
    return (S - penalty) / (1.0 - penalty)


def ndcg5(scores: np.ndarray, G: np.ndarray) -> np.ndarray:
    """nDCG@5 of every row (stable ranking by descending score, as ``rank_by_score``)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    gains = 2.0 ** np.take_along_axis(G, order, axis=1) - 1
    disc = 1.0 / np.log2(np.arange(2, 2 + order.shape[1]))
    dcg = gains @ disc
    ideal = (2.0 ** -np.sort(-G, axis=1)[:, :5] - 1) @ disc[: min(5, G.shape[1])]
    return np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1), 0.0)


def per_sme(data: dict, w: np.ndarray, hub_w: float = HUB_W) -> dict[str, np.ndarray]:
    """Each set's per-SME nDCG@5 for weights ``w``, averaged over the seeds."""
    return {
        name: np.mean([ndcg5(fused(C, w, hub_w), G) for C in Cs], axis=0)
        for name, (Cs, G) in data.items()
    }


def pooled(data: dict, names, w: np.ndarray, hub_w: float = HUB_W) -> float:
    sub = {n: data[n] for n in names}
    return float(np.concatenate(list(per_sme(sub, w, hub_w).values())).mean())


def both_directions(C: np.ndarray, G: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """SME→startup nDCG@5 (all SMEs) and startup→SME (startups with a grade >= 2)."""
    S = fused(C, w)
    relevant = (G >= 2).any(axis=0)
    return float(ndcg5(S, G).mean()), float(ndcg5(S.T[relevant], G.T[relevant]).mean())


def written_ok(written: dict, w: np.ndarray, floor: dict, tol: float) -> bool:
    """Whether weights ``w`` keep both written sets within ``tol`` of the defaults (both ways)."""
    return all(
        a >= b - tol - 1e-9
        for name, (C, G) in written.items()
        for a, b in list(zip(both_directions(C, G, w), floor[name], strict=True))[:DIRECTIONS]
    )


DIRECTIONS = 2  # how many directions of the written sets the constraint holds (--sme-only: 1)


def search(
    data: dict,
    names,
    start: np.ndarray,
    written: dict | None = None,
    tol: float = 0.0,
    shrink: float = 0.0,
    rounds: int = 4,
) -> np.ndarray:
    """Coordinate search over the block weights maximising the pooled nDCG@5 of ``names``.

    With ``written`` (the written sets' block cosines, seed 0 as their tests fit them) a step
    is taken only if it keeps both written sets within ``tol`` of the defaults.  ``shrink``
    moves the result that share of the way back to ``start`` (a simple regulariser).
    """
    n = len(FUSED)
    w = start.astype(float).copy()
    w[:n] /= w[:n].sum()
    best = pooled(data, names, w)
    floor = {n: both_directions(C, G, DEFAULT_W) for n, (C, G) in (written or {}).items()}
    factors = (0.0, 0.25, 0.5, 0.7, 0.85, 1.2, 1.4, 2.0, 3.0)
    for _ in range(rounds):
        improved = False
        for b in range(len(w)):
            for f in factors:
                cand = w.copy()
                cand[b] = w[b] * f if w[b] > 0 else (0.05 if f > 1 else 0.0)
                if b == n:  # the hubness weight: in [0, 0.8], not normalised
                    cand[b] = min(cand[b], 0.8)
                elif cand[:n].sum() <= 0:
                    continue
                cand[:n] /= cand[:n].sum()
                value = pooled(data, names, cand)
                if value > best + 1e-6 and (not written or written_ok(written, cand, floor, tol)):
                    best, w, improved = value, cand, True
        if not improved:
            break
    back = start.astype(float).copy()
    back[:n] /= back[:n].sum()
    return (1 - shrink) * w + shrink * back


WRITTEN = {
    "dev": ROOT / "tests/data/matching-dev.json",
    "held-out (regression)": ROOT / "bench/data/matching-heldout.json",
}


def load_written() -> dict:
    """Block cosines (seed 0, packaged background) and grades of the two written sets."""
    out = {}
    for name, path in WRITTEN.items():
        smes, startups, qrels = load_labelled(path)
        G = np.array([[int(qrels.get(s.ref, {}).get(t.ref, 0)) for t in startups] for s in smes])
        out[name] = (block_cosines(smes, startups, True, 0), G)
    return out


def load(seeds: int, cache: Path | None) -> dict:
    if cache and cache.exists():
        z = np.load(cache, allow_pickle=True)
        return z["data"].item()
    data = {}
    for name in REAL_DEV_SETS:
        smes, startups, qrels = load_labelled(QUALITY_SETS[name])
        G = np.array([[int(qrels.get(s.ref, {}).get(t.ref, 0)) for t in startups] for s in smes])
        bg = background_for(name)
        Cs = [block_cosines(smes, startups, bg, seed) for seed in range(seeds)]
        data[name] = (Cs, G)
        print(f"  fitted {name}: {len(smes)} SMEs × {len(startups)} startups", flush=True)
    if cache:
        np.savez(cache, data=np.array(data, dtype=object))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cache", type=Path)
    parser.add_argument(
        "--free", action="store_true", help="no written-set constraint (see the docstring)"
    )
    parser.add_argument("--tol", type=float, default=0.0, help="allowed drop on written sets")
    parser.add_argument("--shrink", type=float, default=0.0, help="share back to the defaults")
    parser.add_argument("--hub", action="store_true", help="learn the hubness weight too")
    parser.add_argument("--sme-only", action="store_true", help="constrain SME→startup only")
    args = parser.parse_args()
    global DIRECTIONS
    DIRECTIONS = 1 if args.sme_only else 2
    data = load(args.seeds, args.cache)
    written = None if args.free else load_written()
    names = list(data)
    start = np.append(DEFAULT_W, HUB_W) if args.hub else DEFAULT_W
    base = per_sme(data, DEFAULT_W)
    loso = {}
    for held in names:
        w = search(data, [n for n in names if n != held], start, written, args.tol, args.shrink)
        loso[held] = (w, per_sme({held: data[held]}, w)[held])
        print(
            f"{held:30} defaults {base[held].mean():.3f}  learnt {loso[held][1].mean():.3f}  "
            f"weights {np.round(w, 3).tolist()}",
            flush=True,
        )
    b_all = np.concatenate([base[n] for n in names]).mean()
    l_all = np.concatenate([loso[n][1] for n in names]).mean()
    print(f"pooled LOSO: defaults {b_all:.4f}  learnt {l_all:.4f}  gain {l_all - b_all:+.4f}")
    w_all = search(data, names, start, written, args.tol, args.shrink)
    if written:
        for name, (C, G) in written.items():
            before, after = both_directions(C, G, DEFAULT_W), both_directions(C, G, w_all)
            print(f"written {name}: defaults {np.round(before, 3)}  learnt {np.round(after, 3)}")
    learnt = dict(zip((*FUSED, "hub"), np.round(w_all, 3).tolist(), strict=False))
    print(
        f"weights on all sets {learnt} "
        f"in sample {pooled(data, names, w_all):.4f} (defaults {b_all:.4f})"
    )


if __name__ == "__main__":
    main()
