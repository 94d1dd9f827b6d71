"""Turn an event's confirmed participants, wishes and match scores into the solver's Problem.

One typed hop: the events area's read model (``events.queries.scheduling_input``) becomes the
solver's ``Problem`` dataclasses here. A schedule version stores the problem it was made for
as JSON (:func:`problem_document`, the solver's format plus ``requested`` per meeting).

Participants are ``p<profile id>``; a meeting's id is ``<smaller profile id>-<larger profile id>``
and stays the same across versions. Candidates are:

* SME ↔ startup pairs whose match score reaches ``SCHEDULE_MIN_SCORE`` and that are among the
  ``SCHEDULE_CANDIDATES_PER_PARTICIPANT`` best of either side (all pairs of a small event);
* every accepted meeting request (``required``) and every "must meet" wish (score plus
  ``SCHEDULE_WISH_BONUS``), also between two SMEs or two startups;
* pairs the caller must keep (meetings already placed by hand), unless vetoed.

A pair that either side marked "not interested" is never listed.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from flask import current_app
from sqlalchemy import select

from matchmaker.events.models import CONFIRMED, Attendee, Event, Registration
from matchmaker.events.queries import scheduling_input
from matchmaker.extensions import db
from matchmaker.matching import thresholds
from matchmaker.matching.services import Scoring, pair_scores, read_for_scoring, score_block
from matchmaker.scheduling.solver import Meeting, Participant, Problem


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

    problem: Problem
    names: dict[int, str]
    kinds: dict[int, str]
    required: set[tuple[int, int]] = field(default_factory=set)
    wishes: set[tuple[int, int]] = field(default_factory=set)
    vetoed: set[tuple[int, int]] = field(default_factory=set)
    absent: set[int] = field(default_factory=set)
    # Meetings someone asked for (an agreed request or a "must meet" wish).
    requested: set[str] = field(default_factory=set)
    # The model the candidates were scored with and the profiles read for it: the meetings'
    # reasons are worded with them after the solve, without reading the profiles again.
    scoring: Scoring | None = field(default=None, repr=False, compare=False)

    def with_meetings(self, extra: Iterable[tuple[Meeting, bool]]) -> "ProblemData":
        """Return the data with more candidate meetings, each with its ``requested`` flag."""
        extra = list(extra)
        problem = replace(self.problem, meetings=[*self.problem.meetings, *(m for m, _ in extra)])
        requested = self.requested | {m.id for m, asked in extra if asked}
        return replace(self, problem=problem, requested=requested)

    def document(self) -> dict:
        """Return the problem as a schedule version stores it."""
        return problem_document(self.problem, self.requested)


def problem_document(problem: Problem, requested: set[str]) -> dict:
    """Return a problem in the solver's JSON format, with ``requested`` on every meeting."""
    document = problem.to_dict()
    document.setdefault("morning_slots", None)
    for meeting in document["meetings"]:
        meeting["requested"] = meeting["id"] in requested
    return document


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
    min_score = thresholds.schedule_min_score(config)
    bonus = float(config["SCHEDULE_WISH_BONUS"])
    wanted = scheduling_input(event)
    people = wanted.participants
    ids = [p.profile_id for p in people]
    kinds = {p.profile_id: p.kind for p in people}
    names = {p.profile_id: p.name for p in people}
    required = set(wanted.required_pairs)
    wishes = set(wanted.must_meet_pairs)
    vetoed = set(wanted.vetoed_pairs)
    keep = {tuple(sorted(p)) for p in keep_pairs} - vetoed
    absent = absent_profiles(event)
    gone = set(range(absent_from or 1, event.slot_count + 1))
    listed = {p for p in required | wishes | keep if p[0] in kinds and p[1] in kinds}
    smes = sorted(pid for pid in ids if kinds[pid] == "sme")
    startups = sorted(pid for pid in ids if kinds[pid] == "startup")
    scoring = read_for_scoring(ids)
    block = score_block(smes, startups, scoring) if smes and startups else None
    cross = cross_candidates(
        smes,
        startups,
        block,
        vetoed,
        min_score,
        int(config["SCHEDULE_CANDIDATES_PER_PARTICIPANT"]),
    )
    listed_scores = _listed_scores(sorted(listed - vetoed), smes, startups, block, scoring)
    merged = {**cross, **listed_scores}
    scores = {pair: merged[pair] for pair in sorted(merged)}
    # A no-show cannot keep an agreed meeting any more: it stops being required.
    due = {pair for pair in required if not absent.intersection(pair)}
    meetings = [
        candidate(
            pair,
            score,
            required=pair in due,
            wished=pair in wishes or pair in required,
            bonus=bonus,
        )
        for pair, score in scores.items()
        if pair in listed or score >= min_score
    ]
    requested = {meeting_key(*pair) for pair in scores if pair in wishes or pair in required}
    participants = [
        Participant(
            id=participant_id(p.profile_id),
            max_meetings=p.max_meetings,
            unavailable=frozenset(p.unavailable) | (gone if p.profile_id in absent else set()),
            side=p.kind,
        )
        for p in people
    ]
    problem = Problem(
        slots=event.slot_count,
        tables=event.table_count,
        participants=participants,
        meetings=meetings,
        morning_slots=event.morning_slots or None,
        fairness_threshold=thresholds.fairness_threshold(config),
    )
    return ProblemData(
        problem, names, kinds, required, wishes, vetoed, absent, requested, scoring=scoring
    )


