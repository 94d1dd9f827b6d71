"""Compose the e-mails about registrations and meeting requests, in the recipient's language.

Registration e-mails are decided under the event's lock, so they are queued there as small
notices and composed after the commit by the composers registered below: from the attendee the
request still holds in memory (no query), or, for a notice left by another process, from the
attendee loaded by what the notice says.

The language of an e-mail is the one its recipient chose for their account; an attendee without
an account of their own gets the language of the account that registered them; German otherwise.
"""

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from matchmaker.accounts.services import account_locale, account_locales, find_user_by_email
from matchmaker.core.i18n import language_or_default, recipient_language
from matchmaker.directory.models import Profile
from matchmaker.events.models import Attendee, Registration
from matchmaker.extensions import db
from matchmaker.mail import services as mail
from matchmaker.mail.services import Composed, queue_mail, queue_notice, register_composer


def external_url(endpoint: str, **values) -> str:
    """Return an absolute link when the host is known, else the path."""
    try:
        return url_for(endpoint, _external=True, **values)
    except RuntimeError:
        return ""


def profile_address(profile: Profile) -> tuple[str, str]:
    """Return the e-mail address and language under which a profile is reached."""
    owner = profile.owner
    address = profile.contact_email or (owner.email if owner else "")
    account = find_user_by_email(address) if address else None
    return address, recipient_language(account if account and account.locale else owner)


def attendee_language(attendee) -> str:
    """Return the language of an attendee: their own account's, else their registration's."""
    return registration_language(attendee, account_locale(attendee.email))


def registered(event_id: int, attendees: list[tuple[str, int]], position: int | None) -> None:
    """Queue the confirmation (with its waiting-list place) to each attendee (address, id).

    Called under the event's lock: the notices are stored with one INSERT and composed by the
    job worker, many at a time.
    """
    mail.queue_notices(
        "registered",
        event_id,
        [
            (address, {"attendee_id": attendee_id, "position": position})
            for address, attendee_id in attendees
        ],
    )


def promoted(registration) -> None:
    """Queue the news of a seat to each attendee of a promoted registration."""
    for attendee in registration.active_attendees:
        queue_notice(
            attendee.email,
            "promoted",
            event_id=registration.event_id,
            attendee_id=attendee.id,
            about=attendee,
        )


def cancelled(registration, *, by_organiser: bool) -> None:
    """Queue the confirmation of a cancelled registration to its attendees."""
    for attendee in registration.attendees:
        attendee_cancelled(attendee, by_organiser=by_organiser)


def attendee_cancelled(attendee, *, by_organiser: bool = False) -> None:
    """Queue the confirmation to one attendee that their seat was given up."""
    queue_notice(
        attendee.email,
        "cancelled",
        event_id=attendee.event_id,
        attendee_id=attendee.id,
        by_organiser=by_organiser,
        about=attendee,
    )


# What an attendee's e-mail shows, loaded with the attendee in one query.
ATTENDEE_MAIL_LOADS = joinedload(Attendee.registration).options(
    joinedload(Registration.event), joinedload(Registration.profile)
)


@dataclass
class Addressee:
    """An attendee loaded for a batch of notices, with the language to write to them in."""

    attendee: Attendee
    language: str


def load_addressees(messages) -> dict[int, Addressee]:
    """Load the attendees of many notices and their accounts' languages in two queries."""
    wanted = {m.id: m.notice["attendee_id"] for m in messages if "attendee_id" in m.notice}
    if not wanted:
        return {}
    attendees = {
        a.id: a
        for a in db.session.scalars(
            select(Attendee).options(ATTENDEE_MAIL_LOADS).where(Attendee.id.in_(wanted.values()))
        ).unique()
    }
    locales = account_locales([a.email for a in attendees.values()])
    found = {}
    for message_id, attendee_id in wanted.items():
        attendee = attendees.get(attendee_id)
        if attendee is not None:
            locale = locales.get(attendee.email.strip().lower())
            found[message_id] = Addressee(attendee, registration_language(attendee, locale))
    return found


