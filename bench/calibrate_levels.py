"""Fit the score thresholds of the calibrated levels and write the engine's table.

Usage: python bench/calibrate_levels.py [--labelled FILE ...] [--check]

Fits the default engine on each labelled file on its own (each is one event), scores every
SME × startup pair, pools the pairs of all files, and fits an isotonic regression of "relevant"
(grade >= 2) on the score.  By default the files are ``tests/data/matching-dev.json`` and the
real-text development sets of ``bench_matching.py`` (``REAL_DEV_SETS``; never a reporting-only
held-out set): 54 relevant pairs of the written file alone left steps so coarse that "good" and
"very good" fell on one threshold.  Each level's threshold is the
lowest score whose calibrated probability of being relevant reaches the level's target
(very good 0.6, good 0.3, possible 0.1).  The score floor (no suggestion, no schedule
candidate below it) is the highest score that keeps 95 % of the relevant pairs at or above it.
The result goes to
``matchmaker/matching/engine/levels.json`` with the data and method it came from; ``--check``
only compares it with the shipped table.  Deterministic: same file, same engine, same table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matchmaker.matching.engine import MatchEngine  # noqa: E402
from matchmaker.matching.engine.calibration import LEVELS  # noqa: E402
from matchmaker.matching.evaluation import load_labelled  # noqa: E402

TABLE = ROOT / "matchmaker/matching/engine/levels.json"
TARGETS = {"very_good": 0.6, "good": 0.3, "possible": 0.1}
FLOOR_RECALL = 0.95  # share of the relevant pairs the score floor keeps


def scored_pairs(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return every SME × startup pair's score and relevance (grade >= 2) of one file."""
    smes, startups, qrels = load_labelled(path)
    engine = MatchEngine().fit([*smes, *startups])
    rows, cols, S = engine.score_matrix("sme")
    relevant = [int(qrels.get(r, {}).get(c, 0)) >= 2 for r in rows for c in cols]
    return S.ravel().astype(np.float64), np.array(relevant, dtype=np.float64)


def default_files() -> list[Path]:
    """The written dev file and the real-text development sets (no reporting-only set)."""
    from bench_matching import QUALITY_SETS, REAL_DEV_SETS

    return [QUALITY_SETS["dev"], *(QUALITY_SETS[name] for name in REAL_DEV_SETS)]


def calibrate(paths: list[Path]) -> dict:
    """Return the level table fitted on the pooled pairs of the labelled files."""
    pairs = [scored_pairs(path) for path in paths]
    scores = np.concatenate([s for s, _ in pairs])
    relevant = np.concatenate([r for _, r in pairs])
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    iso.fit(scores, relevant)
    grid = np.unique(scores)
    prob = iso.predict(grid)
    thresholds = {}
    for level in LEVELS:
        reached = np.flatnonzero(prob >= TARGETS[level])
        # a target never reached: the level starts above every observed score
        thresholds[level] = round(float(grid[reached[0]]), 4) if len(reached) else 1.0
    kept = np.sort(scores[relevant > 0])[::-1][: math.ceil(FLOOR_RECALL * relevant.sum())]
    # rounded down, so the floor keeps at least FLOOR_RECALL; never above the lowest level
    floor = min(max(math.floor(float(kept[-1]) * 1e4) / 1e4, 0.0), thresholds["possible"])
    shares = {
        level: round(float(relevant[scores >= t].mean()) if (scores >= t).any() else 0.0, 3)
        for level, t in thresholds.items()
    }
    return {
        "thresholds": thresholds,
        "targets": TARGETS,
        "relevant_share_at_or_above": shares,
        "floor": floor,
        "floor_keeps": {
            "relevant_pairs": round(float((scores[relevant > 0] >= floor).mean()), 3),
            "all_pairs": round(float((scores >= floor).mean()), 3),
        },
        "method": "isotonic regression of grade>=2 on the default engine's score, "
        "lowest score reaching each target probability; floor: highest score keeping "
        f"{FLOOR_RECALL:.0%} of the relevant pairs (bench/calibrate_levels.py)",
        "labelled_files": [
            str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
            for path in paths
        ],
        "pairs": len(scores),
        "relevant_pairs": int(relevant.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=Path, nargs="+", help="default: see above")
    parser.add_argument("--check", action="store_true", help="compare with the shipped table")
    args = parser.parse_args()
    table = calibrate([path.resolve() for path in args.labelled or default_files()])
    print(json.dumps(table, indent=2, ensure_ascii=False))
    if args.check:
        shipped = json.loads(TABLE.read_text(encoding="utf-8"))
        same = (shipped["thresholds"], shipped.get("floor")) == (
            table["thresholds"],
            table["floor"],
        )
        print("shipped table is up to date" if same else "shipped table differs")
        sys.exit(0 if same else 1)
    TABLE.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {TABLE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
