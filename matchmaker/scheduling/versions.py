"""Schedule versions: which one is the draft, which one participants see, names in messages.

Versions
--------
The newest version of an event is either a draft or published. Building, editing or
re-optimising works on the draft; when the newest version is published, the change first copies
it into a new draft (the next version number), so participants keep seeing the published
schedule until the organiser publishes again. Publishing tells every participant whose meetings
changed by e-mail (on the first publication: everybody).
"""

import copy
import re
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.util import identity_key

from matchmaker.accounts.models import User
from matchmaker.directory.models import Profile
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.scheduling.models import DRAFT, PUBLISHED, ScheduleMeeting, ScheduleVersion
from matchmaker.scheduling.problem import profile_id_of


class ScheduleError(Exception):
    """A use case was refused; the message is meant for the user and nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def versions_of(event: Event) -> list[ScheduleVersion]:
    """Return the schedule versions of an event, newest first."""
    return list(
        db.session.scalars(
            select(ScheduleVersion)
            .where(ScheduleVersion.event_id == event.id)
            .order_by(ScheduleVersion.number.desc())
        )
    )


def latest_version(event: Event) -> ScheduleVersion | None:
    """Return the newest version (draft or published), or None before the first build."""
    return db.session.scalar(
        select(ScheduleVersion)
        .where(ScheduleVersion.event_id == event.id)
        .options(selectinload(ScheduleVersion.meetings))
        .order_by(ScheduleVersion.number.desc())
        .limit(1)
    )


def published_version(event: Event) -> ScheduleVersion | None:
    """Return the version participants see, or None when nothing is published."""
    return db.session.scalar(
        select(ScheduleVersion)
        .where(ScheduleVersion.event_id == event.id, ScheduleVersion.status == PUBLISHED)
        .options(selectinload(ScheduleVersion.meetings))
        .order_by(ScheduleVersion.number.desc())
        .limit(1)
    )


def meeting_profiles(meetings: Iterable[ScheduleMeeting]) -> list[Profile]:
    """Read the profiles of ``meetings`` the session does not hold yet, in one statement.

    ``meeting.profile_a`` and ``profile_b`` then come from the session instead of one query
    per profile, as long as the caller keeps the returned list (the session holds its
    objects weakly). Expired ones are read again with the others.
    """
    ids = {pid for m in meetings for pid in (m.profile_a_id, m.profile_b_id)}
    held = db.session.identity_map
    missing = [
        pid
        for pid in ids
        if (profile := held.get(identity_key(Profile, pid))) is None or inspect(profile).expired
    ]
    if not missing:
        return []
    return list(db.session.scalars(select(Profile).where(Profile.id.in_(missing))))


def new_version(event: Event, user: User | None, source: ScheduleVersion | None) -> ScheduleVersion:
    """Add a draft as the next version, copying the meetings of ``source`` if given."""
    latest = latest_version(event)
    version = ScheduleVersion(
        event_id=event.id,
        number=(latest.number + 1) if latest else 1,
        status=DRAFT,
        problem=copy.deepcopy(source.problem) if source else {},
        stats=copy.deepcopy(source.stats) if source else {},
        created_by_id=user.id if user else None,
    )
    db.session.add(version)
    if source is not None:
        for m in source.meetings:
            version.meetings.append(
                ScheduleMeeting(
                    key=m.key,
                    profile_a_id=m.profile_a_id,
                    profile_b_id=m.profile_b_id,
                    slot=m.slot,
                    table=m.table,
                    score=m.score,
                    origin=m.origin,
                    reasons=list(m.reasons or []),
                    locked=m.locked,
                )
            )
    db.session.flush()
    return version


def editable_version(event: Event, user: User | None) -> ScheduleVersion:
    """Return the draft to change, copying the published version into a new draft if needed."""
    latest = latest_version(event)
    if latest is None:
        raise ScheduleError(_("Build the schedule first."))
    if latest.is_draft:
        return latest
    return new_version(event, user, latest)


def meeting_of(version: ScheduleVersion, key: str) -> ScheduleMeeting:
    """Return the meeting with this key in the version, or refuse."""
    for meeting in version.meetings:
        if meeting.key == key:
            return meeting
    raise ScheduleError(_("This meeting is not in the schedule (any more)."))


def names_of(profile_ids) -> dict[int, str]:
    """Return the names of the given profiles."""
    ids = set(profile_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Profile.id, Profile.name).where(Profile.id.in_(ids)))
    return dict(rows.all())


def humanise(text: str, names: dict[int, str]) -> str:
    """Replace solver ids (``p12``, ``12-34``) in a message with organisation names."""

    def pair(match: re.Match) -> str:
        a, b = int(match[1]), int(match[2])
        return f"{names.get(a, match[1])} – {names.get(b, match[2])}"

    text = re.sub(r"\b(\d+)-(\d+)\b", pair, text)
    return re.sub(r"\bp(\d+)\b", lambda m: names.get(int(m[1]), m[0]), text)


def problem_names(version: ScheduleVersion) -> dict[int, str]:
    """Return the names of everybody in a version's problem."""
    return names_of(profile_id_of(p["id"]) for p in version.problem.get("participants", []))


def participants_of(version: ScheduleVersion) -> set[int]:
    """Return the profile ids in a version's problem and meetings."""
    ids = {profile_id_of(p["id"]) for p in version.problem.get("participants", [])}
    for m in version.meetings:
        ids.update((m.profile_a_id, m.profile_b_id))
    return ids
