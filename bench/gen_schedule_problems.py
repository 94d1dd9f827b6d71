"""Generate the scale problems for the scheduling benchmark, deterministically.

medium: 200 SMEs + 80 startups, 10 slots, 60 tables.
large: 1,500 SMEs + 500 startups, 12 slots, 400 tables.

Each SME gets 15-40 candidate startups with skewed, TF-IDF-like scores in 0.05-0.6 (pairs not
listed are vetoed), 10 % of participant-slot cells are unavailable, meeting caps vary, and a few
SME wishes are required meetings. Usage::

    python bench/gen_schedule_problems.py OUTDIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

SIZES = {
    "medium": {"smes": 200, "startups": 80, "slots": 10, "tables": 60},
    "large": {"smes": 1500, "startups": 500, "slots": 12, "tables": 400},
}


def generate(name: str, seed: int = 20240501) -> dict:
    """Return the problem ``name`` (a key of ``SIZES``) in the JSON format."""
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


def main(argv: list[str]) -> int:
    """Write medium.json and large.json into the given folder."""
    out = Path(argv[1] if len(argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for name in SIZES:
        path = out / f"{name}.json"
        path.write_text(json.dumps(generate(name)), encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
