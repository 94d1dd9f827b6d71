"""Schedule use cases around publication: publish a draft, compare versions, note prints.

Publishing tells every participant whose meetings changed by e-mail (on the first publication:
everybody). Services change models and flush; the caller commits, then sends the queued e-mails.
"""

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import Row, select

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.directory.models import Profile
from matchmaker.events.models import Event, Registration
from matchmaker.extensions import db
from matchmaker.mail.services import queue_mails
from matchmaker.scheduling import notifications
from matchmaker.scheduling.agendas import VersionIndex, agenda, meetings_with_breaks, shortfall
from matchmaker.scheduling.models import (
    DRAFT,
    PUBLISHED,
    SUPERSEDED,
    ScheduleMeeting,
    SchedulePrint,
    ScheduleVersion,
)
from matchmaker.scheduling.problem import pair_of, profile_id_of
from matchmaker.scheduling.versions import (
    ScheduleError,
    latest_version,
    names_of,
)


def version_heads(event: Event) -> tuple[Row | None, Row | None]:
    """Return (id, number, status) of the newest version and of the published one, or None.

    Read as columns in one statement: the versions' problems are megabytes at a large event.
    """
    rows = db.session.execute(
        select(ScheduleVersion.id, ScheduleVersion.number, ScheduleVersion.status)
        .where(ScheduleVersion.event_id == event.id)
        .order_by(ScheduleVersion.number.desc())
    ).all()
    published = next((row for row in rows if row.status == PUBLISHED), None)
    return (rows[0] if rows else None), published


def meeting_sides(version_ids: Collection[int]) -> dict[int, set[tuple[int, int, int, int]]]:
    """Return each version's meetings as (participant, slot, table, partner), both sides each."""
    found: dict[int, set[tuple[int, int, int, int]]] = {vid: set() for vid in version_ids}
    m = ScheduleMeeting
    rows = db.session.execute(
        select(m.version_id, m.profile_a_id, m.profile_b_id, m.slot, m.table).where(
            m.version_id.in_(found)
        )
    )
    for version_id, a, b, slot, table in rows:
        found[version_id].update(((a, slot, table, b), (b, slot, table, a)))
    return found


def changed_participants(old_id: int, new_id: int) -> set[int]:
    """Return the participants whose meetings differ between two versions (given by id).

    A participant holds at most one meeting per place, so comparing the sets of
    (slot, table, partner) is comparing their agendas.
    """
    sides = meeting_sides((old_id, new_id))
    return {side[0] for side in sides[old_id] ^ sides[new_id]}


def version_participants(version_id: int) -> set[int]:
    """Return the profile ids in a version's problem and meetings, reading no meeting object.

    Only the problem's participant list is read: its candidate meetings are most of its size.
    """
    listed = db.session.scalar(
        select(ScheduleVersion.problem["participants"]).where(ScheduleVersion.id == version_id)
    )
    ids = {profile_id_of(p["id"]) for p in listed or []}
    m = ScheduleMeeting
    ids.update(
        db.session.scalars(
            select(m.profile_a_id)
            .where(m.version_id == version_id)
            .union(select(m.profile_b_id).where(m.version_id == version_id))
        )
    )
    return ids


def names_at(event: Event, profile_ids: Collection[int]) -> dict[int, str]:
    """Return the names of ``profile_ids`` that still exist, read by the event's registrations.

    Thousands of ids bound one by one cost more than reading every registered profile's name
    (hundreds of milliseconds on PostgreSQL); only the few without any registration left at
    the event are asked for by id.
    """
    ids = set(profile_ids)
    registered = db.session.execute(
        select(Profile.id, Profile.name)
        .join(Registration, Registration.profile_id == Profile.id)
        .where(Registration.event_id == event.id)
    )
    names = {pid: name for pid, name in registered if pid in ids}
    names.update(names_of(ids - names.keys()))
    return names


@dataclass(frozen=True)
class Recipient:
    """One participant to notify, with the addresses the e-mail goes to."""

    profile_id: int
    name: str
    addresses: tuple[str, ...]


@dataclass
class PublishPreview:
    """What publishing the draft would do: which version, and who gets an e-mail.

    The versions are (id, number, status) rows, not loaded models: the confirmation page of an
    event with thousands of participants reads no meeting and no problem.
    """

    draft: Row
    previous: Row | None
    #: each participant to notify, by name
    recipients: list[Recipient]
    #: the addresses with their languages so far, by profile id
    addresses: dict[int, list[notifications.Address]] = field(default_factory=dict)

    @property
    def first(self) -> bool:
        """Tell whether nothing was published before (then everybody is told)."""
        return self.previous is None

    @property
    def token(self) -> str:
        """Identify this draft and these recipients, for the confirmation form."""
        ids = ",".join(str(r.profile_id) for r in self.recipients)
        return f"{self.draft.id}-{hashlib.sha256(ids.encode()).hexdigest()[:16]}"


