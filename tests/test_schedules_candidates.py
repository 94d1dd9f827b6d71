"""Schedules of large events: candidates scored as one block, only the best of either side kept.

Also checks that the agendas and explanations of many participants, read from the version once
(the PDF, the publish), say what the single agenda page says.
"""

import numpy as np
import pytest
from fixtures_events import schedule_world  # noqa: F401 (fixture)

from matchmaker.events import registrations, wishes
from matchmaker.events.models import MUST_MEET, NOT_INTERESTED
from matchmaker.extensions import db
from matchmaker.matching.engine.calibration import load_floor, load_levels
from matchmaker.matching.services import pair_scores, score_block
from matchmaker.scheduling import building
from matchmaker.scheduling.agendas import VersionIndex, agenda, shortfall
from matchmaker.scheduling.problem import build_problem, pair_of


def _cross(data) -> dict[tuple[int, int], float]:
    """Return the SME ↔ startup candidates of a problem that nobody asked for, with scores."""
    return {
        pair_of(m.id): m.score
        for m in data.problem.meetings
        if m.id not in data.requested and len({data.kinds[p] for p in pair_of(m.id)}) == 2
    }


def test_score_block_gives_the_pair_scores(app, schedule_world, make_profile, fit_model):  # noqa: F811
    w = schedule_world
    fit_model()
    # a profile added after the fit is scored with its own text, as pair_scores does
    late = make_profile(kind="sme", name="Spät GmbH", description="Eingangsrechnungen mit KI.")
    w.profiles[late.name] = late
    smes = [p.id for p in w.profiles.values() if p.kind == "sme"]
    startups = [p.id for p in w.profiles.values() if p.kind == "startup"]
    block = score_block([*smes, 999_999], startups)
    assert block.shape == (len(smes) + 1, len(startups))
    for i, a in enumerate(smes):
        for j, b in enumerate(startups):
            pair = (min(a, b), max(a, b))
            assert block[i, j] == pytest.approx(pair_scores([pair])[pair], abs=1e-6)
    assert not block[-1].any()  # an unknown profile scores 0
    assert block[smes.index(late.id)].any()


OVERLAPPING = {
    "sme": [
        "Eingangsrechnungen erfassen, Buchhaltung und Wartung der Pumpen mit KI.",
        "Buchhaltung mit KI, Eingangsrechnungen und Qualitätsprüfung mit Kamera.",
        "Wartung und Sensordaten, dazu Eingangsrechnungen in der Buchhaltung.",
    ],
    "startup": [
        "KI für Eingangsrechnungen und Buchhaltung, auch Wartung mit Sensordaten.",
        "Qualitätsprüfung mit Kamera, Buchhaltung und Eingangsrechnungen mit KI.",
    ],
}


@pytest.fixture
def crowded(schedule_world, make_profile, fit_model):  # noqa: F811
    """The small event plus profiles that all fit each other a little."""
    w = schedule_world
    for kind, texts in OVERLAPPING.items():
        for number, text in enumerate(texts):
            name = f"Überschneidung {kind} {number}"
            profile = make_profile(kind=kind, name=name, description=text)
            w.profiles[name] = profile
            registrations.register(w.event.id, profile, [(name, f"x{kind}{number}@t.example")])
    db.session.commit()
    fit_model()  # what the refit job does after these commits
    return w


def test_each_participant_keeps_its_best_partners_only(app, crowded):
    w = crowded
    app.config["SCHEDULE_CANDIDATES_PER_PARTICIPANT"] = 0
    everything = _cross(build_problem(w.event))
    app.config["SCHEDULE_CANDIDATES_PER_PARTICIPANT"] = 1
    best = _cross(build_problem(w.event))
    assert len(best) < len(everything)
    assert set(best) <= set(everything)

    def top(pid: int) -> float:
        return max(score for pair, score in everything.items() if pid in pair)

    for pid in {p for pair in everything for p in pair}:
        # its best partner stays a candidate ...
        assert any(pid in pair and score == top(pid) for pair, score in best.items())
    for (a, b), score in best.items():
        # ... and every candidate is the best of one of its two sides
        assert score == top(a) or score == top(b)


def test_candidates_and_fairness_follow_the_calibrated_level_table(app, crowded):
    """Unset, the candidate floor and the fairness threshold are read off the level table."""
    w = crowded
    app.config["SCHEDULE_CANDIDATES_PER_PARTICIPANT"] = 0
    data = build_problem(w.event)
    default = _cross(data)
    assert min(default.values()) >= load_floor()
    assert data.problem.fairness_threshold == load_levels()["possible"]
    # a table on another scale: its floor halves the candidates, its "possible" is the fairness
    floor = float(np.median(list(default.values())))
    table = {"thresholds": {"very_good": 1.0, "good": 0.9, "possible": 0.8}, "floor": floor}
    app.config["MATCHING_PARAMS"] = {"levels": table}
    data = build_problem(w.event)
    assert _cross(data) == {pair: s for pair, s in default.items() if s >= floor}
    assert len(_cross(data)) < len(default)
    assert data.problem.fairness_threshold == 0.8
    # a floor set in the environment wins over the table's
    app.config["SCHEDULE_MIN_SCORE"] = load_floor()
    assert _cross(build_problem(w.event)) == default


def test_wishes_stay_candidates_and_vetoes_never_are(app, crowded):
    w = crowded
    app.config["SCHEDULE_CANDIDATES_PER_PARTICIPANT"] = 1
    mueller = w.profiles["Bäckerei Müller GmbH"]
    everything = {
        pair: score for pair, score in _cross(build_problem(w.event)).items() if mueller.id in pair
    }
    best_pair = max(everything, key=everything.get)
    vetoed_id = next(p for p in best_pair if p != mueller.id)
    wished = w.profiles["Lausitzer Möbelwerk"]  # an SME: never a match candidate
    wishes.set_mark(w.event, mueller, db.session.get(type(mueller), vetoed_id), NOT_INTERESTED)
    wishes.set_mark(w.event, mueller, wished, MUST_MEET)
    db.session.commit()
    data = build_problem(w.event)
    ids = {pair_of(m.id) for m in data.problem.meetings}
    assert best_pair not in ids
    assert tuple(sorted((mueller.id, wished.id))) in ids
    # with the best one vetoed, the next best partner of Müller takes its place
    assert any(mueller.id in pair for pair in _cross(data))


def test_agendas_read_once_say_what_each_agenda_says(app, schedule_world):  # noqa: F811
    w = schedule_world
    app.config["SCHEDULE_CANDIDATES_PER_PARTICIPANT"] = 0
    wishes.save_availability(w.event, w.profiles["Stadtwerke Spremberg"], [1, 2], None)
    version = building.build(w.event, w.organiser)
    db.session.commit()
    index = VersionIndex(version)
    explained = 0
    for profile in w.profiles.values():
        alone = agenda(w.event, version, profile.id)
        together = agenda(w.event, version, profile.id, index)
        assert [(r.slot, r.meeting, r.table, r.unavailable, r.why) for r in alone] == [
            (r.slot, r.meeting, r.table, r.unavailable, r.why) for r in together
        ]
        one, many = shortfall(version, profile.id), shortfall(version, profile.id, index)
        assert one == many
        explained += one is not None
    assert explained  # some participant got fewer meetings than wanted, and was explained
