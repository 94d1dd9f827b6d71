"""Schedule use cases that run the solver: build a draft, re-optimise or re-plan it.

Solving runs in a background job (matchmaker/jobs/): ``SCHEDULE_TIME_LIMIT`` caps it, and it always
returns the best schedule found; the job commits the new draft in one transaction at the end.

Services change models and flush; the caller commits.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from matchmaker.accounts.models import User
from matchmaker.core.bulk import insert_rows
from matchmaker.core.clock import local_now, utcnow
from matchmaker.events.models import Event
from matchmaker.events.programme import slot_times
from matchmaker.extensions import db
from matchmaker.matching import artefacts, thresholds
from matchmaker.matching.services import newest_model, reasons_of
from matchmaker.scheduling.models import (
    MANUAL,
    MATCH,
    REQUEST,
    WISH,
    ScheduleMeeting,
    ScheduleVersion,
)
from matchmaker.scheduling.problem import (
    ProblemData,
    build_problem,
    pair_of,
    participant_id,
    profile_id_of,
)
from matchmaker.scheduling.solver import (
    InvalidLockError,
    Lock,
    Meeting,
    Progress,
    Result,
    solve,
)
from matchmaker.scheduling.versions import (
    ScheduleError,
    editable_version,
    humanise,
    latest_version,
    names_of,
    new_version,
)

# Hears of the solver's phases and best schedule so far (None: nobody listens).
ProgressCallback = Callable[[Progress], None] | None


class Origins:
    """Tell why meetings are in the schedule, with the problem's meetings indexed once."""

    def __init__(self, problem: dict) -> None:
        self.listed = {m["id"]: m for m in problem.get("meetings", [])}
        self.min_score = thresholds.schedule_min_score()

    def __call__(self, key: str) -> str:
        """Return the origin of one meeting: request, wish, match or the organisers' hand."""
        item = self.listed.get(key)
        if item is None:
            return MANUAL
        if item.get("required"):
            return REQUEST
        if item.get("requested"):
            return WISH
        return MATCH if item.get("score", 0) >= self.min_score else MANUAL


def origin_of(key: str, problem: dict) -> str:
    """Tell why a meeting is in the schedule: request, wish, match or the organisers' hand."""
    return Origins(problem)(key)


def stats_of(result: Result, names: dict[int, str], **extra) -> dict:
    """Return what the organiser needs to know about a solver run, ready to store."""
    return {
        "score": result.score,
        "holes": result.holes,
        "fairness_misses": result.fairness_misses,
        "placed": len(result.meetings),
        "unscheduled": len(result.unscheduled),
        "optimal": result.optimal,
        "gap": result.gap,
        "score_bound": result.score_bound,
        "status": result.status,
        "seconds": round(result.seconds, 2),
        "required_unplaced": [
            {
                "a": names.get(profile_id_of(issue.a), issue.a),
                "b": names.get(profile_id_of(issue.b), issue.b),
                "reason": humanise(issue.reason, names),
            }
            for issue in result.required_unplaced
        ],
        "summary": result.summary(),
        "solved_at": utcnow().isoformat(timespec="seconds"),
        **extra,
    }


def _replace_meetings(
    version: ScheduleVersion, result: Result, locked_keys: set[str], data: ProblemData
) -> None:
    """Store the solver's meetings as the version's, in bulk (thousands at a large event).

    Every meeting is worded anew, kept ones too: a profile edited since the last run must not
    keep a reason that names words it no longer has. An agreed meeting stays one even when a
    no-show released it from "required". The reasons come from the model and the profiles
    the problem was scored with (``data.scoring``), not from a second read.
    """
    db.session.flush()  # a new version gets its id
    previous = dict(
        db.session.execute(
            select(ScheduleMeeting.key, ScheduleMeeting.origin).where(
                ScheduleMeeting.version_id == version.id
            )
        ).all()
    )
    reasons = reasons_of((pair_of(placed.id) for placed in result.meetings), data.scoring)
    origins = Origins(version.problem)
    rows = []
    for placed in result.meetings:
        before = previous.get(placed.id)
        rows.append(
            {
                "version_id": version.id,
                "key": placed.id,
                "profile_a_id": profile_id_of(placed.a),
                "profile_b_id": profile_id_of(placed.b),
                "slot": placed.slot,
                "table": placed.table,
                "score": placed.score,
                "origin": REQUEST if before == REQUEST else origins(placed.id),
                "reasons": reasons[pair_of(placed.id)],
                "locked": placed.id in locked_keys,
            }
        )
    # Deletes reach the database before the inserts that reuse their slot and table; meetings
    # of the version loaded in the session are marked deleted with them.
    db.session.execute(delete(ScheduleMeeting).where(ScheduleMeeting.version_id == version.id))
    insert_rows(db.session, ScheduleMeeting.__table__, rows)
    db.session.expire(version, ["meetings"])


def _solve(
    data: ProblemData, locked: list[Lock], frozen: list[int], progress: ProgressCallback
) -> Result:
    config = current_app.config
    try:
        return solve(
            data.problem,
            time_limit=float(config["SCHEDULE_TIME_LIMIT"]),
            seed=0,
            locked=locked,
            frozen_slots=frozen,
            workers=int(config["SCHEDULE_WORKERS"]),
            progress=progress,
        )
    except InvalidLockError as error:
        details = humanise("; ".join(error.problems), data.names)
        raise ScheduleError(
            _("The locked meetings cannot be kept: %(details)s", details=details)
        ) from None


