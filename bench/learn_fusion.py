"""Learn the engine's block weights jointly from the labelled real dev sets (leave one set out).

Usage: python bench/learn_fusion.py [--seeds 3] [--cache /tmp/fusion.npz] [--free] [--hub]
       [--tol T | --floor F] [--sme-only] [--shrink S] [--random N --rng R] [--logistic C]

The engine's score is a weighted mean of block cosines (character n-grams, stems with their
synonym sets, concepts, categories, the latent block) with a hubness correction
``(s - w h) / (1 - w h)``.  Block weights only scale the blocks, so one fit per set and seed
(without the hubness correction) gives every pair's block cosines, and the score of any weights
is recomputed exactly from them (checked against ``MatchEngine.score_matrix`` for the defaults:
largest difference 1e-7, same nDCG).  Every real dev set is fitted as its own event with the
background corpus built without it (``background_for``), seeds 0-2 of the latent block.  For
each left-out set the fusion is chosen on the other fourteen and scored on the left-out one
(SME→startup nDCG@5, each SME's nDCG averaged over the seeds, pooled = mean over all 583 SMEs).

Searches: a coordinate search over the simplex of block weights from the defaults (``--hub``:
the hubness weight too), by default only through settings that keep both written sets
(``tests/data/matching-dev.json``, ``bench/data/matching-heldout.json``, seed 0, both directions)
at or above the defaults (``--tol``: within that much; ``--floor``: at or above a fixed level
instead; ``--free``: no constraint); a random
search (``--random``: the best of N random settings under the same constraint); and a logistic
model (``--logistic``) on the blocks and the default score, raw and z-scored within each SME.

Result (2026-12-06, fifteen real dev sets, 3 seeds; pooled LOSO defaults 0.8222; ± is the paired
standard error over the SMEs):

| fusion | LOSO nDCG@5 | gain | written dev (SME→st, st→SME) | written regression |
|---|---|---|---|---|
| defaults | 0.8222 | | 0.906 / 0.927 | 0.924 / 0.900 |
| weights, free | 0.8294 | +0.0072 ± 0.0039 | 0.900 / 0.937 | 0.904 / 0.875 |
| weights + hub, free | 0.8278 | +0.0056 ± 0.0046 | 0.889 / 0.938 | 0.902 / 0.879 |
| logistic, C 1 (free) | 0.8283 | +0.0061 ± 0.0031 | 0.898 / 0.943 | 0.906 / 0.880 |
| logistic, C 0.1 (free) | 0.8266 | +0.0043 ± 0.0029 | 0.893 / 0.949 | 0.908 / 0.886 |
| weights (+ hub), written floor | 0.8233 | +0.0010 ± 0.0005 | 0.906 / 0.927 | 0.924 / 0.900 |
| weights + hub, floor - 0.003 | 0.8265 | +0.0043 ± 0.0020 | 0.903 / 0.934 | 0.924 / 0.900 |
| random 3000 (rng 1), floor | 0.8261 | +0.0038 ± 0.0013 | 0.906 / 0.934 | 0.925 / 0.904 |
| random 3000 (rng 2), floor | 0.8218 | -0.0005 ± 0.0016 | 0.906 / 0.938 | 0.925 / 0.903 |
| random 3000 (rng 1), floor - 0.003 | 0.8288 | +0.0065 ± 0.0023 | 0.905 / 0.933 | 0.924 / 0.898 |
| random 3000 (rng 2), floor - 0.003 | 0.8262 | +0.0040 ± 0.0016 | 0.904 / 0.930 | 0.924 / 0.900 |

Left free, the real dev sets pull the fusion towards character n-grams (weights on all sets:
char 0.66, stems 0.16, concepts 0.16, categories 0.01, latent 0.01; the defaults are 0.23 /
0.15 / 0.30 / 0.08 / 0.25) and a stronger hubness correction; the gain comes mostly from the
sets retired last (real dev 12: 0.721 -> 0.770, real dev 14: 0.855 -> 0.882, real dev 4: 0.798
-> 0.823, real dev 15: 0.768 -> 0.787) while real dev 7 and real dev lose (0.902 -> 0.886,
0.846 -> 0.838), and it costs the written sets 0.006-0.025.  Kept at the written sets' level,
no search reaches +0.005 (+0.001 to +0.004, and the random search's figure swings from -0.0005
to +0.0038 with its seed): the defaults are close to the best linear fusion the written sets
allow.  Negative result: the engine's weights stay as they are.

Second decision (2026-12-06, 20:35-20:45 UTC, engine19), seventeen real dev sets (held-out 15 and
16 retired as real dev 16 and 17), 654 SMEs, 3 seeds, with a rule fixed before the run: ship the
weights learnt on all seventeen sets (rounded to 2 decimals) only if the pooled LOSO gain is at
least +0.005 and at least 1.5 paired standard errors, both written sets stay >= 0.88
(SME→startup, seed 0) and the real dev pool's startup→SME drops by at most 0.005; a constrained
variant meeting it would be preferred.  Pooled LOSO defaults 0.7969:

| fusion | LOSO nDCG@5 | gain | written dev (SME→st, st→SME) | written regression | pool st→SME |
|---|---|---|---|---|---|
| defaults | 0.7969 | | 0.907 / 0.927 | 0.924 / 0.900 | 0.8266 |
| weights, free | 0.8025 | +0.0056 ± 0.0034 | 0.903 / 0.930 | 0.905 / 0.878 | 0.8331 |
| weights, both >= 0.89 | 0.8015 | +0.0046 ± 0.0029 | 0.902 / 0.935 | 0.905 / 0.896 | 0.8340 |
| weights, SME→st >= 0.89 | 0.8017 | +0.0048 ± 0.0034 | 0.898 / 0.935 | 0.912 / 0.892 | 0.8326 |

(free: no constraint; both: written sets >= 0.89 both ways, ``--floor 0.89``; SME→st: only
that direction, ``--sme-only``.  Written sets and pool startup→SME with the weights learnt on
all sets, rounded; pool startup→SME in sample.)
Per set, free LOSO vs defaults: real dev 0.846 -> 0.843, 2 0.848 ->
0.862, 3 0.841 -> 0.852, 4 0.794 -> 0.801, 5 0.799 -> 0.800, 6 0.847 -> 0.838, 7 0.899 -> 0.886,
8 0.876 -> 0.877, 9 0.784 -> 0.798, 10 0.776 -> 0.778, 11 0.826 -> 0.834, 12 0.724 -> 0.752, 13
0.845 -> 0.836, 14 0.857 -> 0.878, 15 0.763 -> 0.775, 16 0.593 -> 0.601, 17 0.590 -> 0.598.
Only the free fusion passes the rule (weights on all sets char 0.68, stems 0.11, concepts 0.14,
categories 0.02, latent 0.05); both constrained variants stay below +0.005.  Set as the
engine's defaults (levels recalibrated: very good 0.236 -> 0.104, good 0.184 -> 0.076, possible
0.126 -> 0.047), they failed 8 of 171 matching and demo tests, not only tests pinned to a ranking:
"invoice" meets "Rechnungen" at 0.125 (floor 0.2), the ransomware story no longer ranks above
its calm twin, an SME whose need only a background link names gets no suggestion at all,
identical texts score 0.978 (1 ± 0.02), and the organiser overview and export show fewer pairs
(``min_score`` 0.05 was set for the old scale;
the new "possible" level, 0.047, falls below it).  The behaviours the thesaurus
carries (cross-language and story-told needs) are what the learnt weights give up, and the
floors may not be lowered, so the engine's weights stay as they are.  Figures for a later
change: such a fusion would need the engine's score floor re-set for the new scale and a
concept share the floor tests allow.
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


ABS_FLOOR = None  # --floor: the written sets' fixed floor (instead of the defaults' level)
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
    if ABS_FLOOR is not None:  # --floor: a fixed level instead of the defaults' figures
        floor = dict.fromkeys(floor, (ABS_FLOOR, ABS_FLOOR))
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


def zscored(C: np.ndarray) -> np.ndarray:
    """Features of the logistic variant: every block and the default score, raw and z-scored
    within each SME (over its startups)."""
    F = np.concatenate([C, fused(C, DEFAULT_W)[None]])
    Z = (F - F.mean(axis=2, keepdims=True)) / (F.std(axis=2, keepdims=True) + 1e-6)
    return np.concatenate([Z, F])


def fit_logistic(data: dict, names, c: float) -> np.ndarray:
    """Coefficients of an L2-regularised logistic model (grade >= 2) over the pairs of ``names``."""
    from sklearn.linear_model import LogisticRegression

    X, y = [], []
    for name in names:
        Cs, G = data[name]
        for C in Cs:
            F = zscored(C)
            X.append(F.reshape(F.shape[0], -1).T)
            y.append((G >= 2).ravel())
    model = LogisticRegression(C=c, max_iter=2000).fit(np.concatenate(X), np.concatenate(y))
    return model.coef_[0]


def logistic_scores(C: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return np.tensordot(beta, zscored(C), axes=1)


def random_candidates(n: int, seed: int) -> list[np.ndarray]:
    """The defaults and ``n`` random settings (5 block weights + hubness weight): half drawn
    from a Dirichlet over the simplex, half scattered log-normally around the defaults."""
    rng = np.random.default_rng(seed)
    out = [np.append(DEFAULT_W / DEFAULT_W.sum(), HUB_W)]
    for _ in range(n):
        if rng.random() < 0.5:
            out.append(np.append(rng.dirichlet(np.full(5, 1.5)), rng.uniform(0.1, 0.5)))
        else:
            w = DEFAULT_W * np.exp(rng.normal(0, 0.6, 5))
            out.append(np.append(w / w.sum(), min(0.8, HUB_W * np.exp(rng.normal(0, 0.4)))))
    return out


def startup_pool(data: dict, score) -> float:
    """Startup→SME nDCG@5 over the real dev pool (startups with a grade >= 2, seed mean)."""
    out = []
    for Cs, G in data.values():
        relevant = (G >= 2).any(axis=0)
        out.append(np.mean([ndcg5(score(C).T[relevant], G.T[relevant]) for C in Cs], axis=0))
    return float(np.concatenate(out).mean())


def report(data: dict, base: dict, loso: dict, written: dict, final) -> None:
    """Per-set and pooled LOSO figures, the paired standard error, the written sets."""
    names = list(data)
    for name in names:
        print(f"{name:30} defaults {base[name].mean():.3f}  learnt {loso[name].mean():.3f}")
    diff = np.concatenate([loso[n] - base[n] for n in names])
    b_all = np.concatenate([base[n] for n in names]).mean()
    print(
        f"pooled LOSO ({len(diff)} SMEs): defaults {b_all:.4f}  learnt {b_all + diff.mean():.4f}"
        f"  gain {diff.mean():+.4f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.4f} (paired s.e.)"
    )
    for label, score in (("defaults", lambda C: fused(C, DEFAULT_W)), ("learnt", final)):
        print(f"real dev pool startup→SME ({label}, in sample): {startup_pool(data, score):.4f}")
    for name, (C, G) in written.items():
        before = both_directions(C, G, DEFAULT_W)
        S = final(C)
        relevant = (G >= 2).any(axis=0)
        after = (float(ndcg5(S, G).mean()), float(ndcg5(S.T[relevant], G.T[relevant]).mean()))
        print(
            f"written {name} (SME→startup, startup→SME): defaults {np.round(before, 3)}  "
            f"learnt on all sets {np.round(after, 3)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cache", type=Path)
    parser.add_argument(
        "--free", action="store_true", help="no written-set constraint (see the docstring)"
    )
    parser.add_argument("--tol", type=float, default=0.0, help="allowed drop on written sets")
    parser.add_argument(
        "--floor", type=float, help="keep the written sets at or above this level (not defaults)"
    )
    parser.add_argument("--shrink", type=float, default=0.0, help="share back to the defaults")
    parser.add_argument("--hub", action="store_true", help="learn the hubness weight too")
    parser.add_argument("--sme-only", action="store_true", help="constrain SME→startup only")
    parser.add_argument(
        "--logistic", type=float, help="the logistic variant with this inverse regularisation C"
    )
    parser.add_argument(
        "--random", type=int, help="random search over this many settings instead of coordinates"
    )
    parser.add_argument("--rng", type=int, default=1, help="seed of the random search")
    args = parser.parse_args()
    global DIRECTIONS, ABS_FLOOR
    DIRECTIONS = 1 if args.sme_only else 2
    ABS_FLOOR = args.floor
    data = load(args.seeds, args.cache)
    written = load_written()
    names = list(data)
    base = per_sme(data, DEFAULT_W)
    if args.logistic is not None:
        loso = {}
        for held in names:
            beta = fit_logistic(data, [n for n in names if n != held], args.logistic)
            Cs, G = data[held]
            loso[held] = np.mean([ndcg5(logistic_scores(C, beta), G) for C in Cs], axis=0)
        beta = fit_logistic(data, names, args.logistic)
        report(data, base, loso, written, lambda C: logistic_scores(C, beta))
        print("coefficients (z-scored blocks, default; raw blocks, default):", np.round(beta, 2))
        return
    if args.random is not None:
        cands = random_candidates(args.random, args.rng)
        counts = np.array([len(data[n][1]) for n in names])
        sums = np.array([[v.sum() for v in per_sme(data, c).values()] for c in cands])
        floor = np.array([x for C, G in written.values() for x in both_directions(C, G, cands[0])])
        figures = np.array(
            [[x for C, G in written.values() for x in both_directions(C, G, c)] for c in cands]
        )
        feasible = np.all(figures >= floor - args.tol - 1e-9, axis=1) | args.free
        loso = {}
        for k, held in enumerate(names):
            others = np.arange(len(names)) != k
            value = np.where(feasible, sums[:, others].sum(1) / counts[others].sum(), -1.0)
            loso[held] = per_sme({held: data[held]}, cands[int(np.argmax(value))])[held]
        value = np.where(feasible, sums.sum(1) / counts.sum(), -1.0)
        best = cands[int(np.argmax(value))]
        print(f"{int(feasible.sum())} of {len(cands)} settings within the written-set floor")
        report(data, base, loso, written, lambda C: fused(C, best))
        print(f"chosen on all sets {np.round(best, 3).tolist()} in sample {value.max():.4f}")
        return
    start = np.append(DEFAULT_W, HUB_W) if args.hub else DEFAULT_W
    constraint = None if args.free else written
    loso = {}
    for held in names:
        w = search(data, [n for n in names if n != held], start, constraint, args.tol, args.shrink)
        loso[held] = per_sme({held: data[held]}, w)[held]
        print(f"  weights chosen without {held}: {np.round(w, 3).tolist()}", flush=True)
    w_all = search(data, names, start, constraint, args.tol, args.shrink)
    report(data, base, loso, written, lambda C: fused(C, w_all))
    learnt = dict(zip((*FUSED, "hub"), np.round(w_all, 3).tolist(), strict=False))
    print(f"weights on all sets {learnt} in sample {pooled(data, names, w_all):.4f}")
    rounded = np.round(w_all, 2)
    print(f"rounded to 2 decimals {rounded.tolist()} in sample {pooled(data, names, rounded):.4f}")
    report(data, base, loso, written, lambda C: fused(C, rounded))


if __name__ == "__main__":
    main()
