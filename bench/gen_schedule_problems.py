"""Generate the scale problems for the scheduling benchmark, deterministically.

medium: 200 SMEs + 80 startups, 10 slots, 60 tables.
large: 1,500 SMEs + 500 startups, 12 slots, 400 tables.
xl: the 5,000-participant brokerage of issue 14 (3,000 SMEs + 2,000 startups, 16 slots with a
morning of 8, 700 tables, at most 8 meetings each), built as the app builds it (see ``xl``).

In medium and large each SME gets 15-40 candidate startups with skewed, TF-IDF-like scores in
0.05-0.6 (pairs not listed are vetoed), 10 % of participant-slot cells are unavailable, meeting
caps vary, and a few SME wishes are required meetings. Usage::

    python bench/gen_schedule_problems.py OUTDIR [NAME ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

SIZES = {
    "medium": {"smes": 200, "startups": 80, "slots": 10, "tables": 60},
    "large": {"smes": 1500, "startups": 500, "slots": 12, "tables": 400},
    "xl": {"smes": 3000, "startups": 2000, "slots": 16, "tables": 700},
}

#: The app's settings the xl problem mirrors (``matchmaker/config.py``).
XL_MIN_SCORE = 0.05
XL_PER_PARTICIPANT = 30
XL_WISH_BONUS = 0.5
XL_FAIRNESS = 0.1


def generate(name: str, seed: int = 20240501) -> dict:
    """Return the problem ``name`` (a key of ``SIZES``) in the JSON format."""
    if name == "xl":
        return xl(seed)
    size = SIZES[name]
    rng = np.random.default_rng(seed + len(name))
    n_sme, n_st, slots = size["smes"], size["startups"], size["slots"]
    # Startup popularity is skewed: a few startups attract most SMEs.
    popularity = rng.pareto(1.5, n_st) + 0.2
    popularity /= popularity.sum()
    participants = []
    for k in range(n_sme):
        participants.append(
            {
                "id": f"sme-{k:04d}",
                "side": "sme",
                "max_meetings": int(rng.integers(3, 9)),
                "unavailable": sorted(int(s) for s in np.flatnonzero(rng.random(slots) < 0.1) + 1),
            }
        )
    for k in range(n_st):
        participants.append(
            {
                "id": f"st-{k:04d}",
                "side": "startup",
                "max_meetings": int(rng.integers(slots - 3, slots + 1)),
                "unavailable": sorted(int(s) for s in np.flatnonzero(rng.random(slots) < 0.1) + 1),
            }
        )
    meetings = []
    for k in range(n_sme):
        n_cand = int(rng.integers(15, 41))
        partners = rng.choice(n_st, size=min(n_cand, n_st), replace=False, p=popularity)
        # Skewed scores: most candidates are weak, a few are strong.
        scores = 0.05 + 0.55 * rng.beta(1.2, 4.0, size=len(partners))
        wish = rng.random() < 0.08
        best = int(np.argmax(scores))
        for j, (st, sc) in enumerate(zip(partners, scores, strict=True)):
            required = bool(wish and j == best)
            meetings.append(
                {
                    "id": f"m{len(meetings) + 1}",
                    "a": f"sme-{k:04d}",
                    "b": f"st-{int(st):04d}",
                    "score": round(float(sc) + (0.2 if required else 0.0), 4),
                    "required": required,
                    "window": "any",
                    "fixed_slot": None,
                    "requested": required,
                }
            )
    return {
        "slots": slots,
        "tables": size["tables"],
        "fairness_threshold": 0.15,
        "participants": participants,
        "meetings": meetings,
    }


def xl(seed: int = 20240501) -> dict:
    """Return the 5,000-participant brokerage, mirroring ``bench/bench_pipeline.py``'s event.

    Scores are cosines of sparse topic profiles (a few topics per firm out of 80, popular topics
    more often, plus a little shared vocabulary), so most pairs score near zero and each firm
    has a handful of strong partners, as TF-IDF cosines do. As in ``scheduling/problem.py``:
    vetoed pairs (1,000 "not interested") are never listed; candidates are the pairs from
    ``XL_MIN_SCORE`` among the ``XL_PER_PARTICIPANT`` best of either side; every accepted request
    (1,500 requests, 70 % accepted, 1 in 10 between two SMEs) is a required meeting, and every
    "must meet" wish (2,000) a candidate with ``XL_WISH_BONUS`` added. Participants: 12 % only
    in the morning or only in the afternoon, 18 % with 1-3 blocked slots; 15 % ask for 4-6
    meetings, the others have the event's 8.
    """
    size = SIZES["xl"]
    rng = np.random.default_rng(seed + 14)
    n_sme, n_st, slots = size["smes"], size["startups"], size["slots"]
    n_topics = 80
    topic_weight = rng.pareto(1.5, n_topics) + 0.5
    topic_weight /= topic_weight.sum()

    def profiles(n: int) -> np.ndarray:
        out = np.zeros((n, n_topics))
        for k in range(n):
            size = int(rng.integers(2, 8))
            picked = rng.choice(n_topics, size=size, replace=False, p=topic_weight)
            out[k, picked] = rng.gamma(0.7, 1.0, size=len(picked))
        out += 0.15 * rng.random((n, n_topics)) ** 4  # shared vocabulary: a weak floor
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    scores = 0.4 * (profiles(n_sme) @ profiles(n_st).T)
    scores = np.round(scores * rng.uniform(0.5, 1.0, scores.shape), 4)
    smes = [f"sme-{k:04d}" for k in range(n_sme)]
    startups = [f"st-{k:04d}" for k in range(n_st)]
    half = slots // 2
    morning, afternoon = list(range(1, half + 1)), list(range(half + 1, slots + 1))
    participants = []
    for pid in smes + startups:
        draw = rng.random()
        if draw < 0.12:
            blocked = afternoon if rng.random() < 0.5 else morning
        elif draw < 0.30:
            picked = rng.choice(slots, int(rng.integers(1, 4)), replace=False)
            blocked = sorted(int(s) + 1 for s in picked)
        else:
            blocked = []
        cap = int(rng.choice([4, 5, 6])) if rng.random() < 0.15 else 8
        side = "sme" if pid.startswith("sme") else "startup"
        participants.append({"id": pid, "side": side, "max_meetings": cap, "unavailable": blocked})
    used: set[tuple[str, str]] = set()

    def fresh(pool_a: list[str], pool_b: list[str]) -> tuple[str, str]:
        while True:
            a, b = pool_a[int(rng.integers(len(pool_a)))], pool_b[int(rng.integers(len(pool_b)))]
            key = (min(a, b), max(a, b))
            if a != b and key not in used:
                used.add(key)
                return key

    def raw(a: str, b: str) -> float:
        if a.startswith("sme") and b.startswith("st"):
            return float(scores[int(a[4:]), int(b[3:])])
        # Two SMEs: the match engine scores them like any pair; a fixed share of their scale.
        return round(0.3 * float(rng.random()), 4)

    required = set()
    for n in range(1500):
        pair = fresh(smes, startups) if n % 10 else fresh(smes, smes)
        if rng.random() < 0.7:
            required.add(pair)
    wishes = {fresh(smes, startups) for _ in range(2000)}
    for a, b in (fresh(smes, startups) for _ in range(1000)):
        scores[int(a[4:]), int(b[3:])] = -1.0
    keep = scores >= XL_MIN_SCORE
    k = XL_PER_PARTICIPANT
    kth_row = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
    kth_col = -np.partition(-scores, k - 1, axis=0)[k - 1, :]
    keep &= (scores >= kth_row[:, None]) | (scores >= kth_col[None, :])
    listed = {(smes[i], startups[j]): float(scores[i, j]) for i, j in np.argwhere(keep)}
    for pair in sorted(required | wishes):
        listed.setdefault(pair, raw(*pair))
    meetings = []
    for (a, b), score in sorted(listed.items()):
        is_required = (a, b) in required
        bonus = XL_WISH_BONUS if (a, b) in wishes and not is_required else 0.0
        meetings.append(
            {
                "id": f"m{len(meetings) + 1}",
                "a": a,
                "b": b,
                "score": round(max(score, 0.0) + bonus, 4),
                "required": is_required,
                "window": "any",
                "fixed_slot": None,
                "requested": is_required or (a, b) in wishes,
            }
        )
    return {
        "slots": slots,
        "tables": size["tables"],
        "morning_slots": half,
        "fairness_threshold": XL_FAIRNESS,
        "participants": participants,
        "meetings": meetings,
    }


def main(argv: list[str]) -> int:
    """Write the problems (default: all of ``SIZES``) into the given folder."""
    out = Path(argv[1] if len(argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for name in argv[2:] or SIZES:
        path = out / f"{name}.json"
        path.write_text(json.dumps(generate(name)), encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