def model_stats() -> dict:
    """Load the newest matching model for a run and say which one it is, ready to store.

    The caller (the job, the command line) stored a model of the current profiles first
    (``matching.artefacts.ensure_model``), so the solve holds no write; profiles edited since
    are scored and worded with their current text. A caller that did not gets a first model
    in the session when none exists at all.
    """
    if artefacts.newest() is None:
        artefacts.ensure_model()
    model = newest_model()
    if model is None:
        return {"model_version": None, "model_artefact": None}
    return {"model_version": model.version, "model_artefact": model.artefact_id}


def build(event: Event, user: User | None, progress: ProgressCallback = None) -> ScheduleVersion:
    """Build a fresh draft from the event's participants, scores and wishes.

    ``progress`` is handed to the solver: it hears of every phase and of the best schedule so
    far (a job records them for its page). The stats name the matching model's data version.
    """
    model = model_stats()
    data = build_problem(event)
    if not data.problem.participants:
        raise ScheduleError(_("Nobody is confirmed for this event yet."))
    # Solve before writing anything: a build in a job commits only at the end, and holding a
    # write during the solve would block every other writer on SQLite.
    result = _solve(data, [], [], progress)
    latest = latest_version(event)
    version = latest if latest is not None and latest.is_draft else new_version(event, user, None)
    version.problem = data.document()
    version.stats = stats_of(result, data.names, kind="build", **model)
    _replace_meetings(version, result, set(), data)
    current_app.logger.info("Schedule of event %s built: %s", event.id, result.summary())
    return version


def first_open_slot(event: Event, now: datetime | None = None) -> int:
    """Return the first slot that has not started yet (slot_count + 1 when all have)."""
    now = now or local_now()
    for number, (start, _end) in enumerate(slot_times(event), start=1):
        if start > now:
            return number
    return event.slot_count + 1


@dataclass
class Reoptimised:
    """A re-optimised draft and what could not be kept."""

    version: ScheduleVersion
    notes: list[str] = field(default_factory=list)


def reoptimise(
    event: Event,
    user: User | None,
    from_slot: int | None = None,
    progress: ProgressCallback = None,
) -> Reoptimised:
    """Re-plan around the locked meetings; with ``from_slot``, keep every earlier slot as it is.

    The problem is rebuilt from the current registrations, so cancellations, new availability
    and no-shows (unavailable from ``from_slot`` on) are taken into account.
    """
    if from_slot is not None and not 1 <= from_slot <= event.slot_count:
        raise ScheduleError(_("Choose a slot from 1 to %(n)d.", n=event.slot_count))
    model = model_stats()
    latest = latest_version(event)
    if latest is None:
        raise ScheduleError(_("Build the schedule first."))
    # The draft (maybe a copy of the published version) is made after the solve, see build().
    current = list(latest.meetings)
    data = build_problem(
        event,
        keep_pairs=[(m.profile_a_id, m.profile_b_id) for m in current],
        absent_from=from_slot,
    )
    listed = {m.id for m in data.problem.meetings}
    unavailable = {p.id: p.unavailable for p in data.problem.participants}
    names = {**names_of(pid for m in current for pid in pair_of(m.key)), **data.names}
    past = from_slot or 1
    notes: list[str] = []
    locked: list[Lock] = []
    again: list[tuple[Meeting, bool]] = []  # past meetings no longer candidates: kept listed
    locked_keys: set[str] = set()
    for m in current:
        frozen = m.slot < past
        if not (m.locked or frozen):
            continue
        pair = f"{names.get(m.profile_a_id, '?')} – {names.get(m.profile_b_id, '?')}"
        if m.key not in listed:
            if frozen:
                # It happened (or was due) before the re-plan; keep it listed so it stays put.
                again.append((_listed_again(m), m.origin in (REQUEST, WISH)))
                listed.add(m.key)
            else:
                notes.append(_("No longer possible, released: %(pair)s.", pair=pair))
                continue
        ids = (participant_id(m.profile_a_id), participant_id(m.profile_b_id))
        if not frozen and any(m.slot in unavailable.get(q, ()) for q in ids):
            notes.append(_("Someone is absent or unavailable, released: %(pair)s.", pair=pair))
            continue
        locked.append(Lock(m.key, m.slot, m.table))
        if m.locked:
            locked_keys.add(m.key)
    frozen_slots = list(range(1, past))
    data = data.with_meetings(again)
    result = _solve(data, locked, frozen_slots, progress)
    version = editable_version(event, user)
    version.problem = data.document()
    version.stats = stats_of(
        result,
        names,
        kind="replan" if from_slot else "reoptimise",
        from_slot=from_slot,
        **model,
    )
    _replace_meetings(version, result, locked_keys, data)
    current_app.logger.info(
        "Schedule of event %s re-optimised from slot %s: %s", event.id, past, result.summary()
    )
    return Reoptimised(version, notes)


def _listed_again(m: ScheduleMeeting) -> Meeting:
    return Meeting(
        id=m.key,
        a=participant_id(m.profile_a_id),
        b=participant_id(m.profile_b_id),
        score=m.score,
        required=False,
    )
