"""Reminders: e-mail the participants who sent no meeting request, or who have no meeting yet.

The organiser sees exactly who would get the reminder (:func:`reminder_preview`) and confirms
that page; :func:`send_reminders` (run by a job) checks that the group is still the one the
page named, queues one e-mail per attendee in their language, and records who got which
reminder when. A participant reminded for the same group within ``repeat_after`` is left out
unless the organiser explicitly includes the recently reminded ones; any reminder sent after the
preview was shown makes its confirmation stale, so one confirmation sends once.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.accounts.models import User
from matchmaker.core.audit import AuditEntry
from matchmaker.core.clock import utcnow
from matchmaker.events.models import Attendee, Event, Registration
from matchmaker.events.notifications import attendee_language, external_url
from matchmaker.extensions import db
from matchmaker.mail.services import queue_mail
from matchmaker.scheduling import queries
from matchmaker.scheduling.models import NO_MEETING, NO_REQUEST, REMINDER_AUDIENCES, ReminderSent
from matchmaker.scheduling.versions import ScheduleError

AUDIENCES = {
    NO_REQUEST: _l("Participants who have sent no meeting request"),
    NO_MEETING: _l("Participants who have no meeting yet"),
}


@dataclass(frozen=True)
class Recipient:
    """One organisation a reminder goes to, with the people (name, e-mail) who get it."""

    profile_id: int
    name: str
    kind: str
    people: tuple[tuple[str, str], ...]


@dataclass
class ReminderPreview:
    """Who a reminder to one group would reach now, and who was reminded too recently."""

    event: Event
    audience: str
    again: bool
    recipients: list[Recipient]
    recent: list[Recipient]
    last_sent: datetime | None

    @property
    def emails(self) -> int:
        """Count the e-mails the reminder sends."""
        return sum(len(r.people) for r in self.recipients)

    @property
    def token(self) -> str:
        """Identify this group, these recipients and the last reminder, for the confirmation."""
        ids = ",".join(str(r.profile_id) for r in self.recipients)
        last = self.last_sent.isoformat() if self.last_sent else "-"
        digest = hashlib.sha256(f"{self.audience}|{self.again}|{last}|{ids}".encode())
        return digest.hexdigest()[:24]


def reminder_subject(audience: str, title: str):
    """Return the (lazy) subject of a reminder to one group."""
    if audience == NO_REQUEST:
        return _l("Who would you like to meet at %(title)s?", title=title)
    return _l("You have no meeting at %(title)s yet", title=title)


def audience_label(audience: str) -> str:
    """Return the translated name of a reminder group."""
    return str(AUDIENCES[audience])


def reminder_preview(
    event: Event,
    audience: str,
    *,
    again: bool,
    repeat_after: timedelta,
    now: datetime | None = None,
) -> ReminderPreview:
    """Return who a reminder to the group would reach, changing nothing."""
    if audience not in REMINDER_AUDIENCES:
        raise ScheduleError(_("Choose who gets the reminder."))
    rows = queries.participant_rows(event, queries.counted_version(event))
    pick = queries.without_request if audience == NO_REQUEST else queries.without_meeting
    group = pick(rows)
    contacts = queries.contacts_of(event)
    recently = queries.reminded_since(event, audience, (now or utcnow()) - repeat_after)
    recipients, recent = [], []
    for row in group:
        recipient = Recipient(row.profile_id, row.name, row.kind, tuple(contacts[row.profile_id]))
        if row.profile_id in recently and not again:
            recent.append(recipient)
        else:
            recipients.append(recipient)
    return ReminderPreview(
        event=event,
        audience=audience,
        again=again,
        recipients=recipients,
        recent=recent,
        last_sent=queries.last_reminders(event).get(audience),
    )


def send_reminders(
    event: Event,
    user: User | None,
    audience: str,
    *,
    again: bool,
    repeat_after: timedelta,
    confirmed: str,
) -> ReminderPreview:
    """Queue the reminder to the group the organiser confirmed; record it and audit it.

    Refuse when the group has changed since the preview was shown (someone sent a request, got a
    meeting, or was reminded meanwhile): the e-mails go only to the people that page named.
    """
    preview = reminder_preview(event, audience, again=again, repeat_after=repeat_after)
    if confirmed != preview.token:
        raise ScheduleError(
            _("Who gets the reminder has changed since; please check the list again.")
        )
    ids = [r.profile_id for r in preview.recipients]
    attendees = db.session.scalars(
        select(Attendee)
        .join(Registration, Attendee.registration_id == Registration.id)
        .where(queries.seat_holders(event), Registration.profile_id.in_(ids or [0]))
        .options(selectinload(Attendee.registration).selectinload(Registration.profile))
        .order_by(Attendee.id)
    ).all()
    for attendee in attendees:
        reminder_mail(event, attendee, audience)
    now = utcnow()
    db.session.add_all(
        ReminderSent(
            event_id=event.id,
            profile_id=profile_id,
            audience=audience,
            sent_by_id=user.id if user else None,
            sent_at=now,
        )
        for profile_id in ids
    )
    db.session.add(
        AuditEntry(
            user_id=user.id if user else None,
            user_email=user.email if user else "",
            action="scheduling.reminders_sent",
            method="JOB",
            path=f"/events/{event.id}/reminders",
            status=200,
            details={
                "args": {"event_id": str(event.id)},
                "audience": audience,
                "again": again,
                "organisations": len(ids),
                "emails": len(attendees),
            },
        )
    )
    db.session.flush()
    return preview


def reminder_mail(event: Event, attendee: Attendee, audience: str) -> None:
    """Queue one reminder e-mail to one attendee, in their language."""
    profile = attendee.registration.profile
    queue_mail(
        attendee.email,
        attendee_language(attendee),
        "scheduling/mail/reminder.txt",
        reminder_subject(audience, event.title),
        kind="reminder",
        event_id=event.id,
        event=event,
        attendee=attendee,
        profile=profile,
        audience=audience,
        profile_link=external_url("directory.detail", profile_id=profile.id),
        event_link=external_url("events.detail", event_id=event.id),
    )
