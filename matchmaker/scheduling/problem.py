"""Turn an event's confirmed participants, wishes and match scores into a solver problem.

Participants are ``p<profile id>``; a meeting's id is ``<smaller profile id>-<larger profile id>``
and stays the same across versions. Candidates are:

* SME ↔ startup pairs whose match score reaches ``SCHEDULE_MIN_SCORE``;
* every accepted meeting request (``required``) and every "must meet" wish (score plus
  ``SCHEDULE_WISH_BONUS``), also between two SMEs or two startups;
* pairs the caller must keep (meetings already placed by hand), unless vetoed.

A pair that either side marked "not interested" is never listed.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from matchmaker.events.models import CONFIRMED, Attendee, Event, Registration
from matchmaker.events.queries import scheduling_input
from matchmaker.extensions import db
from matchmaker.matching.services import cache


def participant_id(profile_id: int) -> str:
    """Return the solver id of a profile."""
    return f"p{profile_id}"


def profile_id_of(participant: str) -> int:
    """Return the profile id behind a solver participant id."""
    return int(participant.removeprefix("p"))


def meeting_key(a: int, b: int) -> str:
    """Return the meeting id of a pair of profiles (order does not matter)."""
    low, high = sorted((a, b))
    return f"{low}-{high}"


def pair_of(key: str) -> tuple[int, int]:
    """Return the two profile ids of a meeting id."""
    low, high = key.split("-", 1)
    return int(low), int(high)


@dataclass
class ProblemData:
    """A solver problem with the facts about the event the app needs besides it."""

    problem: dict
    names: dict[int, str]
    kinds: dict[int, str]
    required: set[tuple[int, int]] = field(default_factory=set)
    wishes: set[tuple[int, int]] = field(default_factory=set)
    vetoed: set[tuple[int, int]] = field(default_factory=set)
    absent: set[int] = field(default_factory=set)


def absent_profiles(event: Event) -> set[int]:
    """Return confirmed profiles all of whose attendees were marked as no-shows."""
    rows = db.session.execute(
        select(Registration.profile_id, Attendee.no_show)
        .join(Attendee, Attendee.registration_id == Registration.id)
        .where(
            Registration.event_id == event.id,
            Registration.status == CONFIRMED,
            Attendee.cancelled_at.is_(None),
        )
    ).all()
    present: dict[int, bool] = {}
    for profile_id, no_show in rows:
        present[profile_id] = present.get(profile_id, False) or not no_show
    return {pid for pid, here in present.items() if not here}


def pair_scores(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """Score pairs of profiles with the fitted matching engine (0 for unknown profiles)."""
    model = cache().get()
    engine = model.engine
    scores: dict[tuple[int, int], float] = {}
    for a, b in pairs:
        ref_a, ref_b = model.ids.get(a), model.ids.get(b)
        known = engine is not None and ref_a is not None and ref_b is not None
        scores[(a, b)] = engine.score_pair(ref_a, ref_b) if known else 0.0
    return scores


def build_problem(
    event: Event,
    *,
    keep_pairs: Iterable[tuple[int, int]] = (),
    absent_from: int | None = None,
) -> ProblemData:
    """Build the solver problem of an event from its current registrations and wishes.

    ``absent_from``: no-shows are unavailable from this slot on (default: every slot).
    """
    config = current_app.config
    min_score = float(config["SCHEDULE_MIN_SCORE"])
    bonus = float(config["SCHEDULE_WISH_BONUS"])
    data = scheduling_input(event)
    people = data["participants"]
    ids = [p["profile_id"] for p in people]
    kinds = {p["profile_id"]: p["kind"] for p in people}
    names = {p["profile_id"]: p["name"] for p in people}
    required = {tuple(p) for p in data["required_pairs"]}
    wishes = {tuple(p) for p in data["must_meet_pairs"]}
    vetoed = {tuple(p) for p in data["vetoed_pairs"]}
    keep = {tuple(sorted(p)) for p in keep_pairs} - vetoed
    absent = absent_profiles(event)
    gone = set(range(absent_from or 1, event.slot_count + 1))
    listed = {p for p in required | wishes | keep if p[0] in kinds and p[1] in kinds}
    ordered = sorted(ids)
    cross = {
        (a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :] if kinds[a] != kinds[b]
    }
    scores = pair_scores(sorted((cross | listed) - vetoed))
    # A no-show cannot keep an agreed meeting any more: it stops being required.
    due = {pair for pair in required if not absent.intersection(pair)}
    meetings = [
        _meeting(pair, score, pair in due, pair in wishes or pair in required, bonus)
        for pair, score in scores.items()
        if pair in listed or score >= min_score
    ]
    participants = [
        {
            "id": participant_id(p["profile_id"]),
            "side": p["kind"],
            "max_meetings": p["max_meetings"],
            "unavailable": sorted(
                set(p["unavailable"]) | (gone if p["profile_id"] in absent else set())
            ),
        }
        for p in people
    ]
    problem = {
        "slots": event.slot_count,
        "tables": event.table_count,
        "morning_slots": event.morning_slots or None,
        "fairness_threshold": float(config["SCHEDULE_FAIRNESS_THRESHOLD"]),
        "participants": participants,
        "meetings": meetings,
    }
    return ProblemData(problem, names, kinds, required, wishes, vetoed, absent)


def _meeting(pair: tuple[int, int], score: float, required: bool, wished: bool, bonus: float):
    a, b = pair
    return {
        "id": meeting_key(a, b),
        "a": participant_id(a),
        "b": participant_id(b),
        "score": round(score + (bonus if wished and not required else 0.0), 4),
        "required": required,
        "window": "any",
        "fixed_slot": None,
        "requested": required or wished,
    }
