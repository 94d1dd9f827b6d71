"""Wish use cases: availability, meeting requests and "must meet"/"not interested" marks.

Services change models and flush; the caller commits, then sends the queued e-mails.
"""

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _

from matchmaker.core.clock import local_now, utcnow
from matchmaker.directory.models import Profile
from matchmaker.events import notifications
from matchmaker.events.errors import EventError
from matchmaker.events.models import (
    ACCEPTED,
    DECLINED,
    MUST_MEET,
    NOT_INTERESTED,
    PENDING,
    WITHDRAWN,
    Availability,
    Event,
    MeetingRequest,
    ProfileMark,
)
from matchmaker.events.queries import (
    availability_of,
    is_registered,
    mark_of,
    pair_vetoed,
    requests_between,
)
from matchmaker.extensions import db

MAX_MESSAGE = 500


def save_availability(
    event: Event, profile: Profile, unavailable: Iterable[int], desired: int | None
) -> Availability:
    """Store the slots a profile cannot meet in and how many meetings it wants."""
    if not is_registered(event.id, profile.id):
        raise EventError(_("%(name)s is not registered for this event.", name=profile.name))
    slots = sorted({int(s) for s in unavailable})
    if any(not 1 <= s <= event.slot_count for s in slots):
        raise EventError(_("Unknown slot."), "unavailable")
    if desired is not None and not 0 <= desired <= event.max_meetings:
        raise EventError(
            _("Choose between 0 and %(n)d meetings.", n=event.max_meetings), "desired_meetings"
        )
    availability = availability_of(event, profile)
    if availability is None:
        availability = Availability(event_id=event.id, profile_id=profile.id)
        db.session.add(availability)
    availability.unavailable_slots = slots
    availability.desired_meetings = desired
    db.session.flush()
    return availability


def check_pair(event: Event, sender: Profile, target: Profile, now: datetime | None) -> None:
    """Refuse wishes toward oneself, unregistered profiles or events that are over."""
    if sender.id == target.id:
        raise EventError(_("You cannot ask your own profile for a meeting."))
    if (now or local_now()).date() > event.date:
        raise EventError(_("This event is over."))
    for profile in (sender, target):
        if not is_registered(event.id, profile.id):
            raise EventError(_("%(name)s is not registered for this event.", name=profile.name))


def send_meeting_request(
    event: Event, sender: Profile, target: Profile, message: str, *, now: datetime | None = None
) -> MeetingRequest:
    """Ask another registered profile for a meeting at the event."""
    check_pair(event, sender, target, now)
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise EventError(_("The message is too long (at most 500 characters)."), "message")
    if pair_vetoed(event.id, sender.id, target.id):
        raise EventError(_("A meeting with %(name)s is not possible.", name=target.name))
    for existing in requests_between(event.id, sender.id, target.id):
        if existing.status == ACCEPTED:
            raise EventError(
                _("You have already agreed a meeting with %(name)s.", name=target.name)
            )
        if existing.from_profile_id == sender.id:
            raise EventError(
                _("%(name)s has already received a request from you.", name=target.name)
            )
        if existing.status == PENDING:
            raise EventError(
                _("%(name)s has already asked you for a meeting; please answer.", name=target.name)
            )
    meeting_request = MeetingRequest(
        event=event, from_profile=sender, to_profile=target, message=message, status=PENDING
    )
    db.session.add(meeting_request)
    db.session.flush()
    notifications.request_sent(meeting_request)
    return meeting_request


def answer_request(meeting_request: MeetingRequest, accept: bool) -> MeetingRequest:
    """Accept or decline a pending meeting request."""
    if meeting_request.status != PENDING:
        raise EventError(_("This request has already been answered."))
    if accept and pair_vetoed(
        meeting_request.event_id, meeting_request.from_profile_id, meeting_request.to_profile_id
    ):
        raise EventError(
            _("A meeting with %(name)s is not possible.", name=meeting_request.from_profile.name)
        )
    meeting_request.status = ACCEPTED if accept else DECLINED
    meeting_request.answered_at = utcnow()
    db.session.flush()
    notifications.request_answered(meeting_request)
    return meeting_request


def withdraw_request(meeting_request: MeetingRequest) -> MeetingRequest:
    """Withdraw a pending or agreed meeting request."""
    if meeting_request.status not in (PENDING, ACCEPTED):
        raise EventError(_("This request can no longer be withdrawn."))
    meeting_request.status = WITHDRAWN
    meeting_request.answered_at = utcnow()
    db.session.flush()
    return meeting_request


def set_mark(
    event: Event,
    sender: Profile,
    target: Profile,
    kind: str | None,
    *,
    now: datetime | None = None,
) -> ProfileMark | None:
    """Mark a profile "must meet" or "not interested", or clear the mark (kind None)."""
    check_pair(event, sender, target, now)
    if kind not in (None, MUST_MEET, NOT_INTERESTED):
        raise EventError(_("Unknown choice."))
    if kind == NOT_INTERESTED:
        for existing in requests_between(event.id, sender.id, target.id):
            if existing.status in (PENDING, ACCEPTED):
                raise EventError(
                    _(
                        "There is an open or agreed meeting request with %(name)s; "
                        "decline or withdraw it first.",
                        name=target.name,
                    )
                )
    mark = mark_of(event.id, sender.id, target.id)
    if kind is None:
        if mark is not None:
            db.session.delete(mark)
            db.session.flush()
        return None
    if mark is None:
        mark = ProfileMark(event_id=event.id, from_profile_id=sender.id, to_profile_id=target.id)
        db.session.add(mark)
    mark.kind = kind
    db.session.flush()
    return mark
