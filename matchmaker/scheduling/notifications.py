"""Compose the e-mails that tell participants about their (changed) meetings."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.directory.models import Profile
from matchmaker.events.models import CONFIRMED, Event, Registration
from matchmaker.events.notifications import attendee_language, external_url, profile_address
from matchmaker.extensions import db
from matchmaker.mail.services import queue_mail


def recipients(event: Event, profile: Profile) -> list[tuple[str, str]]:
    """Return (address, language) of the people who hold the profile's seats at the event."""
    registrations = db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.profile_id == profile.id,
            Registration.status == CONFIRMED,
        )
    ).all()
    found = {
        attendee.email.lower(): (attendee.email, attendee_language(attendee))
        for registration in registrations
        for attendee in registration.active_attendees
    }
    if not found:
        address, locale = profile_address(profile)
        if address:
            found[address.lower()] = (address, locale)
    return list(found.values())


def agenda_changed(event: Event, profile: Profile, rows: list, *, first: bool) -> None:
    """Queue a participant's agenda rows: "here are your meetings" or "they changed"."""
    link = external_url("scheduling.my_agenda", event_id=event.id, profile_id=profile.id)
    subject = (
        _l("Your meetings at %(title)s", title=event.title)
        if first
        else _l("Your meetings at %(title)s have changed", title=event.title)
    )
    for address, language in recipients(event, profile):
        queue_mail(
            address,
            language,
            "scheduling/mail/agenda.txt",
            subject,
            kind="schedule",
            event_id=event.id,
            event=event,
            profile=profile,
            rows=rows,
            first=first,
            link=link,
        )