def publish_preview(event: Event) -> PublishPreview:
    """Return the draft to publish and the participants who would be e-mailed, changing nothing.

    A fixed number of statements reading columns, however many participants.
    """
    draft, previous = version_heads(event)
    if draft is None:
        raise ScheduleError(_("Build the schedule first."))
    if draft.status != DRAFT:
        raise ScheduleError(_("This version is already published."))
    # The first publication goes to everybody, later ones to those whose meetings changed.
    if previous is None:
        changed = version_participants(draft.id)
    else:
        changed = changed_participants(previous.id, draft.id)
    names = names_at(event, changed)  # profiles deleted since the build get no e-mail
    addresses = notifications.addresses_of(event, names)
    recipients = [
        Recipient(pid, name, tuple(a.email for a in addresses[pid]))
        for pid, name in sorted(names.items(), key=lambda item: (item[1].casefold(), item[0]))
    ]
    return PublishPreview(draft, previous, recipients, addresses)


def publish(
    event: Event, user: User | None, confirmed: str | None = None
) -> tuple[ScheduleVersion, set[int]]:
    """Publish the draft; e-mail every participant whose meetings changed.

    With ``confirmed`` (the token of the preview the organiser confirmed), refuse when the draft
    or its recipients have changed since, so the e-mails go to the people that page named.
    """
    preview = publish_preview(event)
    if confirmed is not None and confirmed != preview.token:
        raise ScheduleError(
            _("The draft has changed since; please check who gets an e-mail again.")
        )
    draft = db.session.get(ScheduleVersion, preview.draft.id)
    if preview.previous is not None:
        db.session.get(ScheduleVersion, preview.previous.id).status = SUPERSEDED
    draft.status = PUBLISHED
    draft.published_at = utcnow()
    db.session.flush()
    index = VersionIndex(draft)
    ids = [r.profile_id for r in preview.recipients]
    profiles = {
        profile.id: profile
        for profile in db.session.scalars(select(Profile).where(Profile.id.in_(ids or [0])))
    }
    # The addresses the page listed; only their languages are read now.
    addresses = notifications.with_languages(preview.addresses)

    def mails():
        for pid in ids:
            rows = meetings_with_breaks(event, agenda(event, draft, pid, index))
            yield from notifications.agenda_mails(
                event,
                profiles[pid],
                rows,
                first=preview.first,
                addresses=addresses[pid],
                shortfall=shortfall(draft, pid, index),
            )

    queue_mails(mails())  # thousands at a large event: one bulk insert
    return draft, set(ids)


@dataclass
class MeetingChange:
    """One difference between two versions."""

    kind: str  # added, removed, moved
    a: str
    b: str
    before: tuple[int, int] | None
    after: tuple[int, int] | None


def diff_versions(old: ScheduleVersion | None, new: ScheduleVersion) -> list[MeetingChange]:
    """List the meetings added, removed or moved between two versions, by slot."""
    before = {m.key: m for m in old.meetings} if old else {}
    after = {m.key: m for m in new.meetings}
    names = names_of(pid for key in set(before) | set(after) for pid in pair_of(key))
    changes = []
    for key in set(before) | set(after):
        a, b = pair_of(key)
        was, now = before.get(key), after.get(key)
        place_was = (was.slot, was.table) if was else None
        place_now = (now.slot, now.table) if now else None
        if place_was == place_now:
            continue
        kind = "added" if was is None else "removed" if now is None else "moved"
        names_ab = names.get(a, "?"), names.get(b, "?")
        changes.append(MeetingChange(kind, *names_ab, place_was, place_now))
    changes.sort(key=lambda c: ((c.after or c.before or (0, 0)), c.a, c.b))
    return changes


def record_print(version: ScheduleVersion, kind: str, user: User | None) -> SchedulePrint:
    """Note that a version was printed or downloaded (for "changed since the last print")."""
    entry = SchedulePrint(
        event_id=version.event_id,
        version_id=version.id,
        kind=kind,
        created_by_id=user.id if user else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def last_print(event: Event) -> SchedulePrint | None:
    """Return the newest print record of the event."""
    return db.session.scalar(
        select(SchedulePrint)
        .where(SchedulePrint.event_id == event.id)
        .order_by(SchedulePrint.created_at.desc(), SchedulePrint.id.desc())
        .limit(1)
    )


def changes_since_print(event: Event) -> tuple[SchedulePrint | None, list[MeetingChange]]:
    """Return the last print and what changed between its version and the newest one."""
    printed = last_print(event)
    latest = latest_version(event)
    if printed is None or latest is None:
        return printed, []
    return printed, diff_versions(printed.version, latest)
