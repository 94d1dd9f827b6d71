"""Compose the e-mails about registrations and meeting requests, in the recipient's language."""

from flask import render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from matchmaker.directory.models import Profile
from matchmaker.mail.services import queue_message


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
    locale = (owner.locale if owner and owner.locale else None) or (
        profile.language if profile.language in ("de", "en") else "de"
    )
    return address, locale


def _queue(to: str, locale: str, template: str, kind: str, event_id: int, **context) -> None:
    if not to:
        return
    with force_locale(locale):
        subject = context.pop("subject")()
        body = render_template(f"events/mail/{template}.txt", **context)
    queue_message(to, subject, body, kind=kind, event_id=event_id)


def registered(registration, position: int | None) -> None:
    """Confirm a registration (with its waiting-list place) to each attendee."""
    event = registration.event
    link = external_url("events.registration", registration_id=registration.id)
    for attendee in registration.active_attendees:
        _queue(
            attendee.email,
            registration.locale,
            "registered",
            "registered",
            event.id,
            subject=lambda: (
                _("Registered: %(title)s", title=event.title)
                if position is None
                else _("Waiting list: %(title)s", title=event.title)
            ),
            event=event,
            registration=registration,
            attendee=attendee,
            position=position,
            link=link,
        )


def promoted(registration) -> None:
    """Tell each attendee of a promoted registration that they now have a seat."""
    event = registration.event
    link = external_url("events.registration", registration_id=registration.id)
    for attendee in registration.active_attendees:
        _queue(
            attendee.email,
            registration.locale,
            "promoted",
            "promoted",
            event.id,
            subject=lambda: _("You have a seat: %(title)s", title=event.title),
            event=event,
            registration=registration,
            attendee=attendee,
            link=link,
        )


def cancelled(registration, *, by_organiser: bool) -> None:
    """Confirm a cancelled registration to its attendees."""
    for attendee in registration.attendees:
        attendee_cancelled(attendee, by_organiser=by_organiser)


def attendee_cancelled(attendee, *, by_organiser: bool = False) -> None:
    """Confirm to one attendee that their seat was given up."""
    registration = attendee.registration
    event = registration.event
    _queue(
        attendee.email,
        registration.locale,
        "cancelled",
        "cancelled",
        event.id,
        subject=lambda: _("Cancelled: %(title)s", title=event.title),
        event=event,
        attendee=attendee,
        by_organiser=by_organiser,
    )


def request_sent(meeting_request) -> None:
    """Tell the asked profile about a new meeting request."""
    address, locale = profile_address(meeting_request.to_profile)
    event = meeting_request.event
    _queue(
        address,
        locale,
        "request_sent",
        "request",
        event.id,
        subject=lambda: _("Meeting request from %(name)s", name=meeting_request.from_profile.name),
        event=event,
        meeting_request=meeting_request,
        link=external_url("events.requests"),
    )


def request_answered(meeting_request) -> None:
    """Tell the asking profile whether its meeting request was accepted."""
    address, locale = profile_address(meeting_request.from_profile)
    event = meeting_request.event
    _queue(
        address,
        locale,
        "request_answered",
        "request",
        event.id,
        subject=lambda: _(
            "%(name)s answered your meeting request", name=meeting_request.to_profile.name
        ),
        event=event,
        meeting_request=meeting_request,
        link=external_url("events.requests"),
    )
