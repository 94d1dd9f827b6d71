"""Calibrated levels: turn a raw score into "very good", "good" or "possible match".

The thresholds come from labelled pairs (``tests/data/matching-dev.json``) through
``bench/calibrate_levels.py``, which writes the small table ``levels.json`` next to this module;
the table records how it was made.  A level is the lowest score from which, on the labelled
pairs, a pair is relevant (grade >= 2) with the level's probability (isotonic fit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["LEVELS", "level_of", "load_levels"]

# best first; the probability a pair of that level is relevant, on the labelled data
LEVELS = ("very_good", "good", "possible")


def load_levels(source: str | Path | Mapping | None = None) -> dict[str, float]:
    """Read the level thresholds (``{"very_good": t1, "good": t2, "possible": t3}``)."""
    if source is None:
        data = json.loads(
            resources.files("matchmaker.matching.engine").joinpath("levels.json").read_text()
        )
    elif isinstance(source, Mapping):
        data = dict(source)
    else:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    thresholds = data.get("thresholds", data)
    out = {level: float(thresholds[level]) for level in LEVELS}
    if not out["very_good"] >= out["good"] >= out["possible"]:
        raise ValueError("level thresholds must decrease from very_good to possible")
    return out


def level_of(scores, thresholds: Mapping[str, float]) -> list[str]:
    """Return the level of each score (``""`` below the lowest threshold)."""
    cuts = np.array([thresholds[level] for level in reversed(LEVELS)])
    names = ["", *reversed(LEVELS)]
    idx = np.searchsorted(cuts, np.asarray(scores, dtype=np.float64), side="right")
    return [names[i] for i in idx.tolist()]
