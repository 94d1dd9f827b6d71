"""Calibrated levels: turn a raw score into "very good", "good" or "possible match".

The thresholds come from labelled pairs (``tests/data/matching-dev.json``) through
``bench/calibrate_levels.py``, which writes the small table ``levels.json`` next to this module;
the table records how it was made.  A level is the lowest score from which, on the labelled
pairs, a pair is relevant (grade >= 2) with the level's probability (isotonic fit).

The same table holds the score *floor*: the highest score that still keeps a fixed share of the
relevant labelled pairs (95 %) at or above it.  Suggestions, schedule candidates and the
organisers' thresholds are all read off this table, so a change of the engine's score scale
moves them together when the table is recalibrated; no score constant follows the scale by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["LEVELS", "level_of", "load_floor", "load_levels"]

# best first; the probability a pair of that level is relevant, on the labelled data
LEVELS = ("very_good", "good", "possible")


def _table(source: str | Path | Mapping | None) -> dict:
    if source is None:
        return json.loads(
            resources.files("matchmaker.matching.engine").joinpath("levels.json").read_text()
        )
    if isinstance(source, Mapping):
        return dict(source)
    return json.loads(Path(source).read_text(encoding="utf-8"))


def load_levels(source: str | Path | Mapping | None = None) -> dict[str, float]:
    """Read the level thresholds (``{"very_good": t1, "good": t2, "possible": t3}``)."""
    data = _table(source)
    thresholds = data.get("thresholds", data)
    out = {level: float(thresholds[level]) for level in LEVELS}
    if not out["very_good"] >= out["good"] >= out["possible"]:
        raise ValueError("level thresholds must decrease from very_good to possible")
    return out


def load_floor(source: str | Path | Mapping | None = None) -> float:
    """Read the score floor: below it a pair is neither suggested nor a schedule candidate.

    A table without a floor (thresholds given by hand) takes the packaged table's floor, capped
    at its own lowest level so that every level stays reachable.
    """
    data = _table(source)
    if "floor" in data:
        floor = float(data["floor"])
    else:
        floor = min(float(_table(None)["floor"]), load_levels(data)["possible"])
    if not 0.0 <= floor <= load_levels(data)["possible"]:
        raise ValueError("the score floor must lie from 0 up to the lowest level")
    return floor


def level_of(scores, thresholds: Mapping[str, float]) -> list[str]:
    """Return the level of each score (``""`` below the lowest threshold)."""
    cuts = np.array([thresholds[level] for level in reversed(LEVELS)])
    names = ["", *reversed(LEVELS)]
    idx = np.searchsorted(cuts, np.asarray(scores, dtype=np.float64), side="right")
    return [names[i] for i in idx.tolist()]
