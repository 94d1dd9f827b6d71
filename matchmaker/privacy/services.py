"""DSGVO use cases: a member's data export, account deletion, and retention of old events.

Deleting an account removes the member's personal data. Profiles that nothing refers to
are deleted; a profile that registrations or schedules still refer to is kept as an
anonymised placeholder ("Gelöschtes Profil", no texts or contact data, hidden from the
directory and from matching), so published schedules stay consistent for everyone else.
Active registrations for events still ahead are cancelled first, which promotes the
waiting list as usual. Files that jobs stored for the member's events (the PDF of all
agendas lists every participant) are deleted; the job page says why, and the organiser
renders them again without the member.
"""

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.directory import services as directory
from matchmaker.directory.exporting import profile_record
from matchmaker.directory.models import Profile
from matchmaker.events import registrations
from matchmaker.events.models import (
    Attendee,
    Availability,
    Event,
    MeetingRequest,
    ProfileMark,
    Registration,
)
from matchmaker.extensions import db
from matchmaker.jobs import services as jobs
from matchmaker.mail.models import OutboxMessage
from matchmaker.matching.models import SuggestionMark
from matchmaker.scheduling.models import MeetingRating, ScheduleMeeting, ScheduleVersion

ANONYMOUS_EMAIL = "anonymised-{id}@invalid"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def owned_profiles(user: User) -> list[Profile]:
    """Return every profile the user owns, placeholders excluded."""
    return list(
        db.session.scalars(
            select(Profile)
            .where(Profile.owner_id == user.id, Profile.deleted_at.is_(None))
            .order_by(Profile.id)
        )
    )


def personal_data(user: User) -> dict:
    """Return everything stored about a member, as one JSON-ready document."""
    profiles = owned_profiles(user)
    ids = [p.id for p in profiles] or [0]
    held = db.session.scalars(
        select(Registration).where(Registration.profile_id.in_(ids)).order_by(Registration.id)
    ).all()
    requests = db.session.scalars(
        select(MeetingRequest)
        .where(or_(MeetingRequest.from_profile_id.in_(ids), MeetingRequest.to_profile_id.in_(ids)))
        .order_by(MeetingRequest.id)
    ).all()
    marks = db.session.scalars(
        select(ProfileMark).where(ProfileMark.from_profile_id.in_(ids)).order_by(ProfileMark.id)
    ).all()
    verdicts = db.session.scalars(
        select(SuggestionMark)
        .where(SuggestionMark.viewer_profile_id.in_(ids))
        .order_by(SuggestionMark.id)
    ).all()
    ratings = db.session.scalars(
        select(MeetingRating)
        .where(MeetingRating.rater_profile_id.in_(ids))
        .order_by(MeetingRating.id)
    ).all()
    availabilities = db.session.scalars(
        select(Availability).where(Availability.profile_id.in_(ids)).order_by(Availability.id)
    ).all()
    meetings = db.session.scalars(
        select(ScheduleMeeting)
        .where(or_(ScheduleMeeting.profile_a_id.in_(ids), ScheduleMeeting.profile_b_id.in_(ids)))
        .order_by(ScheduleMeeting.id)
    ).all()
    addresses = {user.email} | {a.email for r in held for a in r.attendees}
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address.in_(sorted(addresses)))
        .order_by(OutboxMessage.id)
    ).all()
    return {
        "account": {
            "email": user.email,
            "name": user.name,
            "organiser": user.is_organiser,
            "language": user.locale,
            "created_at": _iso(user.created_at),
        },
        "profiles": [
            {
                **profile_record(p),
                "kind": p.kind,
                "contact_visibility": p.contact_visibility,
                "consent_at": _iso(p.consent_at),
                "created_at": _iso(p.created_at),
            }
            for p in profiles
        ],
        "registrations": [
            {
                "event": r.event.title,
                "event_date": _iso(r.event.date),
                "profile": r.profile.name,
                "status": r.status,
                "created_at": _iso(r.created_at),
                "attendees": [
                    {
                        "name": a.name,
                        "email": a.email,
                        "checked_in_at": _iso(a.checked_in_at),
                        "no_show": a.no_show,
                        "cancelled_at": _iso(a.cancelled_at),
                    }
                    for a in r.attendees
                ],
            }
            for r in held
        ],
        "meeting_requests": [
            {
                "event_id": m.event_id,
                "from_profile_id": m.from_profile_id,
                "to_profile_id": m.to_profile_id,
                "message": m.message,
                "status": m.status,
                "created_at": _iso(m.created_at),
            }
            for m in requests
        ],
        "marks": [
            {"event_id": m.event_id, "profile_id": m.to_profile_id, "kind": m.kind} for m in marks
        ],
        "suggestion_verdicts": [
            {
                "profile_id": v.viewer_profile_id,
                "suggested_profile_id": v.suggested_profile_id,
                "verdict": v.verdict,
                "updated_at": _iso(v.updated_at),
            }
            for v in verdicts
        ],
        "meeting_ratings": [
            {
                "event_id": r.event_id,
                "meeting_key": r.meeting_key,
                "profile_id": r.rater_profile_id,
                "partner_profile_id": r.partner_profile_id,
                "stars": r.stars,
                "follow_up": r.follow_up,
                "updated_at": _iso(r.updated_at),
            }
            for r in ratings
        ],
        "availability": [
            {
                "event_id": a.event_id,
                "profile_id": a.profile_id,
                "unavailable_slots": a.unavailable_slots,
                "desired_meetings": a.desired_meetings,
            }
            for a in availabilities
        ],
        "scheduled_meetings": [
            {
                "schedule_version_id": m.version_id,
                "slot": m.slot,
                "table": m.table,
                "a_profile_id": m.profile_a_id,
                "b_profile_id": m.profile_b_id,
            }
            for m in meetings
        ],
        "emails": [
            {
                "to": m.to_address,
                "subject": m.subject,
                "body": m.body,
                "status": m.status,
                "created_at": _iso(m.created_at),
            }
            for m in messages
        ],
    }