def _listed_scores(
    pairs: list[tuple[int, int]],
    smes: list[int],
    startups: list[int],
    block: np.ndarray | None,
    scoring: Scoring,
) -> dict[tuple[int, int], float]:
    """Return the scores of the listed pairs: an SME and a startup from the block, others apart.

    The block holds the same scores as ``pair_scores``; only pairs of one kind (two SMEs
    asking to meet) are scored on their own.
    """
    row_of = {pid: i for i, pid in enumerate(smes)}
    col_of = {pid: j for j, pid in enumerate(startups)}
    found: dict[tuple[int, int], float] = {}
    apart = []
    for a, b in pairs:
        sme, startup = (a, b) if a in row_of else (b, a)
        if block is not None and sme in row_of and startup in col_of:
            found[(a, b)] = float(block[row_of[sme], col_of[startup]])
        else:
            apart.append((a, b))
    found.update(pair_scores(apart, scoring))
    return found


def cross_candidates(
    smes: list[int],
    startups: list[int],
    scores: np.ndarray | None,
    vetoed: set[tuple[int, int]],
    min_score: float,
    per_participant: int,
) -> dict[tuple[int, int], float]:
    """Return the SME ↔ startup pairs worth a meeting, with their scores.

    ``scores`` is the block of every SME (sorted ids) with every startup (``score_block``;
    None when a side is empty). A pair qualifies with a score from ``min_score`` on when it
    is among the ``per_participant`` best of the SME or of the startup (0: no such limit).
    Everybody keeps their best partners, while an event of thousands does not hand the solver
    millions of pairs nobody would get: each participant meets only a few.
    """
    if scores is None or not smes or not startups:
        return {}
    scores = scores.copy()  # vetoes are marked in a copy: the listed pairs read the block
    row_of = {pid: i for i, pid in enumerate(smes)}
    col_of = {pid: j for j, pid in enumerate(startups)}
    for a, b in vetoed:
        if a in row_of and b in col_of:
            scores[row_of[a], col_of[b]] = -1.0
        elif b in row_of and a in col_of:
            scores[row_of[b], col_of[a]] = -1.0
    keep = scores >= min_score
    if per_participant > 0:
        best = np.zeros_like(keep)
        if per_participant < len(startups):
            # every SME's k-th best score, then every startup's: ties at the k-th all stay
            kth = -np.partition(-scores, per_participant - 1, axis=1)[:, per_participant - 1]
            best |= scores >= kth[:, None]
        else:
            best[:] = True
        if per_participant < len(smes):
            kth = -np.partition(-scores, per_participant - 1, axis=0)[per_participant - 1, :]
            best |= scores >= kth[None, :]
        else:
            best[:] = True
        keep &= best
    found = {}
    for i, j in zip(*np.nonzero(keep), strict=True):
        a, b = smes[i], startups[j]
        found[(a, b) if a < b else (b, a)] = float(scores[i, j])
    return found


def candidate(
    pair: tuple[int, int], score: float, *, required: bool, wished: bool, bonus: float = 0.0
) -> Meeting:
    """Return the candidate meeting of two profiles (a wish not yet required gets the bonus)."""
    a, b = pair
    return Meeting(
        id=meeting_key(a, b),
        a=participant_id(a),
        b=participant_id(b),
        score=round(score + (bonus if wished and not required else 0.0), 4),
        required=required,
    )
