"""Schedule use cases around publication: publish a draft, compare versions, note prints.

Publishing tells every participant whose meetings changed by e-mail (on the first publication:
everybody). Services change models and flush; the caller commits, then sends the queued e-mails.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.directory.models import Profile
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.mail.services import queue_mails
from matchmaker.scheduling import notifications
from matchmaker.scheduling.agendas import VersionIndex, agenda, meetings_with_breaks, shortfall
from matchmaker.scheduling.models import PUBLISHED, SUPERSEDED, SchedulePrint, ScheduleVersion
from matchmaker.scheduling.problem import pair_of
from matchmaker.scheduling.versions import (
    ScheduleError,
    latest_version,
    names_of,
    participants_of,
    published_version,
)


def signatures(version: ScheduleVersion | None) -> dict[int, list[tuple[int, int, int]]]:
    """Return each participant's meetings as sorted (slot, table, partner) tuples."""
    found: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    if version is None:
        return found
    for m in version.meetings:
        found[m.profile_a_id].append((m.slot, m.table, m.profile_b_id))
        found[m.profile_b_id].append((m.slot, m.table, m.profile_a_id))
    for items in found.values():
        items.sort()
    return found


def changed_participants(old: ScheduleVersion | None, new: ScheduleVersion) -> set[int]:
    """Return the participants whose meetings differ between two versions."""
    before, after = signatures(old), signatures(new)
    ids = set(before) | set(after) | participants_of(new)
    return {pid for pid in ids if before.get(pid, []) != after.get(pid, [])}


@dataclass
class PublishPreview:
    """What publishing the draft would do: which version, and who gets an e-mail."""

    draft: ScheduleVersion
    previous: ScheduleVersion | None
    #: each participant to notify, with the addresses the e-mail goes to, by name
    recipients: list[tuple[Profile, list[str]]]
    #: the same addresses with their languages, by profile id
    addresses: dict[int, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def first(self) -> bool:
        """Tell whether nothing was published before (then everybody is told)."""
        return self.previous is None

    @property
    def token(self) -> str:
        """Identify this draft and these recipients, for the confirmation form."""
        ids = ",".join(str(profile.id) for profile, _addresses in self.recipients)
        return f"{self.draft.id}-{hashlib.sha256(ids.encode()).hexdigest()[:16]}"


def publish_preview(event: Event) -> PublishPreview:
    """Return the draft to publish and the participants who would be e-mailed, changing nothing."""
    draft = latest_version(event)
    if draft is None:
        raise ScheduleError(_("Build the schedule first."))
    if not draft.is_draft:
        raise ScheduleError(_("This version is already published."))
    previous = published_version(event)
    # The first publication goes to everybody, later ones to those whose meetings changed.
    changed = participants_of(draft) if previous is None else changed_participants(previous, draft)
    profiles = db.session.scalars(select(Profile).where(Profile.id.in_(changed or {0}))).all()
    addresses = notifications.recipients_of(event, profiles)
    recipients = [
        (profile, [address for address, _locale in addresses[profile.id]])
        for profile in sorted(profiles, key=lambda p: (p.name.casefold(), p.id))
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
    draft = preview.draft
    if confirmed is not None and confirmed != preview.token:
        raise ScheduleError(
            _("The draft has changed since; please check who gets an e-mail again.")
        )
    if preview.previous is not None:
        preview.previous.status = SUPERSEDED
    draft.status = PUBLISHED
    draft.published_at = utcnow()
    db.session.flush()
    index = VersionIndex(draft)

    def mails():
        for profile, _addresses in preview.recipients:
            rows = meetings_with_breaks(event, agenda(event, draft, profile.id, index))
            yield from notifications.agenda_mails(
                event,
                profile,
                rows,
                first=preview.first,
                addresses=preview.addresses[profile.id],
                shortfall=shortfall(draft, profile.id, index),
            )

    queue_mails(mails())  # thousands at a large event: one bulk insert
    return draft, {profile.id for profile, _addresses in preview.recipients}


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
