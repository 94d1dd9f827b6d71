"""Compose the e-mails that tell participants about their (changed) meetings."""

from collections.abc import Collection
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.accounts.models import User
from matchmaker.accounts.services import account_locales
from matchmaker.core.i18n import language_or_default
from matchmaker.directory.models import Profile
from matchmaker.events.models import Attendee, Event, Registration
from matchmaker.events.notifications import external_url
from matchmaker.extensions import db
from matchmaker.mail.services import Mail
from matchmaker.scheduling.queries import seat_holders


class Address(NamedTuple):
    """One address a participant's schedule e-mail goes to, with its language so far.

    ``language`` is the registration's (for a profile without a seat: its owner's); the account
    of the address overrides it when it chose one (:func:`with_languages`).
    """

    email: str
    language: str


def addresses_of(event: Event, profile_ids: Collection[int]) -> dict[int, list[Address]]:
    """Return where each profile's schedule e-mail goes, by profile id, read as columns.

    The people holding the profile's seats at the event get it; a profile without a seat (its
    registration cancelled since the build) is written to at its own address: its contact
    address, else its owner's. Two statements at most, however many profiles (the publish
    confirmation lists thousands).
    """
    ids = set(profile_ids)
    if not ids:
        return {}
    query = (
        select(Registration.profile_id, Attendee.email, Registration.locale)
        .join(Attendee, Attendee.registration_id == Registration.id)
        .where(seat_holders(event))
        .order_by(Registration.id, Attendee.id)
    )
    if len(ids) == 1:
        query = query.where(Registration.profile_id.in_(ids))
    default = language_or_default(None)
    people: dict[int, dict[str, Address]] = {}
    for profile_id, email, locale in db.session.execute(query):
        if profile_id in ids:
            people.setdefault(profile_id, {})[email.lower()] = Address(email, locale or default)
    if missing := ids - people.keys():
        rows = db.session.execute(
            select(Profile.id, Profile.contact_email, User.email, User.locale)
            .outerjoin(User, User.id == Profile.owner_id)
            .where(Profile.id.in_(missing))
        )
        for profile_id, contact, owner_email, owner_locale in rows:
            if address := contact or owner_email or "":
                language = language_or_default(owner_locale)
                people[profile_id] = {address.lower(): Address(address, language)}
    return {pid: list(people.get(pid, {}).values()) for pid in ids}


def with_languages(found: dict[int, list[Address]]) -> dict[int, list[tuple[str, str]]]:
    """Return (address, language) by profile id: an account's own choice wins, in one query."""
    chosen = account_locales([a.email for addresses in found.values() for a in addresses])

    def language(address: Address) -> str:
        locale = chosen.get(address.email.strip().lower())
        return language_or_default(locale) if locale else address.language

    return {
        pid: [(address.email, language(address)) for address in addresses]
        for pid, addresses in found.items()
    }


def recipients(event: Event, profile: Profile) -> list[tuple[str, str]]:
    """Return (address, language) of the people who hold the profile's seats at the event."""
    return with_languages(addresses_of(event, [profile.id]))[profile.id]


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
