"""Compose the e-mails about registrations and meeting requests, in the recipient's language.

The language of an e-mail is the one its recipient chose for their account; an attendee without
an account of their own gets the language of the account that registered them; German otherwise.
"""

from flask import url_for
from flask_babel import lazy_gettext as _l

from matchmaker.accounts.services import find_user_by_email
from matchmaker.core.i18n import recipient_language
from matchmaker.directory.models import Profile
from matchmaker.mail.services import queue_mail


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
    account = find_user_by_email(attendee.email)
    if account is not None and account.locale:
        return recipient_language(account)
    return attendee.registration.locale or recipient_language(None)


def _to_attendee(attendee, template: str, subject, kind: str, **context) -> None:
    queue_mail(
        attendee.email,
        attendee_language(attendee),
        f"events/mail/{template}.txt",
        subject,
        kind=kind,
        event_id=attendee.registration.event_id,
        attendee=attendee,
        **context,
    )


def registered(registration, position: int | None) -> None:
    """Confirm a registration (with its waiting-list place) to each attendee."""
    event = registration.event
    subject = (
        _l("Registered: %(title)s", title=event.title)
        if position is None
        else _l("Waiting list: %(title)s", title=event.title)
    )
    link = external_url("events.registration", registration_id=registration.id)
    for attendee in registration.active_attendees:
        _to_attendee(
            attendee,
            "registered",
            subject,
            "registered",
            event=event,
            registration=registration,
            position=position,
            link=link,
        )


def promoted(registration) -> None:
    """Tell each attendee of a promoted registration that they now have a seat."""
    event = registration.event
    subject = _l("You have a seat: %(title)s", title=event.title)
    link = external_url("events.registration", registration_id=registration.id)
    for attendee in registration.active_attendees:
        _to_attendee(
            attendee,
            "promoted",
            subject,
            "promoted",
            event=event,
            registration=registration,
            link=link,
        )


def cancelled(registration, *, by_organiser: bool) -> None:
    """Confirm a cancelled registration to its attendees."""
    for attendee in registration.attendees:
        attendee_cancelled(attendee, by_organiser=by_organiser)


def attendee_cancelled(attendee, *, by_organiser: bool = False) -> None:
    """Confirm to one attendee that their seat was given up."""
    event = attendee.registration.event
    _to_attendee(
        attendee,
        "cancelled",
        _l("Cancelled: %(title)s", title=event.title),
        "cancelled",
        event=event,
        by_organiser=by_organiser,
    )


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
