"""Compose the e-mails that tell participants about their (changed) meetings."""

from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.directory.models import Profile
from matchmaker.events.models import CONFIRMED, Event, Registration
from matchmaker.events.notifications import attendee_language, external_url, profile_address
from matchmaker.extensions import db
from matchmaker.mail.services import Mail


def recipients(event: Event, profile: Profile) -> list[tuple[str, str]]:
    """Return (address, language) of the people who hold the profile's seats at the event."""
    return recipients_of(event, [profile])[profile.id]


def recipients_of(event: Event, profiles: list[Profile]) -> dict[int, list[tuple[str, str]]]:
    """Return :func:`recipients` of many profiles by profile id, their seats read at once."""
    ids = {profile.id for profile in profiles}
    query = (
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status == CONFIRMED)
        .options(selectinload(Registration.attendees))
    )
    if len(ids) == 1:
        query = query.where(Registration.profile_id.in_(ids))
    seats: dict[int, list[Registration]] = defaultdict(list)
    for registration in db.session.scalars(query):
        if registration.profile_id in ids:
            seats[registration.profile_id].append(registration)
    found: dict[int, list[tuple[str, str]]] = {}
    for profile in profiles:
        people = {
            attendee.email.lower(): (attendee.email, attendee_language(attendee))
            for registration in seats.get(profile.id, [])
            for attendee in registration.active_attendees
        }
        if not people:
            address, locale = profile_address(profile)
            if address:
                people[address.lower()] = (address, locale)
        found[profile.id] = list(people.values())
    return found


def agenda_mails(
    event: Event,
    profile: Profile,
    rows: list,
    *,
    first: bool,
    addresses: list[tuple[str, str]] | None = None,
    shortfall=None,
) -> list[Mail]:
    """Return a participant's agenda e-mails: "here are your meetings" or "they changed".

    ``rows``: the meetings and the breaks between them. ``addresses``: the profile's
    :func:`recipients`, when the caller read them already. ``shortfall``: why there are fewer
    meetings than wanted (an ``agendas.Shortfall``), if so.
    """
    link = external_url("scheduling.my_agenda", event_id=event.id, profile_id=profile.id)
    subject = (
        _l("Your meetings at %(title)s", title=event.title)
        if first
        else _l("Your meetings at %(title)s have changed", title=event.title)
    )
    context = {
        "event": event,
        "profile": profile,
        "rows": rows,
        "first": first,
        "link": link,
        "shortfall": shortfall,
    }
    template = "scheduling/mail/agenda.txt"
    return [
        Mail(address, language, template, subject, "schedule", event.id, context)
        for address, language in (recipients(event, profile) if addresses is None else addresses)
    ]