def registration_language(attendee, account_locale: str | None) -> str:
    """Return the language of an attendee: their own account's, else their registration's."""
    if account_locale:
        return language_or_default(account_locale)
    return attendee.registration.locale or language_or_default(None)


def _addressee(message, about) -> Addressee | None:
    """Return whom a notice is for: from the batch, from memory, or loaded by the notice."""
    if isinstance(about, Addressee):
        return about
    attendee = about
    if attendee is None and "attendee_id" in message.notice:
        attendee = db.session.get(
            Attendee, message.notice["attendee_id"], options=[ATTENDEE_MAIL_LOADS]
        )
    if attendee is None:
        return None
    return Addressee(attendee, attendee_language(attendee))


def _attendee_mail(addressee: Addressee, template: str, subject, **context) -> Composed:
    attendee = addressee.attendee
    registration = attendee.registration
    return Composed(
        addressee.language,
        f"events/mail/{template}.txt",
        subject,
        dict(context, attendee=attendee, event=registration.event, registration=registration),
    )


def compose_registered(message, about=None) -> Composed | None:
    """Write the confirmation of a registration (or of its waiting-list place)."""
    notice = message.notice
    if about is None and "attendee_id" not in notice:
        # a notice stored before notices named their attendee: by arrival number and address
        about = db.session.scalar(
            select(Attendee)
            .join(Registration, Attendee.registration_id == Registration.id)
            .options(ATTENDEE_MAIL_LOADS)
            .where(
                Registration.event_id == message.event_id,
                Registration.seq == notice["seq"],
                Attendee.email_key == notice["email_key"],
            )
            .order_by(Attendee.id)
            .limit(1)
        )
        if about is None:
            return None
    addressee = _addressee(message, about)
    if addressee is None:
        return None
    attendee = addressee.attendee
    position = notice["position"]
    title = attendee.registration.event.title
    subject = (
        _l("Registered: %(title)s", title=title)
        if position is None
        else _l("Waiting list: %(title)s", title=title)
    )
    link = external_url("events.registration", registration_id=attendee.registration_id)
    return _attendee_mail(addressee, "registered", subject, position=position, link=link)


def compose_promoted(message, about=None) -> Composed | None:
    """Write the news that a waiting registration now has a seat."""
    addressee = _addressee(message, about)
    if addressee is None:
        return None
    registration = addressee.attendee.registration
    subject = _l("You have a seat: %(title)s", title=registration.event.title)
    link = external_url("events.registration", registration_id=registration.id)
    return _attendee_mail(addressee, "promoted", subject, link=link)


def compose_cancelled(message, about=None) -> Composed | None:
    """Write the confirmation that a seat was given up."""
    addressee = _addressee(message, about)
    if addressee is None:
        return None
    subject = _l("Cancelled: %(title)s", title=addressee.attendee.registration.event.title)
    return _attendee_mail(
        addressee, "cancelled", subject, by_organiser=message.notice["by_organiser"]
    )


register_composer("registered", compose_registered, load_addressees)
register_composer("promoted", compose_promoted, load_addressees)
register_composer("cancelled", compose_cancelled, load_addressees)


def _to_profile(profile: Profile, meeting_request, template: str, subject) -> None:
    address, language = profile_address(profile)
    queue_mail(
        address,
        language,
        f"events/mail/{template}.txt",
        subject,
        kind="request",
        event_id=meeting_request.event_id,
        event=meeting_request.event,
        meeting_request=meeting_request,
        link=external_url("events.requests"),
    )


def request_sent(meeting_request) -> None:
    """Tell the asked profile about a new meeting request."""
    _to_profile(
        meeting_request.to_profile,
        meeting_request,
        "request_sent",
        _l("Meeting request from %(name)s", name=meeting_request.from_profile.name),
    )


def request_answered(meeting_request) -> None:
    """Tell the asking profile whether its meeting request was accepted."""
    _to_profile(
        meeting_request.from_profile,
        meeting_request,
        "request_answered",
        _l("%(name)s answered your meeting request", name=meeting_request.to_profile.name),
    )
