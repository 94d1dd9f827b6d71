"""The app's score thresholds, read off the calibrated level table of the engine it fits.

Every absolute score the app compares with (the schedule's candidate floor, the fairness
threshold and the grid's colours, the organisers' overview default) comes from the same table
as the levels people see ("sehr passend", "passend", "vielleicht"): ``levels.json``, or the
table named by ``MATCHING_PARAMS["levels"]``.  A change of the engine's score scale then moves
all of them with one recalibration (``bench/calibrate_levels.py``); settings given in the
environment still win.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from flask import current_app

from matchmaker.matching.engine.calibration import load_floor, load_levels


@lru_cache(maxsize=8)
def _table(source: str | None) -> tuple[dict[str, float], float]:
    return load_levels(source), load_floor(source)


def _calibration(config: Mapping) -> tuple[dict[str, float], float]:
    """The level thresholds and the floor of the engine ``MATCHING_PARAMS`` configures."""
    params = config.get("MATCHING_PARAMS") or {}
    source = params.get("levels")
    if isinstance(source, Mapping):
        levels, floor = load_levels(source), load_floor(source)
    else:
        levels, floor = _table(None if source is None else str(source))
    if params.get("min_score") is not None:
        floor = float(params["min_score"])
    return levels, floor


def levels(config: Mapping | None = None) -> dict[str, float]:
    """Return the level thresholds (``very_good``, ``good``, ``possible``), a copy to keep."""
    return dict(_calibration(config if config is not None else current_app.config)[0])


def schedule_min_score(config: Mapping | None = None) -> float:
    """Pairs scoring below this are no schedule candidates: the engine's suggestion floor."""
    config = config if config is not None else current_app.config
    if config.get("SCHEDULE_MIN_SCORE") is not None:
        return float(config["SCHEDULE_MIN_SCORE"])
    return _calibration(config)[1]


def fairness_threshold(config: Mapping | None = None) -> float:
    """A candidate this good ("vielleicht" and better) should not leave anyone without a meeting."""
    config = config if config is not None else current_app.config
    if config.get("SCHEDULE_FAIRNESS_THRESHOLD") is not None:
        return float(config["SCHEDULE_FAIRNESS_THRESHOLD"])
    return _calibration(config)[0]["possible"]


def overview_threshold(config: Mapping | None = None) -> float:
    """The overview's default floor and "who has no good match": the level "passend".

    Rounded to a whole percentage, as every score is shown (a field reading „12.8“ beside
    scores like „13 %“ would puzzle).
    """
    return round(levels(config)["good"], 2)