def anonymise_attendee(attendee: Attendee) -> None:
    """Replace an attendee's name and e-mail address by placeholders."""
    attendee.name = _("Anonymised")
    attendee.email = ANONYMOUS_EMAIL.format(id=attendee.id)
    attendee.email_key = attendee.email


def delete_account(user: User, today: date | None = None) -> dict[str, int]:
    """Delete a member's account and personal data; keep placeholders schedules need."""
    today = today or date.today()
    counts = {"profiles_deleted": 0, "profiles_anonymised": 0, "registrations_cancelled": 0}
    profiles = owned_profiles(user)
    # Stored files of their events (the PDF of all agendas) show the member's name and meetings.
    counts["files_removed"] = jobs.remove_event_files(events_of(profiles), "privacy")
    for profile in profiles:
        of_profile = db.session.scalars(
            select(Registration).where(Registration.profile_id == profile.id)
        ).all()
        for registration in of_profile:
            if registration.status != "cancelled" and registration.event.date >= today:
                registrations.cancel_registration(registration, by_organiser=True)
                counts["registrations_cancelled"] += 1
            for attendee in registration.attendees:
                anonymise_attendee(attendee)
        db.session.execute(
            delete(ProfileMark).where(
                or_(
                    ProfileMark.from_profile_id == profile.id,
                    ProfileMark.to_profile_id == profile.id,
                )
            )
        )
        db.session.execute(delete(Availability).where(Availability.profile_id == profile.id))
        # feedback given by the profile, and others' feedback about it
        db.session.execute(
            delete(SuggestionMark).where(
                or_(
                    SuggestionMark.viewer_profile_id == profile.id,
                    SuggestionMark.suggested_profile_id == profile.id,
                )
            )
        )
        db.session.execute(
            delete(MeetingRating).where(
                or_(
                    MeetingRating.rater_profile_id == profile.id,
                    MeetingRating.partner_profile_id == profile.id,
                )
            )
        )
        for request in db.session.scalars(
            select(MeetingRequest).where(
                or_(
                    MeetingRequest.from_profile_id == profile.id,
                    MeetingRequest.to_profile_id == profile.id,
                )
            )
        ):
            request.message = ""
        referenced = db.session.scalar(
            select(ScheduleMeeting.id)
            .where(
                or_(
                    ScheduleMeeting.profile_a_id == profile.id,
                    ScheduleMeeting.profile_b_id == profile.id,
                )
            )
            .limit(1)
        ) or db.session.scalar(
            select(Registration.id).where(Registration.profile_id == profile.id).limit(1)
        )
        if referenced:
            anonymise_profile(profile)
            counts["profiles_anonymised"] += 1
        else:
            directory.delete_profile(profile)
            counts["profiles_deleted"] += 1
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.to_address == user.email))
    for placeholder in db.session.scalars(select(Profile).where(Profile.owner_id == user.id)):
        placeholder.owner_id = None
    db.session.delete(user)
    db.session.flush()
    return counts


def events_of(profiles: list[Profile]) -> list[int]:
    """Return the events the profiles are registered for or scheduled at."""
    ids = [p.id for p in profiles]
    if not ids:
        return []
    registered = select(Registration.event_id).where(Registration.profile_id.in_(ids))
    scheduled = (
        select(ScheduleVersion.event_id)
        .join(ScheduleMeeting, ScheduleMeeting.version_id == ScheduleVersion.id)
        .where(or_(ScheduleMeeting.profile_a_id.in_(ids), ScheduleMeeting.profile_b_id.in_(ids)))
    )
    return sorted(set(db.session.scalars(registered.union(scheduled))))


def anonymise_profile(profile: Profile) -> None:
    """Turn a profile into a placeholder without personal data, hidden from the directory."""
    directory.update_profile(
        profile,
        {
            "name": _("Deleted profile"),
            "sector_detail": "",
            "city": "",
            "region": "",
            "employees": None,
            "website": "",
            "contact_name": "",
            "contact_role": "",
            "contact_email": "",
            "contact_phone": "",
            "description": "",
            "tags": [],
            "categories": [],
        },
    )
    profile.solutions.clear()
    profile.external_ref = None
    profile.owner_id = None
    profile.deleted_at = utcnow()
    db.session.flush()


def purge_old_events(older_than_days: int, today: date | None = None) -> dict[str, int]:
    """Remove personal data of events that ended more than ``older_than_days`` ago."""
    cutoff = (today or date.today()) - timedelta(days=older_than_days)
    old_events = db.session.scalars(select(Event).where(Event.date < cutoff)).all()
    counts = {"events": len(old_events), "attendees": 0, "messages": 0, "requests": 0}
    counts["files"] = jobs.remove_event_files([e.id for e in old_events], "retention")
    for event in old_events:
        for attendee in db.session.scalars(select(Attendee).where(Attendee.event_id == event.id)):
            if not attendee.email.endswith("@invalid"):
                anonymise_attendee(attendee)
                counts["attendees"] += 1
        for request in db.session.scalars(
            select(MeetingRequest).where(MeetingRequest.event_id == event.id)
        ):
            if request.message:
                request.message = ""
                counts["requests"] += 1
        counts["messages"] += (
            db.session.execute(delete(OutboxMessage).where(OutboxMessage.event_id == event.id))
        ).rowcount or 0
    db.session.flush()
    return counts
