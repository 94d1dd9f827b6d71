"""Every score threshold of the app is read off the calibrated level table.

The suggestion floor, the schedule's candidate floor, the fairness threshold and the overview's
default all come from ``levels.json`` (or the table ``MATCHING_PARAMS["levels"]`` names), so a
change of the engine's score scale moves them together with one recalibration.
"""

import pickle

import pytest

from matchmaker.config import Config
from matchmaker.matching import thresholds
from matchmaker.matching.engine import MatchEngine, Profile
from matchmaker.matching.engine.calibration import load_floor, load_levels

SMES = [
    Profile("sme-invoices", "sme", "Wir prüfen jeden Monat 1.500 Eingangsrechnungen von Hand."),
    Profile("sme-energy", "sme", "Wir wollen den Verbrauch unserer Solarparks vorhersagen."),
]
STARTUPS = [
    Profile("st-belege", "startup", "Unsere KI liest Rechnungen und Belege aus und bucht sie."),
    Profile("st-prognose", "startup", "Energieprognosen für Solarparks: Verbrauch, Einspeisung."),
    Profile("st-security", "startup", "Wir schützen Netzwerke vor Angriffen mit KI."),
]

# a table on another score scale, as a recalibration after a change of block weights gives
SCALED = {"thresholds": {"very_good": 0.5, "good": 0.4, "possible": 0.3}, "floor": 0.2}


def test_the_packaged_table_has_a_floor_below_every_level():
    levels, floor = load_levels(), load_floor()
    assert 0.0 < floor < levels["possible"] < levels["good"] < levels["very_good"]


def test_a_table_without_a_floor_takes_the_packaged_one_below_its_own_levels():
    levels = {"very_good": 0.03, "good": 0.02, "possible": 0.01}
    assert load_floor(levels) == 0.01  # capped: every level stays reachable
    assert load_floor({**levels, "possible": 0.9, "good": 0.95, "very_good": 1}) == load_floor()


def test_a_floor_above_the_lowest_level_is_refused():
    with pytest.raises(ValueError, match="floor"):
        load_floor({**SCALED, "floor": 0.35})


def test_the_engine_leaves_out_suggestions_below_the_tables_floor():
    default = MatchEngine().fit([*SMES, *STARTUPS])
    assert default.min_score_ == load_floor()
    every = {s.ref: s.score for s in default.suggest("sme-invoices", k=3)}
    assert "st-belege" in every
    # a table whose floor sits just above the best pair's score leaves it out
    best = max(every.values())
    high = {"thresholds": {"very_good": 1.0, "good": 1.0, "possible": 1.0}, "floor": best + 1e-3}
    assert MatchEngine(levels=high).fit([*SMES, *STARTUPS]).suggest("sme-invoices") == []
    lower = {**high, "floor": best - 1e-3}
    kept = MatchEngine(levels=lower).fit([*SMES, *STARTUPS]).suggest("sme-invoices")
    assert [s.ref for s in kept] == ["st-belege"]
    # a floor given by hand wins over the table's
    assert MatchEngine(levels=high, min_score=0.0).fit(SMES + STARTUPS).min_score_ == 0.0


def test_an_engine_stored_before_the_calibrated_floor_keeps_its_own():
    engine = MatchEngine().fit([*SMES, *STARTUPS])
    state = engine.__getstate__()
    del state["min_score_"]
    state["min_score"] = 0.035  # what such an engine was fitted with
    old = MatchEngine.__new__(MatchEngine)
    old.__setstate__(pickle.loads(pickle.dumps(state)))  # noqa: S301 (our own bytes)
    assert old.min_score_ == 0.035
    assert all(s.score >= 0.035 for s in old.suggest("sme-invoices", k=3))


def test_app_thresholds_follow_the_table_the_engine_is_configured_with():
    config = {"MATCHING_PARAMS": {}, "SCHEDULE_MIN_SCORE": None}
    config["SCHEDULE_FAIRNESS_THRESHOLD"] = None
    levels = load_levels()
    assert thresholds.schedule_min_score(config) == load_floor()
    assert thresholds.fairness_threshold(config) == levels["possible"]
    assert thresholds.overview_threshold(config) == round(levels["good"], 2)

    config["MATCHING_PARAMS"] = {"levels": SCALED}
    assert thresholds.levels(config) == SCALED["thresholds"]
    assert thresholds.schedule_min_score(config) == 0.2
    assert thresholds.fairness_threshold(config) == 0.3
    assert thresholds.overview_threshold(config) == 0.4
    # the engine's own min_score, when configured, is the schedule's floor too
    config["MATCHING_PARAMS"] = {"levels": SCALED, "min_score": 0.1}
    assert thresholds.schedule_min_score(config) == 0.1


def test_settings_in_the_environment_win(monkeypatch, tmp_path):
    monkeypatch.setenv("SCHEDULE_MIN_SCORE", "0.05")
    monkeypatch.setenv("SCHEDULE_FAIRNESS_THRESHOLD", "0.12")
    config = vars(Config(str(tmp_path)))
    assert thresholds.schedule_min_score(config) == 0.05
    assert thresholds.fairness_threshold(config) == 0.12
    monkeypatch.setenv("SCHEDULE_MIN_SCORE", "")
    monkeypatch.delenv("SCHEDULE_FAIRNESS_THRESHOLD")
    config = vars(Config(str(tmp_path)))
    assert thresholds.schedule_min_score(config) == load_floor()
    assert thresholds.fairness_threshold(config) == load_levels()["possible"]


def test_the_grids_colours_are_the_calibrated_levels(app):
    from types import SimpleNamespace

    from matchmaker.scheduling.agendas import score_colours

    levels = load_levels()

    def colour(score: float) -> str:
        return score_colours()(SimpleNamespace(score=score))

    assert colour(levels["good"]) == "high"
    assert colour(levels["good"] - 1e-4) == colour(levels["possible"]) == "mid"
    assert colour(levels["possible"] - 1e-4) == "low"
    app.config["MATCHING_PARAMS"] = {"levels": SCALED}
    assert [colour(0.45), colour(0.35), colour(0.25)] == ["high", "mid", "low"]
