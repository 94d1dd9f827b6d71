"""Simulate participants' feedback on labelled data and show how the re-ranker improves with it.

Usage: python bench/bench_feedback.py [--splits 10] [--noise 0.1] [--no-write]

For each labelled file (``bench/data/matching-real-dev.json`` and ``matching-heldout.json``;
the real held-out file is never read here), the engine is fitted on all profiles once. Then,
for each of ``--splits`` random splits of the SMEs into halves:

* the *feedback* half plays participants: each signal is one SME user looking at one of its
  suggestions (the engine's top 15, the higher ones more often) and marking it "passt" when the
  label says it is relevant (grade >= 2), otherwise "passt nicht"; with probability ``--noise``
  the mark is the wrong one. A pair may be marked several times (by several people or events);
  the majority decides its label, as one labelled pair.
* a :class:`ReRanker` is fitted on the first N signals (N = 0, 50, 100, 200, 500, 1000) exactly
  as the app does (same features, same minimum: ``RERANK_MIN_PAIRS`` = 50 labelled pairs with at
  least 5 of each kind; below it the engine's order stays), and re-orders the engine's top 20
  (``RERANK_POOL``) of every SME of the *other* half;
* nDCG@5 and MRR over all startups are measured on that other half only, whose labels the
  re-ranker never saw.

The table gives the mean over the splits (and the standard deviation of nDCG@5), and how many
splits had enough feedback for a re-ranker.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import cpu_model  # noqa: E402

from matchmaker.matching.engine import MatchEngine  # noqa: E402
from matchmaker.matching.engine.rerank import ReRanker, enough_feedback, pair_features  # noqa: E402
from matchmaker.matching.evaluation import RELEVANT, load_labelled, mrr, ndcg_at_k  # noqa: E402

FILES = ("bench/data/matching-real-dev.json", "bench/data/matching-heldout.json")
FORBIDDEN = "matching-real-heldout.json"  # for reporting the engine only; never used here
SIGNALS = (0, 50, 100, 200, 500, 1000)
SHOWN = 15  # a user looks at this many suggestions
POOL = 20  # RERANK_POOL
MIN_PAIRS = 50  # RERANK_MIN_PAIRS
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Learning from feedback (simulated)"


def simulate(
    rng: random.Random, smes: list[str], ranked: dict[str, list[str]], qrels, n: int, noise: float
) -> list[tuple[str, str, int]]:
    """Return ``n`` feedback signals (sme, startup, 0/1) of users of the given SMEs."""
    # people look at the first suggestions more often than at the last ones
    weights = [1.0 / (rank + 1) ** 0.5 for rank in range(SHOWN)]
    signals = []
    for _ in range(n):
        sme = rng.choice(smes)
        shown = ranked[sme][:SHOWN]
        startup = rng.choices(shown, weights=weights[: len(shown)])[0]
        label = int(qrels.get(sme, {}).get(startup, 0) >= RELEVANT)
        if rng.random() < noise:
            label = 1 - label
        signals.append((sme, startup, label))
    return signals


def majority(signals: list[tuple[str, str, int]]) -> dict[tuple[str, str], int]:
    """One label per pair: the majority of its signals (a tie: the last one)."""
    votes: dict[tuple[str, str], Counter] = {}
    last: dict[tuple[str, str], int] = {}
    for sme, startup, label in signals:
        votes.setdefault((sme, startup), Counter())[label] += 1
        last[(sme, startup)] = label
    return {pair: (last[pair] if c[0] == c[1] else int(c[1] > c[0])) for pair, c in votes.items()}


def evaluate(
    test: list[str],
    ranked: dict[str, list[str]],
    features: dict[str, np.ndarray],
    column: dict[str, dict[str, int]],
    qrels,
    startups: list[str],
    reranker: ReRanker | None,
) -> tuple[float, float]:
    """Return mean nDCG@5 and MRR of the test SMEs (top POOL re-ranked by a given re-ranker)."""
    ndcgs, mrrs = [], []
    for sme in test:
        order = list(ranked[sme])
        if reranker is not None:
            pool = order[:POOL]
            rows = features[sme][[column[sme][s] for s in pool]]
            order = [pool[i] for i in reranker.order(rows)] + order[POOL:]
        judged = qrels.get(sme, {})
        grades = [int(judged.get(s, 0)) for s in order]
        all_grades = [int(judged.get(s, 0)) for s in startups]
        ndcgs.append(ndcg_at_k(grades, all_grades, 5))
        mrrs.append(mrr(grades))
    return float(np.mean(ndcgs)), float(np.mean(mrrs))


def run_file(path: str, splits: int, noise: float) -> list[dict]:
    """Measure one labelled file; return one row per number of signals."""
    if FORBIDDEN in path:
        raise SystemExit(f"{FORBIDDEN} is for reporting the engine only")
    sme_profiles, startup_profiles, qrels = load_labelled(ROOT / path)
    engine = MatchEngine().fit(sme_profiles + startup_profiles)
    startups = [p.ref for p in startup_profiles]
    smes = [p.ref for p in sme_profiles]
    ranked, features, column = {}, {}, {}
    for sme in smes:
        scores = np.array([engine.score_pair(sme, s) for s in startups])
        ranked[sme] = [startups[j] for j in np.argsort(-scores, kind="stable")]
        features[sme] = pair_features(engine, sme, startups)
        column[sme] = {s: j for j, s in enumerate(startups)}
    rows = {n: {"ndcg": [], "mrr": [], "pairs": [], "used": 0, "blend": []} for n in SIGNALS}
    for split in range(splits):
        rng = random.Random(1000 + split)
        shuffled = smes[:]
        rng.shuffle(shuffled)
        train, test = shuffled[: len(smes) // 2], shuffled[len(smes) // 2 :]
        stream = simulate(rng, train, ranked, qrels, max(SIGNALS), noise)
        for n in SIGNALS:
            labelled = majority(stream[:n])
            labels = list(labelled.values())
            reranker = None
            if enough_feedback(labels, MIN_PAIRS):
                X = np.vstack([features[s][column[s][t]] for s, t in labelled])
                groups = [s for s, _t in labelled]
                reranker = ReRanker(min_pairs=MIN_PAIRS).fit(X, labels, groups=groups)
                rows[n]["used"] += 1
                rows[n]["blend"].append(reranker.blend_)
            ndcg, reciprocal = evaluate(test, ranked, features, column, qrels, startups, reranker)
            rows[n]["ndcg"].append(ndcg)
            rows[n]["mrr"].append(reciprocal)
            rows[n]["pairs"].append(len(labels))
    return [
        {
            "file": Path(path).name,
            "signals": n,
            "pairs": float(np.mean(r["pairs"])),
            "used": r["used"],
            "blend": float(np.mean(r["blend"])) if r["blend"] else None,
            "ndcg": float(np.mean(r["ndcg"])),
            "ndcg_sd": float(np.std(r["ndcg"])),
            "mrr": float(np.mean(r["mrr"])),
        }
        for n, r in rows.items()
    ]


def table(rows: list[dict], splits: int) -> str:
    """Render the rows as a Markdown table."""
    lines = [
        "| file | signals | labelled pairs | re-ranker used | mean blend | nDCG@5 (± sd) | MRR |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        blend = "–" if r["blend"] is None else f"{r['blend']:.2f}"
        lines.append(
            f"| {r['file']} | {r['signals']} | {r['pairs']:.0f} | {r['used']}/{splits} | "
            f"{blend} | {r['ndcg']:.3f} (± {r['ndcg_sd']:.3f}) | {r['mrr']:.3f} |"
        )
    return "\n".join(lines)


def record(text: str) -> None:
    """Replace (or append) this benchmark's section of bench/RESULTS.md."""
    current = RESULTS.read_text(encoding="utf-8")
    if HEADING in current:
        start = current.index(HEADING)
        following = current.find("\n## ", start + len(HEADING))
        end = len(current) if following < 0 else following + 1
        current = current[:start] + text + ("\n" if following >= 0 else "") + current[end:]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(current if current.endswith("\n") else current + "\n", encoding="utf-8")


def main() -> None:
    """Run the simulation on every labelled file and print (and record) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    load = os.getloadavg()
    rows = []
    for path in FILES:
        rows += run_file(path, args.splits, args.noise)
    seconds = time.perf_counter() - started
    body = table(rows, args.splits)
    print(body)
    text = (
        f"{HEADING}\n\n"
        f"`python bench/bench_feedback.py --splits {args.splits} --noise {args.noise}`: "
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, load "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the start, {seconds:.0f} s in all.\n"
        "Simulated users of half of the SMEs (random halves, one split per row of the average) "
        'mark suggestions of their engine\'s top 15 "passt" when the label grade is >= 2, with '
        f"{args.noise:.0%} of the marks flipped; the re-ranker (same features, minimum and pool "
        "as the app) is trained on the first N signals and re-orders the engine's top 20 of the "
        "**other** half, where nDCG@5 and MRR are measured. 0 signals = the engine alone. "
        "`matching-real-heldout.json` is not used.\n\n"
        f"{body}\n"
    )
    if not args.no_write:
        record(text)


if __name__ == "__main__":
    main()
